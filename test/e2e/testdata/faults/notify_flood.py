#!/usr/bin/env python3
"""A runtime for niod's fault tests that floods its notify socket.

Usage: notify_flood.py TRIGGER COUNT

It prints "flood ready", waits until the file TRIGGER exists, sends COUNT
datagrams "WATCHDOG=1" to $NOTIFY_SOCKET (niod's socket for the runtime) as
fast as the socket takes them, prints "flood sent COUNT" and then sleeps
until a signal ends it (SIGTERM's default action).
"""

import os
import socket
import sys
import time


def main(argv):
    trigger, count = argv[1], int(argv[2])
    path = os.environ.get("NOTIFY_SOCKET", "")
    if not path:
        print("flood: no NOTIFY_SOCKET", file=sys.stderr, flush=True)
        return 2
    addr = "\0" + path[1:] if path.startswith("@") else path
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    print("flood ready", flush=True)
    while not os.path.exists(trigger):
        time.sleep(0.02)
    msg = b"WATCHDOG=1"
    for _ in range(count):
        sock.sendto(msg, addr)  # blocks while niod's queue is full: none is lost
    print("flood sent %d" % count, flush=True)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
