#!/usr/bin/env python3
"""Side-by-side benchmark of niod as a process supervisor.

Measures, in one run, niod against peers that do the same job:

1. launch overhead: `niod -- /bin/true` vs `tini -s -- /bin/true` vs
   `dumb-init /bin/true` (and bare /bin/true), with hyperfine -N, in a few
   rounds so that load elsewhere does not land on one command only;
2. resident memory of the supervisor while it supervises `sleep 1000`
   (niod, tini, dumb-init, supervisord, runsv), VmRSS, Pss and RssAnon,
   median of 3;
3. crash-to-first-restart latency with bench/crashloop (niod, supervisord,
   runsv), from the stamps crashloop writes, median;
4. SIGTERM-to-exit latency while supervising `sleep 1000` (niod, tini,
   dumb-init), median of 20;
5. the control socket: launch with it ÷ launch with --control-socket none
   (in the same hyperfine rounds as 1), and the `niod status` round trip
   against a niod supervising `sleep 1000`, median.

It prints every command line it runs and a markdown table of the absolute
figures and niod's ratios, and writes the table to --markdown PATH.

usage: bench/supervise.py --niod bin/niod --crashloop PATH [--markdown OUT]
bench/supervise.sh installs the peers, builds niod and crashloop and runs
this script. Only the Python standard library is used.
"""

import argparse
import ctypes
import json
import os
import select
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

# --------------------------------------------------------------------------
# Process bookkeeping: everything started is tracked and killed on the way
# out, whatever happens.

PR_SET_CHILD_SUBREAPER = 36


class BenchError(Exception):
    pass


def log(msg=""):
    print(msg, flush=True)


def become_subreaper():
    """Orphans of the supervisors under test become our children, so that
    nothing started here can escape the final cleanup."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl")
        return True
    except (OSError, AttributeError) as e:
        log(f"note: cannot become child subreaper ({e}); cleanup relies on process trees only")
        return False


def children(pid):
    """The children of every thread of pid (needs CONFIG_PROC_CHILDREN)."""
    out = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for t in tasks:
        try:
            with open(f"/proc/{pid}/task/{t}/children") as f:
                out.extend(int(x) for x in f.read().split())
        except (OSError, ValueError):
            pass
    if not out and not os.path.exists(f"/proc/{pid}/task/{pid}/children"):
        # No children files: scan /proc for processes whose parent is pid.
        for name in os.listdir("/proc"):
            if name.isdigit():
                st = stat(int(name))
                if st and st[1] == pid:
                    out.append(int(name))
    return out


def descendants(pid):
    out, queue, seen = [], children(pid), set()
    while queue:
        p = queue.pop(0)
        if p in seen:
            continue
        seen.add(p)
        out.append(p)
        queue.extend(children(p))
    return out


def stat(pid):
    """(state, ppid) of pid, or None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            s = f.read()
    except OSError:
        return None
    rest = s[s.rfind(")") + 2:].split()
    return rest[0], int(rest[1])


def comm(pid):
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return None


class Procs:
    """Every process started by the benchmark, for the cleanup."""

    def __init__(self):
        self.live = {}  # pid -> Popen

    def start(self, argv, *, cwd=None, env=None, out=None, show=True, times=1):
        if show:
            log_cmd(argv, times)
        fh = open(out, "ab") if out else subprocess.DEVNULL
        try:
            p = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                                 stdout=fh, stderr=fh, start_new_session=True)
        finally:
            if out:
                fh.close()
        self.live[p.pid] = p
        return p

    def forget(self, p):
        self.live.pop(p.pid, None)

    def kill_tree(self, p):
        """SIGKILL p and all it started, and reap p."""
        if p.poll() is None:
            tree = descendants(p.pid)
            for pid in [p.pid] + tree:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                log(f"warning: pid {p.pid} did not die after SIGKILL")
        self.forget(p)
        reap_orphans(self)

    def cleanup(self):
        for p in list(self.live.values()):
            self.kill_tree(p)
        reap_orphans(self)


def reap_orphans(procs, rounds=20):
    """Kill and reap processes that were re-parented to us (we are the child
    subreaper), leaving the Popen-managed ones to their owners."""
    for _ in range(rounds):
        stray = [c for c in children(os.getpid()) if c not in procs.live]
        # Zombies of Popen objects we already reaped cannot show up here;
        # everything else is an orphan of a supervisor under test.
        stray = [c for c in stray if stat(c) is not None]
        if not stray:
            return
        for pid in stray:
            for q in descendants(pid):
                try:
                    os.kill(q, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for pid in stray:
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass
        time.sleep(0.01)


def wait_exit(p, timeout):
    """Wait for p to end, precisely (pidfd, not Popen.wait's polling loop);
    returns its exit status or raises subprocess.TimeoutExpired."""
    if hasattr(os, "pidfd_open"):
        try:
            fd = os.pidfd_open(p.pid)
        except ProcessLookupError:
            return p.wait(timeout=timeout)
        try:
            po = select.poll()
            po.register(fd, select.POLLIN)
            if not po.poll(timeout * 1000):
                raise subprocess.TimeoutExpired(p.args, timeout)
        finally:
            os.close(fd)
        return p.wait(timeout=timeout)
    deadline = time.monotonic() + timeout
    while p.poll() is None:
        if time.monotonic() > deadline:
            raise subprocess.TimeoutExpired(p.args, timeout)
        time.sleep(0.0002)
    return p.returncode


def wait_for(pred, timeout, what, interval=0.002, proc=None):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if proc is not None and proc.poll() is not None:
            raise BenchError(f"{what}: the supervisor ended first with status {proc.returncode}")
        if time.monotonic() > deadline:
            raise BenchError(f"{what}: not within {timeout:g}s")
        time.sleep(interval)


def running_child(pid, name):
    """pid of a running descendant of pid whose command is name."""
    for d in descendants(pid):
        st = stat(d)
        if st and st[0] not in "ZX" and comm(d) == name:
            return d
    return None


def stop(procs, p, timeout):
    """SIGTERM p and wait; SIGKILL its tree when it takes too long."""
    if p.poll() is None:
        try:
            os.kill(p.pid, signal.SIGTERM)
            wait_exit(p, timeout)
        except subprocess.TimeoutExpired:
            log(f"warning: {p.args[0]} (pid {p.pid}) did not stop within {timeout:g}s of SIGTERM; killing it")
    procs.kill_tree(p)


# --------------------------------------------------------------------------
# Output helpers

def log_cmd(argv, times=1):
    line = "$ " + shlex.join(str(a) for a in argv)
    if times > 1:
        line += f"    # x{times}"
    log(line)


def median(xs):
    return statistics.median(xs) if xs else None


def fmt(v, digits=2):
    if v is None:
        return "—"
    if abs(v) >= 100:
        return f"{v:.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    return f"{v:.{digits}f}"


def tool(name):
    return shutil.which(name)


# --------------------------------------------------------------------------
# The measurements


class Bench:
    def __init__(self, args, work, procs):
        self.a = args
        self.work = work
        self.procs = procs
        self.notes = []
        self.failed = False
        self.results = {}  # measure -> {peer: value}
        self.samples = {}  # measure -> {peer: [values]}
        self.niod = os.path.abspath(args.niod)
        self.root = os.path.join(work, "niod-root")
        os.makedirs(self.root)
        with open(os.path.join(self.root, "nio.conf"), "w") as f:
            f.write("[niod]\nrestart = never\n")
        self.sleep = tool("sleep") or "/bin/sleep"
        self.true = tool("true") or "/bin/true"
        self.have = {n: tool(n) for n in ("hyperfine", "tini", "dumb-init", "supervisord", "runsv")}
        for n, path in self.have.items():
            if not path:
                self.note(f"{n} not found: its figures are skipped")

    def versions(self):
        """One line per tool: its path and version."""
        def version(argv):
            try:
                r = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=10)
                text = (r.stdout or r.stderr).decode(errors="replace").strip().splitlines()
                return text[0] if text else "?"
            except (OSError, subprocess.TimeoutExpired):
                return "?"
        log(f"niod: {self.niod} ({version([self.niod, 'version'])})")
        flags = {"hyperfine": "--version", "tini": "--version", "dumb-init": "--version",
                 "supervisord": "--version"}
        for n, path in self.have.items():
            if not path:
                continue
            if n in flags:
                v = version([path, flags[n]])
            else:  # runsv has no --version: ask the package manager
                v = version(["dpkg-query", "-W", "-f", "runit ${Version}", "runit"])
            log(f"{n}: {path} ({v})")

    def note(self, text):
        self.notes.append(text)
        log("note: " + text)

    def niod_cmd(self, restart, *cmd):
        # niod refuses to run the runtime as root without a user to drop to.
        root = ["--allow-root"] if os.geteuid() == 0 else []
        return [self.niod, "-r", self.root, "--log-format", "json", "--log-level", "error",
                "--restart", restart, "--stop-timeout", "8s", *root, "--", *cmd]

    def out(self, name):
        return os.path.join(self.work, name + ".out")

    def record(self, measure, peer, samples, value=None):
        self.samples.setdefault(measure, {})[peer] = samples
        self.results.setdefault(measure, {})[peer] = median(samples) if value is None else value

    # -- sanity -------------------------------------------------------------

    def sanity(self):
        """niod must run the command and return its exit code."""
        cmd = self.niod_cmd("never", "/bin/sh", "-c", "exit 7")
        log_cmd(cmd)
        r = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
        if r.returncode != 7:
            raise BenchError(f"niod sanity check: expected exit code 7 from the runtime, got {r.returncode}; "
                             f"stderr: {r.stderr.decode(errors='replace').strip()}")

    # -- 1. launch overhead ---------------------------------------------------

    def launch(self):
        rounds = max(1, self.a.launch_rounds)
        log(f"\n## 1. launch overhead (hyperfine -N, {rounds} rounds)")
        if not self.have["hyperfine"]:
            self.note("launch overhead skipped: hyperfine is missing")
            return
        cmds = [("niod", self.niod_cmd("never", self.true)),
                # The same without its control socket: what opening it costs.
                ("niod-nocontrol", self.niod_cmd("never", self.true)[:-2] + ["--control-socket", "none", "--", self.true])]
        if self.have["tini"]:
            cmds.append(("tini", [self.have["tini"], "-s", "--", self.true]))
        if self.have["dumb-init"]:
            cmds.append(("dumb-init", [self.have["dumb-init"], self.true]))
        cmds.append(("bare", [self.true]))
        # hyperfine runs one command after the other: a few rounds, each of
        # every command, keep a burst of load elsewhere from landing on one
        # command only. Samples are pooled; the ratio is the median of the
        # rounds' ratios.
        times = {name: [] for name, _ in cmds}
        self.launch_round_ratios = []
        for r in range(rounds):
            js = os.path.join(self.work, f"launch-{r}.json")
            out = self.out(f"hyperfine-{r}")
            argv = [self.have["hyperfine"], "-N", "--warmup", "5", "--style", "basic", "--export-json", js]
            if self.a.launch_runs:
                argv += ["--runs", str(self.a.launch_runs)]
            for name, c in cmds:
                argv += ["-n", name, shlex.join(c)]
            p = self.procs.start(argv, out=out, show=r == 0, times=rounds)
            try:
                wait_exit(p, self.a.hyperfine_timeout)
            except subprocess.TimeoutExpired:
                self.procs.kill_tree(p)
                raise BenchError(f"hyperfine did not finish within {self.a.hyperfine_timeout:g}s")
            self.procs.forget(p)
            with open(out, errors="replace") as f:
                text = f.read()
            if p.returncode != 0:
                sys.stdout.write(text)
                raise BenchError(f"hyperfine failed with status {p.returncode} (see above)")
            with open(js) as f:
                res = {x["command"]: x for x in json.load(f)["results"]}
            line = []
            for name, _ in cmds:
                times[name] += [t * 1e3 for t in res[name]["times"]]
                line.append(f"{name} {res[name]['mean'] * 1e3:.2f}±{(res[name].get('stddev') or 0) * 1e3:.2f}")
            ratio = ""
            rc = res["niod"]["mean"] / res["niod-nocontrol"]["mean"]
            self.control_round_ratios = getattr(self, "control_round_ratios", []) + [rc]
            if "tini" in res:
                rr = res["niod"]["mean"] / res["tini"]["mean"]
                self.launch_round_ratios.append(rr)
                ratio = f"   niod/tini {rr:.2f}"
            log(f"round {r + 1}: mean ms " + ", ".join(line) + ratio)
        for name, _ in cmds:
            t = times[name]
            self.record("launch", name, t, statistics.fmean(t))
            self.results.setdefault("launch_median", {})[name] = median(t)

    # -- niod status round trip ------------------------------------------------

    def control(self):
        """niod status against a niod supervising sleep: the whole round trip
        a client sees (its start, finding the socket, the answer)."""
        log("\n## niod status round trip (hyperfine -N)")
        if not self.have["hyperfine"]:
            self.note("status round trip skipped: hyperfine is missing")
            return
        argv, _ = self.sleeper("niod", None)
        p = self.procs.start(argv, out=self.out("control-niod"))
        try:
            status = [self.niod, "status", "-r", self.root]
            wait_for(lambda: subprocess.run(status, capture_output=True).returncode == 0, self.a.timeout,
                     "niod's control socket", proc=p)
            js = os.path.join(self.work, "control.json")
            runs = ["--runs", str(self.a.launch_runs)] if self.a.launch_runs else []
            h = self.procs.start([self.have["hyperfine"], "-N", "--warmup", "5", "--style", "basic", *runs,
                                  "--export-json", js, "-n", "niod status", shlex.join(status)], out=self.out("control"))
            wait_exit(h, self.a.hyperfine_timeout)
            self.procs.forget(h)
            with open(js) as f:
                t = [x * 1e3 for x in json.load(f)["results"][0]["times"]]
            self.record("status", "niod", t)
            log(f"niod status: median {median(t):.2f} ms over {len(t)} runs")
        finally:
            stop(self.procs, p, self.a.timeout)

    # -- supervised `sleep 1000` ---------------------------------------------

    def sleeper(self, peer, d):
        """argv, cwd for peer supervising sleep 1000 with its files in d."""
        if peer == "niod":
            return self.niod_cmd("on-failure", self.sleep, "1000"), None
        if peer == "tini":
            return [self.have["tini"], "-s", "--", self.sleep, "1000"], None
        if peer == "dumb-init":
            return [self.have["dumb-init"], self.sleep, "1000"], None
        if peer == "supervisord":
            conf = self.supervisord_conf(d, "sleep", [self.sleep, "1000"],
                                         autorestart="false", startsecs="0", startretries="0")
            return [self.have["supervisord"], "-n", "-c", conf], d
        if peer == "runsv":
            return [self.have["runsv"], self.runsv_dir(d, [self.sleep, "1000"])], d
        raise ValueError(peer)

    def supervisord_conf(self, d, name, command, **program):
        def esc(s):
            return str(s).replace("%", "%%")
        lines = [
            "[unix_http_server]", f"file={esc(d)}/supervisor.sock", "chmod=0700", "",
            "[supervisord]", "nodaemon=true", f"logfile={esc(d)}/supervisord.log",
            f"pidfile={esc(d)}/supervisord.pid", f"childlogdir={esc(d)}", "loglevel=warn", "",
            "[rpcinterface:supervisor]",
            "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface", "",
            "[supervisorctl]", f"serverurl=unix://{esc(d)}/supervisor.sock", "",
            f"[program:{name}]", "command=" + esc(shlex.join(command)), "autostart=true",
            f"stdout_logfile={esc(d)}/{name}.out", f"stderr_logfile={esc(d)}/{name}.err",
            "stopwaitsecs=8",
        ]
        lines += [f"{k}={v}" for k, v in program.items()]
        conf = os.path.join(d, "supervisord.conf")
        with open(conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        return conf

    def runsv_dir(self, d, command):
        sv = os.path.join(d, "service")
        os.makedirs(sv, exist_ok=True)
        run = os.path.join(sv, "run")
        with open(run, "w") as f:
            f.write("#!/bin/sh\nexec " + shlex.join(command) + "\n")
        os.chmod(run, 0o755)
        return sv

    def fresh_dir(self, name):
        return tempfile.mkdtemp(prefix=name + ".", dir=self.work)

    def each_peer(self, measure, names, fn):
        """fn(peer) for each peer whose tool is here; a failure is noted and
        the next peer measured (a niod failure also fails the run)."""
        for peer in names:
            if peer != "niod" and not self.have[peer]:
                continue
            try:
                fn(peer)
            except BenchError as e:
                self.note(f"{measure}, {peer}: {e}")
                if peer == "niod":
                    self.failed = True

    # -- 2. resident memory ---------------------------------------------------

    def memory(self):
        log(f"\n## 2. supervisor memory while supervising sleep 1000 (median of {self.a.mem_reps})")
        self.each_peer("memory", ("niod", "tini", "dumb-init", "supervisord", "runsv"), self.memory_of)

    def memory_of(self, peer):
        rss, pss, anon = [], [], []
        for i in range(self.a.mem_reps):
            d = self.fresh_dir("mem-" + peer)
            argv, cwd = self.sleeper(peer, d)
            p = self.procs.start(argv, cwd=cwd, out=os.path.join(d, "supervisor.out"),
                                 show=i == 0, times=self.a.mem_reps)
            try:
                wait_for(lambda: running_child(p.pid, "sleep"), self.a.timeout,
                         f"sleep 1000 to run under {peer}", proc=p)
                time.sleep(self.a.settle)
                if p.poll() is not None:
                    raise BenchError(f"{peer} ended early with status {p.returncode}")
                r, s, a = mem_of(p.pid)
                rss.append(r)
                if s is not None:
                    pss.append(s)
                if a is not None:
                    anon.append(a)
            finally:
                stop(self.procs, p, self.a.timeout)
        self.record("rss", peer, rss)
        if pss:
            self.record("pss", peer, pss)
        if anon:
            self.record("anon", peer, anon)
        log(f"{peer:12s} VmRSS MiB {' '.join(fmt(x) for x in rss)}"
            + (f"   Pss MiB {' '.join(fmt(x) for x in pss)}" if pss else "")
            + (f"   RssAnon MiB {' '.join(fmt(x) for x in anon)}" if anon else ""))

    # -- 3. crash-to-first-restart latency ------------------------------------

    def crash(self):
        log("\n## 3. crash-to-first-restart latency (bench/crashloop exits 1 at once)")
        cl = self.a.crashloop
        if not cl or not os.access(cl, os.X_OK):
            self.note("crash-to-restart latency skipped: no crashloop binary (gcc missing?)")
            return
        self.crashloop = os.path.abspath(cl)
        self.each_peer("crash", ("niod", "supervisord", "runsv"), self.crash_of)

    def crash_of(self, peer):
        reps = self.a.crash_reps if peer == "niod" else self.a.crash_reps_slow
        lat = []
        for i in range(reps):
            d = self.fresh_dir("crash-" + peer)
            logf = os.path.join(d, "crashloop.log")
            env = dict(os.environ, CRASHLOOP_LOG=logf)
            cmd = [self.crashloop, logf]
            if peer == "niod":
                argv, cwd = self.niod_cmd("on-failure", *cmd), None
            elif peer == "supervisord":
                conf = self.supervisord_conf(d, "crashloop", cmd, autorestart="true",
                                             startsecs="0", startretries="100")
                argv, cwd = [self.have["supervisord"], "-n", "-c", conf], d
            else:
                argv, cwd = [self.have["runsv"], self.runsv_dir(d, cmd)], d
            p = self.procs.start(argv, cwd=cwd, env=env, out=os.path.join(d, "supervisor.out"),
                                 show=i == 0, times=reps)
            try:
                ns = wait_for(lambda: restart_gap(logf), self.a.timeout,
                              f"crashloop to be restarted by {peer}", interval=0.005, proc=p)
                lat.append(ns / 1e6)
            finally:
                stop(self.procs, p, self.a.timeout)
        self.record("crash", peer, lat)
        log(f"{peer:12s} ms {' '.join(fmt(x) for x in lat)}")

    # -- 4. SIGTERM-to-exit latency -------------------------------------------

    def sigterm(self):
        log(f"\n## 4. SIGTERM-to-exit latency while supervising sleep 1000 (median of {self.a.term_reps})")
        self.each_peer("sigterm", ("niod", "tini", "dumb-init"), self.sigterm_of)

    def sigterm_of(self, peer):
        lat, codes = [], set()
        for i in range(self.a.term_reps):
            argv, cwd = self.sleeper(peer, None)
            # Output to /dev/null, as under hyperfine: no file to flush.
            p = self.procs.start(argv, cwd=cwd, show=i == 0, times=self.a.term_reps)
            try:
                child = wait_for(lambda: running_child(p.pid, "sleep"), self.a.timeout,
                                 f"sleep 1000 to run under {peer}", proc=p)
                time.sleep(0.05)  # let the supervisor settle in its wait
                t0 = time.monotonic_ns()
                os.kill(p.pid, signal.SIGTERM)
                try:
                    code = wait_exit(p, self.a.timeout)
                except subprocess.TimeoutExpired:
                    raise BenchError(f"{peer} did not exit within {self.a.timeout:g}s of SIGTERM")
                t1 = time.monotonic_ns()
                lat.append((t1 - t0) / 1e6)
                codes.add(code)
                st = stat(child)
                if st is not None and st[0] not in "ZX":
                    self.note(f"{peer}: its child sleep (pid {child}) still ran after it exited")
            finally:
                self.procs.kill_tree(p)
        self.record("sigterm", peer, lat)
        log(f"{peer:12s} ms {' '.join(fmt(x) for x in lat)}   exit status {sorted(codes)}")
        if peer == "niod" and codes != {143}:
            self.note(f"niod exited with {sorted(codes)} on SIGTERM, expected 143")

    # -- the table ------------------------------------------------------------

    def table(self):
        peers = ["niod", "tini", "dumb-init", "supervisord", "runsv"]
        R = self.results
        rows = []

        def ratio(measure, base):
            a, b = R.get(measure, {}).get("niod"), R.get(measure, {}).get(base)
            if a is None or not b:
                return None, "—"
            return a / b, f"{a / b:.2f}× {base}"

        def verdict(ok):
            return "" if ok is None else (" ✅" if ok else " ❌")

        if "launch" in R:
            r, rtext = ratio("launch", "tini")
            rr = getattr(self, "launch_round_ratios", [])
            if rr:
                r = median(rr)
                rtext = f"{r:.2f}× tini (median of rounds: {', '.join(f'{x:.2f}' for x in rr)})"
            bare = R["launch"].get("bare")
            rows.append([f"launch, mean ms (hyperfine -N, {len(rr) or 1} rounds; bare /bin/true " + fmt(bare) + " ms)"]
                        + [fmt(R["launch"].get(p)) for p in peers]
                        + [rtext, "≤ 2× tini" + verdict(None if r is None else r <= 2)])
            rm, rmtext = ratio("launch_median", "tini")
            rows.append(["launch, median ms"] + [fmt(R["launch_median"].get(p)) for p in peers]
                        + [rmtext, ""])
            if bare is not None:
                over = {p: v - bare for p, v in R["launch"].items() if p != "bare"}
                R["launch_over"] = over
                ro, rotext = ratio("launch_over", "tini")
                rows.append(["launch overhead over bare /bin/true, ms"] + [fmt(over.get(p)) for p in peers]
                            + [rotext, ""])
        rc = getattr(self, "control_round_ratios", [])
        if rc:
            r = median(rc)
            rows.append(["launch with the control socket ÷ without (`--control-socket none`)", fmt(r), "", "", "", "",
                         f"{r:.3f} (rounds: {', '.join(f'{x:.3f}' for x in rc)})", "≤ 1.03" + verdict(r <= 1.03)])
        if "status" in R:
            st = R["status"].get("niod")
            rows.append([f"niod status round trip, median ms", fmt(st), "", "", "", "", "", "≤ 5 ms" + verdict(st <= 5)])
        if "rss" in R:
            rss = R["rss"].get("niod")
            _, rtext = ratio("rss", "tini")
            rows.append([f"supervisor VmRSS, MiB (median of {self.a.mem_reps})"]
                        + [fmt(R["rss"].get(p)) for p in peers]
                        + [rtext, "niod ≤ 5 MiB" + verdict(None if rss is None else rss <= 5)])
        if "pss" in R:
            _, rtext = ratio("pss", "tini")
            rows.append([f"supervisor Pss, MiB (median of {self.a.mem_reps})"]
                        + [fmt(R["pss"].get(p)) for p in peers] + [rtext, ""])
        if "anon" in R:
            _, rtext = ratio("anon", "tini")
            rows.append([f"supervisor RssAnon (private heap and stacks), MiB (median of {self.a.mem_reps})"]
                        + [fmt(R["anon"].get(p)) for p in peers] + [rtext, ""])
        if "crash" in R:
            c = R["crash"].get("niod")
            base = "supervisord" if "supervisord" in R["crash"] else "runsv"
            r, rtext = ratio("crash", base)
            if r is not None:
                rtext = f"{r:.4f}× {base}"
            rows.append([f"crash → first restart, median ms (niod {self.a.crash_reps}, "
                         f"others {self.a.crash_reps_slow} runs)"]
                        + [fmt(R["crash"].get(p)) for p in peers]
                        + [rtext, "niod ≤ 5 ms" + verdict(None if c is None else c <= 5)])
        if "sigterm" in R:
            r, rtext = ratio("sigterm", "tini")
            rows.append([f"SIGTERM → exit, median ms ({self.a.term_reps} runs)"]
                        + [fmt(R["sigterm"].get(p)) for p in peers]
                        + [rtext, "≤ 2× tini" + verdict(None if r is None else r <= 2)])
        head = ["measure"] + peers + ["niod ratio", "target"]
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(r) + " |" for r in rows]
        if self.notes:
            lines.append("")
            lines += ["- " + n for n in self.notes]
        return "\n".join(lines) + "\n"


def mem_of(pid):
    """(VmRSS, Pss, RssAnon) of pid in MiB; Pss is None without smaps_rollup."""
    rss = pss = anon = None
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) / 1024
            elif line.startswith("RssAnon:"):
                anon = int(line.split()[1]) / 1024
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    pss = int(line.split()[1]) / 1024
    except OSError:
        pass
    if rss is None:
        raise BenchError(f"no VmRSS for pid {pid}")
    return rss, pss, anon


def restart_gap(path):
    """ns from the first "exit" stamp to the first "start" after it, or None."""
    try:
        with open(path) as f:
            lines = f.read().splitlines()
    except FileNotFoundError:
        return None
    first_exit = None
    for line in lines:
        parts = line.split()
        if len(parts) != 2:
            continue  # a line being written
        kind, ns = parts[0], int(parts[1])
        if kind == "exit" and first_exit is None:
            first_exit = ns
        elif kind == "start" and first_exit is not None:
            return max(ns - first_exit, 1)
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--niod", required=True, help="the niod binary")
    ap.add_argument("--crashloop", help="the bench/crashloop binary (crash latency is skipped without it)")
    ap.add_argument("--markdown", help="also write the table to this file")
    ap.add_argument("--json", help="also write every sample to this file")
    ap.add_argument("--only", default="launch,control,memory,crash,sigterm",
                    help="comma-separated measures to run (default: all)")
    ap.add_argument("--launch-runs", type=int, default=100, help="hyperfine --runs per round (0: hyperfine's default)")
    ap.add_argument("--launch-rounds", type=int, default=3, help="hyperfine rounds of all commands")
    ap.add_argument("--mem-reps", type=int, default=3)
    ap.add_argument("--crash-reps", type=int, default=10, help="runs for niod")
    ap.add_argument("--crash-reps-slow", type=int, default=5, help="runs for supervisord and runsv")
    ap.add_argument("--term-reps", type=int, default=20)
    ap.add_argument("--settle", type=float, default=1.0, help="seconds between child start and memory reading")
    ap.add_argument("--timeout", type=float, default=15.0, help="seconds any one wait may take")
    ap.add_argument("--hyperfine-timeout", type=float, default=600.0)
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    a = ap.parse_args()

    if not (os.path.isfile(a.niod) and os.access(a.niod, os.X_OK)):
        sys.exit(f"supervise.py: niod binary not found or not executable: {a.niod}")
    only = {m.strip() for m in a.only.split(",") if m.strip()}
    unknown = only - {"launch", "control", "memory", "crash", "sigterm"}
    if unknown:
        sys.exit(f"supervise.py: unknown measure(s) {', '.join(sorted(unknown))}")

    # A TERM or HUP to the harness ends it through the cleanup below.
    def bail(sig, _frame):
        raise KeyboardInterrupt(f"signal {sig}")
    signal.signal(signal.SIGTERM, bail)
    signal.signal(signal.SIGHUP, bail)

    become_subreaper()
    work = tempfile.mkdtemp(prefix="niod-supervise.")
    procs = Procs()
    status = 0
    try:
        b = Bench(a, work, procs)
        log(f"host: {os.uname().sysname} {os.uname().release}, {os.cpu_count()} CPUs, "
            f"load average {os.getloadavg()[0]:.2f}; work dir {work}")
        b.versions()
        b.sanity()
        steps = [("launch", b.launch), ("control", b.control), ("memory", b.memory), ("crash", b.crash), ("sigterm", b.sigterm)]
        for name, fn in steps:
            if name in only:
                try:
                    fn()
                except BenchError as e:
                    b.note(f"{name} failed: {e}")
                    status = 1
        if b.failed:
            status = 1
        load = os.getloadavg()[0]
        if load > 0.75 * (os.cpu_count() or 1):
            # The benchmark alone keeps about one CPU busy.
            b.note(f"load average {load:.2f} at the end of the run ({os.cpu_count()} CPUs): "
                   "other work shared the CPUs, expect noise")
        table = b.table()
        log("\n## Results\n")
        log(table)
        if a.markdown:
            with open(a.markdown, "w") as f:
                f.write(table)
            log(f"table written to {a.markdown}")
        if a.json:
            with open(a.json, "w") as f:
                json.dump({"results": b.results, "samples": b.samples, "notes": b.notes}, f, indent=1)
    except BenchError as e:
        log(f"supervise.py: {e}")
        status = 1
    except KeyboardInterrupt as e:
        log(f"supervise.py: interrupted ({e})")
        status = 130
    finally:
        # No second signal may cut the cleanup short.
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)
        procs.cleanup()
        if a.keep:
            log(f"work directory kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
