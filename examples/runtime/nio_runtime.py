#!/usr/bin/env python3
"""A stand-in for the nio runtime, for niod's demo and tests.

It reads its settings the way the real runtime does (NIO_SETTINGS, read with
configparser.RawConfigParser and case-sensitive keys), serves a tiny REST API
with HTTP Basic auth, speaks the systemd notify protocol, starts worker
processes and reacts to signals. Switches in [runtime_test] make it
misbehave on purpose (exit, crash, hang, ignore SIGTERM, leave orphans).

Standard library only. It never prints a settings value.
"""

import base64
import binascii
import configparser
import hmac
import json
import os
import queue
import re
import signal
import socket
import socketserver
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

EX_CONFIG = 78
TEST = "runtime_test"
REF = re.compile(r"\[\[([^\[\]]*)\]\]")
WORKER_MARK = "nio-worker"
# Workers share the runtime's process group, so signals sent to the group
# (niod forwards USR1, USR2, QUIT and WINCH there) reach them too: like the
# real core's services they ignore those and stop on SIGTERM.
WORKER_CODE = (
    "import signal, time\n"
    "for s in (signal.SIGUSR1, signal.SIGUSR2, signal.SIGWINCH, signal.SIGQUIT, signal.SIGHUP):\n"
    "    signal.signal(s, signal.SIG_IGN)\n"
    "while True:\n"
    "    time.sleep(3600)\n"
)


class ConfigError(Exception):
    """A settings problem: one line, never holding a settings value."""


def say(line):
    """One line on stdout, flushed; a vanished reader is not an error."""
    try:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()
    except (OSError, ValueError):
        pass


def warn(line):
    try:
        sys.stderr.write("nio runtime: " + line + "\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass


# ---------------------------------------------------------------- settings

def read_settings(path):
    parser = configparser.RawConfigParser()
    parser.optionxform = str
    try:
        with open(path, encoding="utf-8") as f:
            parser.read_file(f, source=path)
    except OSError as e:
        raise ConfigError("cannot read settings %s: %s" % (path, e.strerror or e))
    except UnicodeDecodeError:
        raise ConfigError("cannot read settings %s: not UTF-8 text" % path)
    except configparser.ParsingError as e:
        lines = ", ".join(str(n) for n, _ in e.errors)
        raise ConfigError("settings %s: cannot parse line %s" % (path, lines))
    except configparser.Error as e:
        # Only the kind of error: the message may quote a value.
        raise ConfigError("settings %s: %s" % (path, type(e).__name__))
    resolve_references(parser)
    return parser


def resolve_references(parser):
    """Fill leftover [[ NAME ]] from the environment, then [user_defined].

    niod hands over resolved settings; this is what the runtime would do with
    anything left. Undefined names and cycles stay as text."""

    def lookup(name, seen):
        if name in os.environ:
            return os.environ[name]
        if name in seen or not parser.has_option("user_defined", name):
            return None
        return resolve(parser.get("user_defined", name, raw=True), seen | {name})

    def resolve(value, seen=frozenset()):
        def sub(m):
            found = lookup(m.group(1).strip(), seen)
            return m.group(0) if found is None else found
        return REF.sub(sub, value)

    defaults = parser.defaults()
    for key in list(defaults):
        defaults[key] = resolve(defaults[key])
    for section in parser.sections():
        for key in parser.options(section):
            raw = parser.get(section, key, raw=True)
            if raw is None:
                continue
            new = resolve(raw)
            if new != raw:
                parser.set(section, key, new)


def setting(parser, section, key, default=""):
    value = parser.get(section, key, raw=True, fallback=default)
    return default if value is None else value.strip()


def number(parser, key, kind, default):
    text = setting(parser, TEST, key)
    if text == "":
        return default
    try:
        return kind(text)
    except ValueError:
        raise ConfigError("[%s] %s is not a %s" % (TEST, key, kind.__name__))


def boolean(parser, key):
    text = setting(parser, TEST, key).lower()
    if text in ("", "0", "false", "no", "off"):
        return False
    if text in ("1", "true", "yes", "on"):
        return True
    raise ConfigError("[%s] %s is not a boolean" % (TEST, key))


class Options:
    def __init__(self, parser):
        self.exit_code = number(parser, "exit_code", int, None)
        self.crash_after = number(parser, "crash_after", float, None)
        self.crash_code = number(parser, "crash_code", int, 3)
        self.hang_after = number(parser, "hang_after", float, None)
        self.ignore_term = boolean(parser, "ignore_term")
        self.orphans = number(parser, "orphans", int, 0)
        self.workers = number(parser, "workers", int, 2)
        self.watchdog_interval = number(parser, "watchdog_interval", float, 1.0)
        self.ready_delay = number(parser, "ready_delay", float, 0.0)

        self.host = setting(parser, "rest", "host") or "127.0.0.1"
        port = setting(parser, "rest", "port")
        try:
            self.port = int(port) if port else None
        except ValueError:
            raise ConfigError("[rest] port is not a number")
        if self.port is not None and not 0 <= self.port <= 65535:
            raise ConfigError("[rest] port is out of range")
        self.cert = setting(parser, "rest", "ssl_certificate")
        self.key = setting(parser, "rest", "ssl_private_key")
        self.chain = setting(parser, "rest", "ssl_certificate_chain")


# ---------------------------------------------------------------- notify

class Notifier:
    """sd_notify over an AF_UNIX datagram socket; failures are logged once."""

    def __init__(self):
        path = os.environ.get("NOTIFY_SOCKET", "")
        self.addr = None
        self.sock = None
        self.lock = threading.Lock()
        self.warned = False
        if path:
            self.addr = "\0" + path[1:] if path.startswith("@") else path
            try:
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            except OSError as e:
                self._failed(e)

    def _failed(self, err):
        if not self.warned:
            self.warned = True
            warn("notify failed (ignored from now on): %s" % err)

    def send(self, message):
        if self.sock is None:
            return
        with self.lock:
            try:
                self.sock.sendto(message.encode(), self.addr)
            except OSError as e:
                self._failed(e)

    @property
    def enabled(self):
        return self.sock is not None


def watchdog_interval(opts):
    usec = os.environ.get("WATCHDOG_USEC", "").strip()
    if usec:
        try:
            value = int(usec)
        except ValueError:
            value = 0
        if value > 0:
            return value / 2 / 1e6
    return opts.watchdog_interval


# ---------------------------------------------------------------- processes

def make_orphans(n):
    """Fork a child that forks n grandchildren and exits at once. The
    grandchildren sleep a little and exit, long after their parent, so they
    become zombies of the nearest subreaper (or PID 1), which must reap them.
    Called before any thread exists. Returns the grandchildren's pids."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(r)
            pids = []
            for _ in range(n):
                grandchild = os.fork()
                if grandchild == 0:
                    try:
                        os.close(w)
                        time.sleep(0.5)
                    finally:
                        os._exit(0)
                pids.append(grandchild)
            os.write(w, " ".join(str(p) for p in pids).encode())
        finally:
            os._exit(0)
    os.close(w)
    data = b""
    with os.fdopen(r, "rb") as f:
        data = f.read()
    os.waitpid(pid, 0)
    return [int(p) for p in data.split()]


def start_workers(n):
    workers = []
    for _ in range(n):
        workers.append(subprocess.Popen(
            [sys.executable, "-c", WORKER_CODE, WORKER_MARK],
            stdin=subprocess.DEVNULL, close_fds=True))
    return workers


def stop_workers(workers, grace=2.0):
    for w in workers:
        if w.poll() is None:
            try:
                w.send_signal(signal.SIGTERM)
            except OSError:
                pass
    deadline = time.monotonic() + grace
    for w in workers:
        try:
            w.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
    for w in workers:
        if w.poll() is None:
            try:
                w.kill()
            except OSError:
                pass
            w.wait()


# ---------------------------------------------------------------- REST API

class Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address, handler, runtime):
        self.runtime = runtime
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, handler)

    def server_bind(self):
        # HTTPServer.server_bind would look the host up in DNS (getfqdn).
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def service_actions(self):
        # A hung runtime: the accept loop blocks, connections pile up unanswered.
        if self.runtime.hung.is_set():
            self.runtime.forever.wait()

    def handle_error(self, request, client_address):
        err = sys.exc_info()[1]
        warn("request from %s failed: %s" % (client_address[0], type(err).__name__))


class Handler(BaseHTTPRequestHandler):
    server_version = "nio-runtime"

    def version_string(self):
        return self.server_version

    def log_request(self, code="-", size="-"):
        path = self.path.split("?", 1)[0] if hasattr(self, "path") else "-"
        method = getattr(self, "command", None) or "-"
        code = getattr(code, "value", code)
        try:
            sys.stderr.write("%s %s %s %s\n" % (self.client_address[0], method, path[:200], code))
        except (OSError, ValueError):
            pass

    def log_message(self, format, *args):
        text = (format % args).replace("\n", " ").replace("\r", " ")
        warn("http %s: %s" % (self.client_address[0], text[:200]))

    def _json(self, code, body, headers=()):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _authorized(self):
        runtime = self.server.runtime
        header = self.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, sep, password = base64.b64decode(token.strip(), validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return False
        if not sep:
            return False
        expected = runtime.passwords.get(user)
        if expected is None:
            return False
        return hmac.compare_digest(password.encode(), expected.encode())

    def _route(self):
        runtime = self.server.runtime
        if runtime.hung.is_set():
            runtime.forever.wait()
        path = self.path.split("?", 1)[0]
        if self.command != "GET" or path not in ("/nio", "/shutdown", "/settings"):
            self._json(404, {"error": "not found"})
            return
        if not self._authorized():
            self._json(401, {"error": "unauthorized"},
                       [("WWW-Authenticate", 'Basic realm="nio"')])
            return
        if path == "/nio":
            self._json(200, runtime.status())
        elif path == "/settings":
            parser = runtime.parser
            self._json(200, {s: dict(parser.items(s, raw=True)) for s in parser.sections()})
        else:
            self._json(200, {"status": "shutting down"})
            runtime.events.put("shutdown")

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _route


def tls_context(opts):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        if opts.chain:
            # Send the chain after the certificate: load_cert_chain reads one
            # file, so hand it certificate + chain from memory.
            with open(opts.cert, "rb") as f:
                pem = f.read()
            with open(opts.chain, "rb") as f:
                chain = f.read()
            combined = pem.rstrip(b"\n") + b"\n" + chain
            if hasattr(os, "memfd_create"):
                fd = os.memfd_create("nio-cert-chain")
                try:
                    os.write(fd, combined)
                    ctx.load_cert_chain("/proc/self/fd/%d" % fd, opts.key)
                finally:
                    os.close(fd)
            else:
                with tempfile.NamedTemporaryFile() as tmp:
                    tmp.write(combined)
                    tmp.flush()
                    ctx.load_cert_chain(tmp.name, opts.key)
            try:
                ctx.load_verify_locations(opts.chain)
            except (ssl.SSLError, OSError):
                pass
        else:
            ctx.load_cert_chain(opts.cert, opts.key)
    except OSError as e:
        raise ConfigError("TLS files: %s" % (e.strerror or type(e).__name__))
    except ssl.SSLError as e:
        raise ConfigError("TLS certificate or key rejected: %s" % (e.reason or type(e).__name__))
    return ctx


# ---------------------------------------------------------------- runtime

class Runtime:
    def __init__(self, parser, opts):
        self.parser = parser
        self.opts = opts
        self.events = queue.SimpleQueue()
        self.signals = {}
        self.hung = threading.Event()
        self.forever = threading.Event()  # never set
        self.stopping = threading.Event()
        self.workers = []
        self.server = None
        self.tls = tls_context(opts) if (opts.port is not None and opts.cert and opts.key) else None
        self.notifier = Notifier()
        self.watchdog_lock = threading.Lock()
        users = [u.strip() for u in setting(parser, "security", "users").split(",")]
        self.passwords = {}
        for user in users:
            if user and parser.has_option("security", user + "_password"):
                self.passwords[user] = parser.get("security", user + "_password", raw=True) or ""

    def status(self):
        return {
            "status": "ok",
            "instance": setting(self.parser, "instance", "name"),
            "pid": os.getpid(),
            "workers": [w.pid for w in self.workers if w.returncode is None],
            "signals": dict(self.signals),
            "settings_sections": self.parser.sections(),
        }

    # Signal handlers only count and queue (SimpleQueue.put is reentrant);
    # the main loop does the rest.
    def on_signal(self, signum, frame):
        name = signal.Signals(signum).name[3:]
        self.signals[name] = self.signals.get(name, 0) + 1
        self.events.put(name)

    def install_signals(self):
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGUSR1,
                    signal.SIGUSR2, signal.SIGWINCH, signal.SIGQUIT):
            signal.signal(sig, self.on_signal)

    def become_ready(self):
        opts = self.opts
        if opts.port is not None:
            ctx = self.tls
            try:
                self.server = Server((opts.host, opts.port), Handler, self)
            except OSError as e:
                warn("cannot listen on %s:%d: %s" % (opts.host, opts.port, e.strerror or e))
                return False
            scheme = "http"
            if ctx is not None:
                self.server.socket = ctx.wrap_socket(
                    self.server.socket, server_side=True, do_handshake_on_connect=False)
                scheme = "https"
            threading.Thread(target=self.server.serve_forever, name="http", daemon=True).start()
            host, port = self.server.server_address[:2]
            say("listening on %s://%s:%d" % (scheme, host, port))
        say("ready")
        self.notifier.send("READY=1\nSTATUS=nio runtime ready, %d workers" % len(self.workers))
        if self.notifier.enabled:
            interval = watchdog_interval(opts)
            threading.Thread(target=self.watchdog, args=(interval,), name="watchdog", daemon=True).start()
        return True

    def watchdog(self, interval):
        while not self.stopping.wait(interval):
            with self.watchdog_lock:
                if self.hung.is_set():
                    return
                self.notifier.send("WATCHDOG=1")

    def hang(self):
        with self.watchdog_lock:
            self.hung.set()
        say("hang")

    def stop(self):
        self.stopping.set()
        self.notifier.send("STOPPING=1")
        say("stopping")
        if self.server is not None:
            if not self.hung.is_set():
                self.server.shutdown()
            self.server.server_close()
        stop_workers(self.workers)
        say("stopped")

    def run(self):
        opts = self.opts
        start = time.monotonic()
        ready_at = start + max(0.0, opts.ready_delay)
        crash_at = start + opts.crash_after if opts.crash_after is not None else None
        hang_at = start + opts.hang_after if opts.hang_after is not None else None
        ready = False
        while True:
            now = time.monotonic()
            if crash_at is not None and now >= crash_at:
                say("crash exit %d" % opts.crash_code)
                os._exit(opts.crash_code)
            if not ready and now >= ready_at:
                ready = True
                if not self.become_ready():
                    self.stop()
                    return 1
                continue
            if hang_at is not None and not self.hung.is_set() and now >= hang_at:
                self.hang()
            for w in self.workers:
                if w.returncode is None and w.poll() is not None:
                    say("worker %d exited %d" % (w.pid, w.returncode))
            deadlines = [t for t in (crash_at, None if ready else ready_at,
                                     None if self.hung.is_set() else hang_at) if t is not None]
            timeout = min([0.5] + [t - now for t in deadlines])
            try:
                event = self.events.get(timeout=max(0.0, timeout))
            except queue.Empty:
                continue
            if event == "shutdown":
                self.stop()
                return 0
            if event in ("TERM", "INT"):
                if opts.ignore_term:
                    say("signal %s ignored" % event)
                    continue
                say("signal %s" % event)
                self.stop()
                return 0
            say("signal %s" % event)


def main(argv):
    if len(argv) > 1 and argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        return 0
    path = os.environ.get("NIO_SETTINGS", "")
    if not path:
        warn("NIO_SETTINGS is not set")
        return EX_CONFIG
    try:
        parser = read_settings(path)
        opts = Options(parser)
    except ConfigError as e:
        warn(str(e))
        return EX_CONFIG
    root = os.environ.get("NIO_ROOT") or os.getcwd()
    say("nio runtime pid=%d root=%s settings=%s" % (os.getpid(), root, path))
    if opts.exit_code is not None:
        say("exit %d" % opts.exit_code)
        return opts.exit_code

    try:
        runtime = Runtime(parser, opts)
    except ConfigError as e:
        warn(str(e))
        return EX_CONFIG
    runtime.install_signals()
    if opts.orphans > 0:
        # Before any thread is started: fork is only safe then.
        pids = make_orphans(opts.orphans)
        say("orphans %s" % " ".join(str(p) for p in pids))
    runtime.workers = start_workers(max(0, opts.workers))
    say("workers %s" % " ".join(str(w.pid) for w in runtime.workers))
    return runtime.run()


if __name__ == "__main__":
    code = main(sys.argv)
    try:
        sys.stdout.flush()
    except (OSError, ValueError):
        pass
    sys.exit(code)
