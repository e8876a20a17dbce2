#!/usr/bin/env python3
"""A runtime for bench/supervise.py's readiness measurement: it sleeps a
random 50-300 ms (a runtime loading its code), listens on 127.0.0.1:PORT,
writes time.monotonic() taken right after listen() to STAMP, and answers
every request with 200 (GET /nio is the probe). SIGTERM ends it.

usage: ready_runtime.py PORT STAMP [SEED]
"""

import os
import random
import socket
import sys
import time

ANSWER = b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"


def main():
    port, stamp = int(sys.argv[1]), sys.argv[2]
    rng = random.Random(sys.argv[3] if len(sys.argv) > 3 else None)
    time.sleep(rng.uniform(0.05, 0.3))
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(16)
    listening = time.monotonic()
    tmp = stamp + ".tmp"
    with open(tmp, "w") as f:
        f.write(f"{listening:.9f}\n")
    os.rename(tmp, stamp)
    while True:
        c, _ = s.accept()
        with c:
            c.settimeout(2)
            try:
                data = b""
                while b"\r\n\r\n" not in data and b"\n\n" not in data and len(data) < 8192:
                    chunk = c.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                c.sendall(ANSWER)
            except OSError:
                pass


if __name__ == "__main__":
    main()
