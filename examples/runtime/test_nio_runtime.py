"""Tests of the nio runtime stand-in: real processes, loopback only.

Run from the project root:  python3 -m unittest discover -s examples/runtime
"""

import base64
import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import textwrap
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
RUNTIME = os.path.join(HERE, "nio_runtime.py")
WAIT = 20.0  # generous upper bound for anything to happen; never asserted on
SECRET = "pw-7f3c1e-secret"


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proc_state(pid):
    """The /proc state letter of pid, or None when there is no such process."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            stat = f.read()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[0]


def alive(pid):
    state = proc_state(pid)
    return state is not None and state not in ("Z", "X")


def is_worker(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return b"nio-worker" in f.read().split(b"\0")
    except OSError:
        return False


def wait_until(predicate, timeout=WAIT, step=0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    return predicate()


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items()
           if k not in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID")
           and not k.startswith("NIO_")}
    env.update(extra)
    return env


def settings_text(port=None, test=None, extra=""):
    """Settings with an admin user; [rest] port only when port is given."""
    rest = "[rest]\nhost = 127.0.0.1\n" + ("port = %d\n" % port if port is not None else "")
    text = textwrap.dedent("""\
        [user_defined]
        ADMIN_PASSWORD = %s
        INSTANCE = edge-test

        %s
        [instance]
        name = [[ INSTANCE ]]

        [security]
        users = admin, viewer
        admin_password = [[ADMIN_PASSWORD]]
        viewer_password = view-only
        """) % (SECRET, rest)
    if test:
        text += "\n[runtime_test]\n" + "".join("%s = %s\n" % kv for kv in test.items())
    return text + extra


class RuntimeCase(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="nio-rt-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.procs = []
        # Cleanups run last-in first-out: kill processes before removing tmp.
        self.addCleanup(self.kill_everything)

    # -- processes ---------------------------------------------------------

    def start(self, text=None, env=None, cwd=None, settings=None, pass_fds=(), name="rt"):
        if settings is None:
            settings = os.path.join(self.tmp, name + ".conf")
            with open(settings, "w") as f:
                f.write(text)
        out = os.path.join(self.tmp, name + ".out")
        err = os.path.join(self.tmp, name + ".err")
        env = clean_env(NIO_SETTINGS=settings, NIO_ROOT=cwd or self.tmp, **(env or {}))
        with open(out, "wb") as o, open(err, "wb") as e:
            proc = subprocess.Popen([sys.executable, RUNTIME], stdout=o, stderr=e,
                                    stdin=subprocess.DEVNULL, env=env,
                                    cwd=cwd or self.tmp, pass_fds=pass_fds)
        proc.out_path, proc.err_path = out, err
        self.procs.append(proc)
        return proc

    def kill_everything(self):
        for proc in self.procs:
            pids = self.worker_pids(proc) + [proc.pid]
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            for pid in pids:
                if pid != proc.pid and is_worker(pid) and alive(pid):
                    os.kill(pid, signal.SIGKILL)
            for pid in pids:
                if pid != proc.pid and is_worker(pid):
                    wait_until(lambda: not alive(pid), timeout=5)

    @staticmethod
    def output(proc, err=False):
        with open(proc.err_path if err else proc.out_path, encoding="utf-8", errors="replace") as f:
            return f.read()

    def lines(self, proc):
        return self.output(proc).splitlines()

    def wait_line(self, proc, line, prefix=False):
        def found():
            for l in self.lines(proc):
                if l == line or (prefix and l.startswith(line)):
                    return l
            return None
        got = wait_until(found)
        if got is None:
            self.fail("no line %r; stdout=%r stderr=%r" % (line, self.output(proc), self.output(proc, True)))
        return got

    def worker_pids(self, proc):
        for l in self.lines(proc):
            if l.startswith("workers"):
                return [int(p) for p in l.split()[1:]]
        return []

    def wait_exit(self, proc):
        try:
            return proc.wait(timeout=WAIT)
        except subprocess.TimeoutExpired:
            self.fail("runtime did not exit; stdout=%r" % self.output(proc))

    # -- HTTP ----------------------------------------------------------------

    def get(self, port, path, auth=("admin", SECRET), timeout=WAIT, context=None, host="127.0.0.1"):
        if context is None:
            conn = http.client.HTTPConnection(host, port, timeout=timeout)
        else:
            conn = http.client.HTTPSConnection(host, port, timeout=timeout, context=context)
        headers = {}
        if auth is not None:
            token = base64.b64encode(("%s:%s" % auth).encode()).decode()
            headers["Authorization"] = "Basic " + token
        try:
            conn.request("GET", path, headers=headers)
            resp = conn.getresponse()
            body = resp.read()
            return resp.status, resp.headers, json.loads(body)
        finally:
            conn.close()


class TestRest(RuntimeCase):
    def test_nio_requires_basic_auth(self):
        port = free_port()
        proc = self.start(settings_text(port))
        self.wait_line(proc, "ready")

        status, _, body = self.get(port, "/nio")
        self.assertEqual(status, 200)
        self.assertEqual(body["status"], "ok")
        self.assertEqual(body["instance"], "edge-test")
        self.assertEqual(body["pid"], proc.pid)
        self.assertEqual(sorted(body["workers"]), sorted(self.worker_pids(proc)))
        self.assertEqual(len(body["workers"]), 2)
        self.assertEqual(body["signals"], {})
        self.assertEqual(body["settings_sections"], ["user_defined", "rest", "instance", "security"])

        status, _, _ = self.get(port, "/nio", auth=("viewer", "view-only"))
        self.assertEqual(status, 200)
        for auth in (None, ("admin", "wrong"), ("nobody", SECRET), ("admin", "")):
            with self.subTest(auth=auth):
                status, headers, body = self.get(port, "/nio", auth=auth)
                self.assertEqual(status, 401)
                self.assertEqual(body, {"error": "unauthorized"})
                self.assertEqual(headers["WWW-Authenticate"], 'Basic realm="nio"')
        status, _, body = self.get(port, "/shutdown", auth=None)
        self.assertEqual(status, 401)
        status, _, body = self.get(port, "/nope")
        self.assertEqual(status, 404)
        self.assertIsNone(proc.poll())

    def test_settings_from_memfd_with_leftover_references(self):
        port = free_port()
        text = settings_text(port, extra=textwrap.dedent("""\
            [DEFAULT]
            shared = [[ NIO_TEST_FROM_ENV ]]

            [pubkeeper_client]
            token = [[ PK_TOKEN ]]
            host = [[INSTANCE]].example.invalid
            left = [[ UNDEFINED_NAME ]]
            """))
        text = text.replace("INSTANCE = edge-test", "INSTANCE = edge-test\nPK_TOKEN = tok-[[ INSTANCE ]]")
        fd = os.memfd_create("nio-settings", 0)  # inheritable, like niod's
        self.addCleanup(os.close, fd)
        os.write(fd, text.encode())
        path = "/proc/self/fd/%d" % fd
        proc = self.start(settings=path, pass_fds=(fd,),
                          env={"NIO_TEST_FROM_ENV": "from-env", "INSTANCE": "env-wins"})
        self.assertIn("settings=%s" % path, self.wait_line(proc, "nio runtime pid=", prefix=True))
        self.wait_line(proc, "ready")

        status, _, body = self.get(port, "/settings")
        self.assertEqual(status, 200)
        self.assertEqual(body["security"]["admin_password"], SECRET)
        self.assertEqual(body["instance"], {"name": "env-wins", "shared": "from-env"})
        self.assertEqual(body["pubkeeper_client"], {
            "token": "tok-env-wins", "host": "env-wins.example.invalid",
            "left": "[[ UNDEFINED_NAME ]]", "shared": "from-env"})
        self.assertNotIn("DEFAULT", body)
        self.get(port, "/shutdown")
        self.assertEqual(self.wait_exit(proc), 0)
        everything = self.output(proc) + self.output(proc, err=True)
        self.assertNotIn(SECRET, everything)
        self.assertNotIn("view-only", everything)

    def test_shutdown_stops_workers_and_exits_0(self):
        port = free_port()
        proc = self.start(settings_text(port, {"workers": 3}))
        self.wait_line(proc, "ready")
        workers = self.worker_pids(proc)
        self.assertEqual(len(workers), 3)
        self.assertTrue(all(alive(p) for p in workers))

        status, _, body = self.get(port, "/shutdown")
        self.assertEqual((status, body), (200, {"status": "shutting down"}))
        self.assertEqual(self.wait_exit(proc), 0)
        self.assertEqual([p for p in workers if alive(p) and is_worker(p)], [])
        self.assertIn("stopped", self.lines(proc))

    def test_no_port_means_no_http(self):
        proc = self.start(settings_text(None, {"workers": 0}))
        self.wait_line(proc, "ready")
        self.assertFalse(any(l.startswith("listening") for l in self.lines(proc)))
        self.assertEqual(self.worker_pids(proc), [])
        proc.send_signal(signal.SIGINT)
        self.assertEqual(self.wait_exit(proc), 0)


class TestSignals(RuntimeCase):
    def test_signals_are_counted(self):
        port = free_port()
        proc = self.start(settings_text(port))
        self.wait_line(proc, "ready")
        for sig, name in ((signal.SIGUSR1, "USR1"), (signal.SIGHUP, "HUP"),
                          (signal.SIGUSR1, "USR1"), (signal.SIGWINCH, "WINCH")):
            before = self.lines(proc).count("signal " + name)
            proc.send_signal(sig)
            wait_until(lambda: self.lines(proc).count("signal " + name) > before)
        _, _, body = self.get(port, "/nio")
        self.assertEqual(body["signals"], {"USR1": 2, "HUP": 1, "WINCH": 1})
        self.assertIsNone(proc.poll())

    def test_sigterm_stops_gracefully(self):
        proc = self.start(settings_text(free_port()))
        self.wait_line(proc, "ready")
        workers = self.worker_pids(proc)
        proc.terminate()
        self.assertEqual(self.wait_exit(proc), 0)
        self.assertIn("signal TERM", self.lines(proc))
        self.assertEqual([p for p in workers if alive(p) and is_worker(p)], [])

    def test_ignore_term(self):
        port = free_port()
        proc = self.start(settings_text(port, {"ignore_term": "true"}))
        self.wait_line(proc, "ready")
        workers = self.worker_pids(proc)
        proc.terminate()
        self.wait_line(proc, "signal TERM ignored")
        status, _, body = self.get(port, "/nio")
        self.assertEqual(status, 200)
        self.assertEqual(body["signals"], {"TERM": 1})
        self.assertIsNone(proc.poll())
        self.assertTrue(all(alive(p) for p in workers))
        # kill_everything SIGKILLs it and its workers.


class TestNotify(RuntimeCase):
    def notify_socket(self, abstract=False):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.addCleanup(sock.close)
        if abstract:
            name = "nio-rt-test-%d-%d" % (os.getpid(), time.monotonic_ns())
            sock.bind("\0" + name)
            address = "@" + name
        else:
            address = os.path.join(self.tmp, "notify.sock")
            sock.bind(address)
        sock.settimeout(WAIT)
        return sock, address

    def receive_until_watchdog(self, sock):
        messages = []
        while not any("WATCHDOG=1" in m.split("\n") for m in messages):
            messages.append(sock.recv(4096).decode())
        return messages

    def test_ready_then_watchdog(self):
        sock, address = self.notify_socket()
        proc = self.start(settings_text(None, {"watchdog_interval": 0.1}),
                          env={"NOTIFY_SOCKET": address})
        messages = self.receive_until_watchdog(sock)
        first = messages[0].split("\n")
        self.assertIn("READY=1", first)
        self.assertTrue(any(l.startswith("STATUS=") for l in first))
        self.assertEqual(sum("READY=1" in m.split("\n") for m in messages), 1)
        self.assertIn("ready", self.lines(proc))

    def test_abstract_socket_and_watchdog_usec(self):
        sock, address = self.notify_socket(abstract=True)
        port = free_port()
        proc = self.start(settings_text(port, {"watchdog_interval": 3600, "ready_delay": 0.2}),
                          env={"NOTIFY_SOCKET": address, "WATCHDOG_USEC": "200000"})
        first = sock.recv(4096).decode().split("\n")
        self.assertIn("READY=1", first)
        # READY=1 comes once the server listens: this request must work now.
        status, _, _ = self.get(port, "/nio")
        self.assertEqual(status, 200)
        # WATCHDOG_USEC (0.1 s) wins over watchdog_interval (an hour).
        self.assertIn("WATCHDOG=1", self.receive_until_watchdog(sock)[-1].split("\n"))
        proc.terminate()
        self.assertEqual(self.wait_exit(proc), 0)


class TestSwitches(RuntimeCase):
    def test_exit_code(self):
        proc = self.start(settings_text(free_port(), {"exit_code": 7}))
        self.assertEqual(self.wait_exit(proc), 7)
        self.assertEqual(self.worker_pids(proc), [])
        self.assertNotIn("ready", self.lines(proc))

    def test_crash_after_leaves_workers(self):
        proc = self.start(settings_text(free_port(), {"crash_after": 0.3, "crash_code": 5}))
        self.assertEqual(self.wait_exit(proc), 5)
        workers = self.worker_pids(proc)
        self.assertEqual(len(workers), 2)
        self.assertTrue(all(alive(p) and is_worker(p) for p in workers))
        # kill_everything removes the orphaned workers.

    def test_crash_default_code(self):
        proc = self.start(settings_text(None, {"crash_after": 0, "workers": 0}))
        self.assertEqual(self.wait_exit(proc), 3)

    def test_hang_after(self):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.addCleanup(sock.close)
        address = os.path.join(self.tmp, "notify.sock")
        sock.bind(address)
        port = free_port()
        proc = self.start(settings_text(port, {"hang_after": 0.5, "watchdog_interval": 0.05}),
                          env={"NOTIFY_SOCKET": address})
        self.wait_line(proc, "hang")
        with self.assertRaises(TimeoutError):
            self.get(port, "/nio", timeout=1.0)
        # No WATCHDOG=1 after the hang: drain, then wait many intervals.
        sock.setblocking(False)
        while True:
            try:
                sock.recv(4096)
            except BlockingIOError:
                break
        sock.settimeout(0.5)
        with self.assertRaises(TimeoutError):
            sock.recv(4096)
        self.assertIsNone(proc.poll())

    def test_orphans_are_reparented(self):
        """The runtime under a subreaper: the orphans' zombies land there."""
        n = 3
        helper = textwrap.dedent("""\
            import ctypes, json, os, subprocess, sys, time
            runtime, out, err, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
            subreaper = ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0) == 0
            with open(out, "wb") as o, open(err, "wb") as e:
                p = subprocess.Popen([sys.executable, runtime], stdout=o, stderr=e,
                                     stdin=subprocess.DEVNULL)
            reaped, rc = [], None
            deadline = time.monotonic() + 20
            while subreaper and len(reaped) < n and time.monotonic() < deadline:
                pid, status = os.waitpid(-1, os.WNOHANG)
                if pid == 0:
                    time.sleep(0.02)
                elif pid == p.pid:
                    p.returncode = rc = os.waitstatus_to_exitcode(status)
                    break
                else:
                    reaped.append(pid)
            if p.poll() is None:
                p.terminate()
                rc = p.wait(20)
            print(json.dumps({"subreaper": subreaper, "reaped": reaped, "rc": rc}))
            """)
        settings = os.path.join(self.tmp, "rt.conf")
        with open(settings, "w") as f:
            f.write(settings_text(None, {"orphans": n, "workers": 1}))
        out, err = os.path.join(self.tmp, "rt.out"), os.path.join(self.tmp, "rt.err")
        proc = subprocess.Popen([sys.executable, "-c", helper, RUNTIME, out, err, str(n)],
                                stdout=subprocess.PIPE, env=clean_env(NIO_SETTINGS=settings),
                                cwd=self.tmp)
        proc.out_path, proc.err_path = out, err
        self.procs.append(proc)  # kills the helper; the runtime's workers by pid
        self.addCleanup(self.kill_runtime_from_output, out)
        try:
            stdout, _ = proc.communicate(timeout=WAIT + 20)
        except subprocess.TimeoutExpired:
            self.fail("subreaper helper did not finish")
        result = json.loads(stdout)
        orphans = [int(p) for p in self.wait_line(proc, "orphans ", prefix=True).split()[1:]]
        self.assertEqual(len(orphans), n)
        self.assertEqual(result["rc"], 0)
        if not result["subreaper"]:
            self.skipTest("PR_SET_CHILD_SUBREAPER not available; orphans were started")
        self.assertEqual(sorted(result["reaped"]), sorted(orphans))

    def kill_runtime_from_output(self, out):
        try:
            with open(out) as f:
                first = f.readline()
        except OSError:
            return
        if first.startswith("nio runtime pid="):
            pid = int(first.split()[2].split("=")[1])
            if alive(pid):
                with open("/proc/%d/cmdline" % pid, "rb") as f:
                    if b"nio_runtime.py" in f.read():
                        os.kill(pid, signal.SIGKILL)


class TestTLS(RuntimeCase):
    def setUp(self):
        super().setUp()
        if shutil.which("openssl") is None:
            self.skipTest("openssl not installed")

    def openssl(self, *args):
        subprocess.run(["openssl", *args], cwd=self.tmp, check=True, timeout=WAIT,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def tls_settings(self, port, chain=""):
        return settings_text(port, {"workers": 1}).replace(
            "port = %d\n" % port,
            "port = %d\nssl_certificate = cert.pem\nssl_private_key = key.pem\n"
            "ssl_certificate_chain = %s\n" % (port, chain))

    def test_https_with_self_signed_certificate(self):
        self.openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                     "-nodes", "-subj", "/CN=localhost",
                     "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-days", "2",
                     "-keyout", "key.pem", "-out", "cert.pem")
        port = free_port()
        proc = self.start(self.tls_settings(port))  # relative paths: cwd is self.tmp
        self.assertEqual(self.wait_line(proc, "listening on", prefix=True),
                         "listening on https://127.0.0.1:%d" % port)
        self.wait_line(proc, "ready")
        ctx = ssl.create_default_context(cafile=os.path.join(self.tmp, "cert.pem"))
        status, _, body = self.get(port, "/nio", context=ctx)
        self.assertEqual((status, body["status"]), (200, "ok"))
        status, _, _ = self.get(port, "/nio", context=ctx, host="localhost", auth=None)
        self.assertEqual(status, 401)
        with self.assertRaises(ssl.SSLCertVerificationError):
            self.get(port, "/nio", context=ssl.create_default_context())

    def test_https_sends_the_chain(self):
        with open(os.path.join(self.tmp, "ext.cnf"), "w") as f:
            f.write(textwrap.dedent("""\
                [ca]
                basicConstraints = critical, CA:TRUE
                keyUsage = critical, keyCertSign, cRLSign
                subjectKeyIdentifier = hash
                authorityKeyIdentifier = keyid:always
                [leaf]
                basicConstraints = critical, CA:FALSE
                keyUsage = critical, digitalSignature
                extendedKeyUsage = serverAuth
                subjectAltName = DNS:localhost, IP:127.0.0.1
                subjectKeyIdentifier = hash
                authorityKeyIdentifier = keyid:always
                """))
        ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        self.openssl("req", "-x509", *ec, "-subj", "/CN=test root", "-days", "2",
                     "-keyout", "root.key", "-out", "root.pem",
                     "-config", "ext.cnf", "-extensions", "ca")
        self.openssl("req", "-new", *ec, "-subj", "/CN=test intermediate",
                     "-keyout", "inter.key", "-out", "inter.csr", "-config", "ext.cnf")
        self.openssl("x509", "-req", "-in", "inter.csr", "-CA", "root.pem", "-CAkey", "root.key",
                     "-set_serial", "2", "-days", "2", "-extfile", "ext.cnf", "-extensions", "ca",
                     "-out", "inter.pem")
        self.openssl("req", "-new", *ec, "-subj", "/CN=localhost",
                     "-keyout", "key.pem", "-out", "leaf.csr", "-config", "ext.cnf")
        self.openssl("x509", "-req", "-in", "leaf.csr", "-CA", "inter.pem", "-CAkey", "inter.key",
                     "-set_serial", "3", "-days", "2", "-extfile", "ext.cnf", "-extensions", "leaf",
                     "-out", "cert.pem")
        port = free_port()
        proc = self.start(self.tls_settings(port, chain="inter.pem"))
        self.wait_line(proc, "ready")
        # The client trusts only the root: it works only if the server sends
        # the intermediate.
        ctx = ssl.create_default_context(cafile=os.path.join(self.tmp, "root.pem"))
        status, _, _ = self.get(port, "/nio", context=ctx)
        self.assertEqual(status, 200)


class TestBadSettings(RuntimeCase):
    def run_runtime(self, env):
        return subprocess.run([RUNTIME], env=env, cwd=self.tmp, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=WAIT)

    def test_missing_settings_exit_78(self):
        for env in (clean_env(), clean_env(NIO_SETTINGS=os.path.join(self.tmp, "absent.conf")),
                    clean_env(NIO_SETTINGS=self.tmp)):
            with self.subTest(settings=env.get("NIO_SETTINGS")):
                result = self.run_runtime(env)
                self.assertEqual(result.returncode, 78)
                self.assertEqual(len(result.stderr.splitlines()), 1)
                self.assertEqual(result.stdout, "")

    def test_unparsable_settings_exit_78_without_values(self):
        bad = os.path.join(self.tmp, "bad.conf")
        for text in ("[security]\nadmin_password = %s\nthis line is %s\n" % (SECRET, SECRET),
                     "[security]\nadmin_password = %s\nadmin_password = %s\n" % (SECRET, SECRET),
                     "[rest]\nport = not-%s\n" % SECRET):
            with open(bad, "w") as f:
                f.write(text)
            with self.subTest(text=text):
                result = self.run_runtime(clean_env(NIO_SETTINGS=bad))
                self.assertEqual(result.returncode, 78)
                self.assertEqual(len(result.stderr.splitlines()), 1)
                self.assertNotIn(SECRET, result.stderr + result.stdout)


if __name__ == "__main__":
    unittest.main()
