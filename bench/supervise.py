#!/usr/bin/env python3
"""Side-by-side benchmark of niod as a process supervisor.

Measures, in one run, niod against peers that do the same job and against
Go floors (the least a Go program doing the job does, bench/floor*):

1. launch overhead: `niod -- /bin/true` vs `tini -s -- /bin/true`,
   `dumb-init /bin/true`, the Go floor `floor --log-level error -- /bin/true`
   (and bare /bin/true), with hyperfine -N, in a few rounds so that load
   elsewhere does not land on one command only;
2. resident memory of the supervisor while it supervises `sleep 1000`
   (niod, tini, dumb-init, supervisord, runsv, the Go floor floorterm),
   VmRSS, Pss and RssAnon, median of 3;
3. crash-to-first-restart latency with bench/crashloop (niod, supervisord,
   runsv), from the stamps crashloop writes, median;
4. SIGTERM-to-exit latency while supervising `sleep 1000` (niod, tini,
   dumb-init, floorterm), peers interleaved run by run, median;
5. stopping a tree of 1,000 processes of which 100 left the process group
   (bench/tree): SIGTERM to exit and the tree's processes still alive when
   the supervisor is gone (niod, `tini -g -s`, the floor floorgroup that
   signals the group and waits for it), interleaved, median;
6. readiness latency: from the moment the runtime's API listens
   (bench/ready_runtime.py) to niod's READY=1 on NOTIFY_SOCKET, median;
7. idle cost: CPU ticks and context switches of niod supervising
   `sleep 1000` without a probe for 60 s (beside floorterm), measured while
   the other measures run;
8. the control socket: launch with it / launch with --control-socket none
   (in the same hyperfine rounds as 1), and the `niod status` round trip
   against a niod supervising `sleep 1000`, median;
9. with --config-json, the medians bench/config-merge.sh wrote (niod config
   against python3 configparser on 10,000 and 100,000 keys) join the table.

It prints every command line it runs and one markdown table of niod's
figures, the peers', the ratios and the goals, and writes the table to
--markdown PATH.

usage: bench/supervise.py --niod bin/niod [--crashloop PATH] [--floor PATH]
       [--floorterm PATH] [--floorgroup PATH] [--tree PATH] [--markdown OUT]
bench/supervise.sh installs the peers, builds niod and the helpers and runs
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
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
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


def stat_fields(pid):
    """The fields of /proc/pid/stat after comm (state is [0], ppid [1],
    pgrp [2], utime [11], stime [12], starttime [19]), or None."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            s = f.read()
    except OSError:
        return None
    return s[s.rfind(")") + 2:].split()


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
    if isinstance(v, int):
        return str(v)
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
        self.ratios = {}  # measure -> {peer: [niod/peer of each paired run]}
        self.config = None  # bench/config-merge.sh's medians
        self.load_start = self.load_end = os.getloadavg()
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
        # The helpers built from bench/: the Go floors and the workloads.
        self.built = {}
        for n in ("floor", "floorterm", "floorgroup", "tree"):
            path = getattr(args, n)
            if path and os.access(path, os.X_OK):
                self.built[n] = os.path.abspath(path)
            else:
                self.note(f"{n} not given or not executable: the figures that need it are skipped")
        for n in ("floor", "floorterm", "floorgroup"):
            self.have[n] = self.built.get(n)

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
            if not path or n in self.built:
                continue
            if n in flags:
                v = version([path, flags[n]])
            else:  # runsv has no --version: ask the package manager
                v = version(["dpkg-query", "-W", "-f", "runit ${Version}", "runit"])
            log(f"{n}: {path} ({v})")
        for n, path in self.built.items():
            log(f"{n}: {path} (built from bench/)")

    def note(self, text):
        self.notes.append(text)
        log("note: " + text)

    def niod_cmd(self, restart, *cmd, root=None):
        # niod refuses to run the runtime as root without a user to drop to.
        allow = ["--allow-root"] if os.geteuid() == 0 else []
        return [self.niod, "-r", root or self.root, "--log-format", "json", "--log-level", "error",
                "--restart", restart, "--stop-timeout", "8s", *allow, "--", *cmd]

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
        if self.have["floor"]:
            cmds.append(("floor", [self.have["floor"], "--log-level", "error", "--", self.true]))
        cmds.append(("bare", [self.true]))
        # hyperfine runs one command after the other: a few rounds, each of
        # every command, keep a burst of load elsewhere from landing on one
        # command only. Samples are pooled; the ratio is the median of the
        # rounds' ratios.
        times = {name: [] for name, _ in cmds}
        self.launch_round_ratios = []
        self.launch_floor_ratios = []
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
            line, med = [], {}
            for name, _ in cmds:
                t = [x * 1e3 for x in res[name]["times"]]
                times[name] += t
                med[name] = median(t)
                line.append(f"{name} {med[name]:.2f}")
            # The round's medians: a few slow runs from load elsewhere move
            # a mean, not a median.
            ratio = ""
            rc = med["niod"] / med["niod-nocontrol"]
            self.control_round_ratios = getattr(self, "control_round_ratios", []) + [rc]
            if "tini" in med:
                rr = med["niod"] / med["tini"]
                self.launch_round_ratios.append(rr)
                ratio = f"   niod/tini {rr:.2f}"
            if "floor" in med:
                rf = med["niod"] / med["floor"]
                self.launch_floor_ratios.append(rf)
                ratio += f"   niod/floor {rf:.2f}"
            log(f"round {r + 1}: median ms " + ", ".join(line) + ratio + f"   control {rc:.3f}")
        for name, _ in cmds:
            t = times[name]
            self.record("launch", name, t)
            self.results.setdefault("launch_mean", {})[name] = statistics.fmean(t)

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
        if peer == "floorterm":
            return [self.have["floorterm"], self.sleep, "1000"], None
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
        self.each_peer("memory", ("niod", "tini", "dumb-init", "supervisord", "runsv", "floorterm"), self.memory_of)

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

    def interleaved(self, measure, names, reps, fn):
        """fn(peer, i) for i in range(reps), each rep running every peer once,
        so that load elsewhere lands on all peers alike; returns
        {peer: [values]}. A peer that fails is noted and dropped (a niod
        failure also fails the run)."""
        active = [p for p in names if p == "niod" or self.have.get(p)]
        out = {p: [] for p in active}
        for i in range(reps):
            for peer in list(active):
                try:
                    out[peer].append(fn(peer, i))
                except BenchError as e:
                    self.note(f"{measure}, {peer}: {e}")
                    active.remove(peer)
                    if peer == "niod":
                        self.failed = True
        return {p: v for p, v in out.items() if v}

    def paired(self, measure, samples, base):
        """The median of niod's value over base's, run by run."""
        a, b = samples.get("niod"), samples.get(base)
        if not a or not b:
            return
        ratios = [x / y for x, y in zip(a, b) if y]
        if ratios:
            self.ratios.setdefault(measure, {})[base] = ratios

    def sigterm(self):
        reps = self.a.term_reps
        log(f"\n## 4. SIGTERM-to-exit latency while supervising sleep 1000 (median of {reps}, peers interleaved)")
        peers = ("niod", "tini", "dumb-init", "floorterm")
        self.term_codes = {}
        res = self.interleaved("sigterm", peers, reps, self.sigterm_once)
        for peer, lat in res.items():
            self.record("sigterm", peer, lat)
            log(f"{peer:12s} ms {' '.join(fmt(x) for x in lat)}   exit status {sorted(self.term_codes[peer])}")
        for base in ("tini", "dumb-init", "floorterm"):
            self.paired("sigterm", res, base)
        if "niod" in res and self.term_codes["niod"] != {143}:
            self.note(f"niod exited with {sorted(self.term_codes['niod'])} on SIGTERM, expected 143")

    def term(self, p, peer):
        """SIGTERM to p, then its exit: the code and monotonic ns before and after."""
        t0 = time.monotonic_ns()
        os.kill(p.pid, signal.SIGTERM)
        try:
            code = wait_exit(p, self.a.timeout)
        except subprocess.TimeoutExpired:
            raise BenchError(f"{peer} did not exit within {self.a.timeout:g}s of SIGTERM")
        return code, t0, time.monotonic_ns()

    def sigterm_once(self, peer, i):
        argv, cwd = self.sleeper(peer, None)
        # Output to /dev/null, as under hyperfine: no file to flush.
        p = self.procs.start(argv, cwd=cwd, show=i == 0, times=self.a.term_reps)
        try:
            child = wait_for(lambda: running_child(p.pid, "sleep"), self.a.timeout,
                             f"sleep 1000 to run under {peer}", proc=p)
            time.sleep(0.05)  # let the supervisor settle in its wait
            code, t0, t1 = self.term(p, peer)
            self.term_codes.setdefault(peer, set()).add(code)
            st = stat(child)
            if st is not None and st[0] not in "ZX":
                self.note(f"{peer}: its child sleep (pid {child}) still ran after it exited")
            return (t1 - t0) / 1e6
        finally:
            self.procs.kill_tree(p)

    # -- 5. stopping a tree of 1,000 processes --------------------------------

    def tree(self):
        reps = self.a.tree_reps
        log(f"\n## 5. SIGTERM to exit with a tree of {self.a.tree_total} processes, "
            f"{self.a.tree_outside} of them outside the process group (median of {reps}, peers interleaved)")
        if "tree" not in self.built:
            self.note("tree stop skipped: no bench/tree binary (gcc missing?)")
            return
        self.tree_codes, self.tree_left = {}, {}
        res = self.interleaved("tree", ("niod", "tini", "floorgroup"), reps, self.tree_once)
        for peer, lat in res.items():
            self.record("tree", peer, lat)
            left = self.tree_left[peer]
            self.record("tree_left", peer, [n for n, _ in left])
            self.record("tree_left_outside", peer, [o for _, o in left])
            log(f"{peer:12s} ms {' '.join(fmt(x) for x in lat)}   survivors (outside the group) "
                + " ".join(f"{n}({o})" for n, o in left) + f"   exit status {sorted(self.tree_codes[peer])}")
        for base in ("tini", "floorgroup"):
            self.paired("tree", res, base)
        slow = [x for x in res.get("niod", []) if x >= 0.95 * 8000]
        if slow:
            self.note(f"tree: niod took its whole stop timeout (8 s, then SIGKILL) in {len(slow)} of "
                      f"{len(res['niod'])} runs: some processes of the tree outlived its SIGTERMs")

    def tree_cmd(self, peer, ready):
        cmd = [self.built["tree"], ready, str(self.a.tree_total), str(self.a.tree_outside)]
        if peer == "niod":
            return self.niod_cmd("never", *cmd)
        if peer == "tini":
            # -g: signals go to the child's process group, the most tini does.
            return [self.have["tini"], "-g", "-s", "--", *cmd]
        if peer == "floorgroup":
            return [self.have["floorgroup"], *cmd]
        raise ValueError(peer)

    def tree_once(self, peer, i):
        d = self.fresh_dir("tree-" + peer)
        ready = os.path.join(d, "ready")
        p = self.procs.start(self.tree_cmd(peer, ready), out=os.path.join(d, "supervisor.out"),
                             show=i == 0, times=self.a.tree_reps)
        tree = {}  # pid -> (starttime, pgrp) of every process of the workload
        try:
            wait_for(lambda: os.path.exists(ready), self.a.timeout,
                     f"the tree to be ready under {peer}", interval=0.005, proc=p)
            with open(ready) as f:
                pids = [int(x) for x in f.read().split()]
            tops = [c for c in children(p.pid) if comm(c) == "tree"]
            for pid in tops + pids:
                st = stat_fields(pid)
                if st is None or st[0] in "ZX":
                    raise BenchError(f"process {pid} of the tree is gone before the stop")
                tree[pid] = (st[19], st[2])
            if len(tree) != self.a.tree_total + 1:
                raise BenchError(f"the tree has {len(tree)} processes, expected {self.a.tree_total + 1}")
            time.sleep(0.1)  # every process of the tree in pause()
            code, t0, t1 = self.term(p, peer)
            # Survivors: alive (not a zombie) the moment the supervisor is gone.
            left = outside = 0
            group = tops[0] if tops else None
            for pid, (start, pgrp) in tree.items():
                st = stat_fields(pid)
                if st is not None and st[19] == start and st[0] not in "ZX":
                    left += 1
                    outside += pgrp != str(group)
            self.tree_codes.setdefault(peer, set()).add(code)
            self.tree_left.setdefault(peer, []).append((left, outside))
            return (t1 - t0) / 1e6
        finally:
            # The survivors (re-parented to us once the supervisor is gone)
            # and every other process of the tree.
            for pid, (start, _) in tree.items():
                st = stat_fields(pid)
                if st is not None and st[19] == start:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
            self.procs.kill_tree(p)
            shutil.rmtree(d, ignore_errors=True)

    # -- 6. readiness latency ---------------------------------------------------

    def ready(self):
        reps = self.a.ready_reps
        log(f"\n## 6. readiness: the runtime listens → niod's READY=1 (ready = probe, median of {reps})")
        lat = []
        try:
            for i in range(reps):
                lat.append(self.ready_once(i))
        except BenchError as e:
            self.note(f"ready, niod: {e}")
            self.failed = True
        if lat:
            self.record("ready", "niod", lat)
            log(f"{'niod':12s} ms {' '.join(fmt(x) for x in lat)}")

    def ready_once(self, i):
        d = self.fresh_dir("ready")
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        with open(os.path.join(d, "nio.conf"), "w") as f:
            f.write(f"[rest]\nhost = 127.0.0.1\nport = {port}\n\n[niod]\nready = probe\n")
        stamp = os.path.join(d, "listening")
        notify = os.path.join(d, "notify.sock")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(notify)
        env = dict(os.environ, NOTIFY_SOCKET=notify)
        argv = self.niod_cmd("never", sys.executable, self.a.ready_runtime, str(port), stamp, root=d)
        p = self.procs.start(argv, env=env, out=os.path.join(d, "niod.out"), show=i == 0,
                             times=self.a.ready_reps)
        try:
            po = select.poll()
            po.register(sock, select.POLLIN)
            deadline = time.monotonic() + self.a.timeout
            ready_at = None
            while ready_at is None:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise BenchError(f"no READY=1 within {self.a.timeout:g}s")
                if not po.poll(min(left, 0.5) * 1000):
                    if p.poll() is not None:
                        raise BenchError(f"niod ended with status {p.returncode} before READY=1")
                    continue
                t = time.monotonic()
                if b"READY=1" in sock.recv(4096).split(b"\n"):
                    ready_at = t
            with open(stamp) as f:
                listening = float(f.read())
            return (ready_at - listening) * 1e3
        finally:
            stop(self.procs, p, self.a.timeout)
            sock.close()
            shutil.rmtree(d, ignore_errors=True)

    # -- 7. idle cost -----------------------------------------------------------

    def idle_start(self):
        """Starts niod and floorterm supervising sleep 1000 and a thread that
        reads their counters idle_seconds apart; idle_finish collects."""
        self.idle = None
        secs = self.a.idle_seconds
        log(f"\n## 7. idle: niod supervising sleep 1000 without a probe, {secs:g} s "
            "(measured while the other measures run; results below)")
        root = os.path.join(self.work, "idle-root")
        os.makedirs(root)
        with open(os.path.join(root, "nio.conf"), "w") as f:
            f.write("[niod]\nrestart = never\n")
        started = {}
        try:
            started["niod"] = self.procs.start(self.niod_cmd("never", self.sleep, "1000", root=root),
                                               out=self.out("idle-niod"))
            if self.have["floorterm"]:
                started["floorterm"] = self.procs.start([self.have["floorterm"], self.sleep, "1000"],
                                                        out=self.out("idle-floorterm"))
            for peer, p in started.items():
                wait_for(lambda: running_child(p.pid, "sleep"), self.a.timeout,
                         f"sleep 1000 to run under {peer}", proc=p)
        except BenchError as e:
            self.note(f"idle: {e}")
            self.failed = True
            for p in started.values():
                self.procs.kill_tree(p)
            return
        box = {}

        def watch():
            # After start-up (its GC, its first timers) settles.
            time.sleep(2)
            box["before"] = {peer: (time.monotonic(), idle_counters(p.pid)) for peer, p in started.items()}
            time.sleep(secs)
            box["after"] = {peer: (time.monotonic(), idle_counters(p.pid)) for peer, p in started.items()}

        th = threading.Thread(target=watch, daemon=True)
        th.start()
        self.idle = (started, th, box)

    def idle_finish(self):
        if not self.idle:
            return
        started, th, box = self.idle
        self.idle = None
        try:
            if th.is_alive():
                log("\nwaiting for the idle window to end")
            th.join(self.a.idle_seconds + 30)
            if "after" not in box:
                raise BenchError("the idle window did not end")
            log(f"\n## 7. idle, results ({self.a.idle_seconds:g} s)")
            for peer, p in started.items():
                t0, c0 = box["before"][peer]
                t1, c1 = box["after"][peer]
                if c0 is None or c1 is None or p.poll() is not None:
                    self.note(f"idle, {peer}: it ended during the window")
                    continue
                ticks = c1[0] - c0[0]
                switches = c1[1] - c0[1]
                self.record("idle_ticks", peer, [ticks], ticks)
                self.record("idle_switches", peer, [switches], switches)
                busy = sorted(((n - c0[3].get(t, 0), t) for t, n in c1[3].items()), reverse=True)
                log(f"{peer:12s} {ticks} CPU ticks (utime+stime), {switches} context switches "
                    f"({c1[2]} threads) over {t1 - t0:.1f} s; by thread: "
                    + (", ".join(f"{t} {n}" for n, t in busy if n) or "none"))
        except BenchError as e:
            self.note(f"idle: {e}")
            self.failed = True
        finally:
            for p in started.values():
                stop(self.procs, p, self.a.timeout)

    # -- 9. niod config, from bench/config-merge.sh ----------------------------

    def load_config(self, path):
        try:
            with open(path) as f:
                self.config = json.load(f)
            log(f"settings merge figures read from {path} (bench/config-merge.sh)")
        except (OSError, ValueError) as e:
            self.note(f"config: cannot read {path}: {e}")

    # -- the table ------------------------------------------------------------

    def table(self):
        R = self.results
        rows = []

        def val(m, p):
            return R.get(m, {}).get(p)

        def peers(m, names, lab=None):
            lab = lab or {}
            parts = [f"{lab.get(n, n)} {fmt(val(m, n))}" for n in names if val(m, n) is not None]
            return " · ".join(parts) or "—"

        def floor(m, name):
            v = val(m, name)
            return "—" if v is None else f"{name} {fmt(v)}"

        def ratio(m, base, digits=2, name=None):
            """niod/base: the median of paired runs when there are some,
            else the ratio of the medians; (value, text)."""
            name = base if name is None else name
            suffix = f" {name}" if name else ""
            rr = self.ratios.get(m, {}).get(base)
            if rr:
                r = median(rr)
                return r, f"{r:.{digits}f}×{suffix} (median of {len(rr)} paired)"
            a, b = val(m, "niod"), val(m, base)
            if a is None or not b:
                return None, "—"
            return a / b, f"{a / b:.{digits}f}×{suffix}"

        def verdict(ok):
            return "—" if ok is None else ("✅" if ok else "❌")

        if "launch" in R:
            rt, rf = getattr(self, "launch_round_ratios", []), getattr(self, "launch_floor_ratios", [])
            t = median(rt) if rt else None
            f = median(rf) if rf else None
            bare = val("launch", "bare")
            n = len(rt) or 1
            runs = f"{n} rounds of {self.a.launch_runs}" if self.a.launch_runs else f"{n} rounds"
            rows.append([f"launch `-- /bin/true`, median ms (hyperfine -N, {runs}; bare /bin/true {fmt(bare)} ms)",
                         fmt(val("launch", "niod")), peers("launch", ("tini", "dumb-init")), floor("launch", "floor"),
                         "—" if t is None else f"{t:.2f}× tini (median of {len(rt)} rounds)",
                         "—" if f is None else f"{f:.2f}× (median of {len(rf)} rounds)",
                         f"≤ 2.0× tini {verdict(None if t is None else t <= 2.0)} · "
                         f"≤ 1.35× floor {verdict(None if f is None else f <= 1.35)}"])
            M = R["launch_mean"]
            rows.append(["launch, mean ms", fmt(M.get("niod")),
                         " · ".join(f"{p} {fmt(M[p])}" for p in ("tini", "dumb-init") if p in M) or "—",
                         "—" if "floor" not in M else f"floor {fmt(M['floor'])}",
                         f"{M['niod'] / M['tini']:.2f}× tini" if M.get("tini") else "—",
                         f"{M['niod'] / M['floor']:.2f}×" if M.get("floor") else "—", ""])
            if bare is not None:
                over = {p: v - bare for p, v in R["launch"].items() if p != "bare"}
                R["launch_over"] = over
                rows.append(["launch overhead over bare /bin/true (medians), ms", fmt(over.get("niod")),
                             peers("launch_over", ("tini", "dumb-init")), floor("launch_over", "floor"),
                             ratio("launch_over", "tini")[1], ratio("launch_over", "floor", name="")[1], ""])
        rc = getattr(self, "control_round_ratios", [])
        if rc:
            r = median(rc)
            rows.append(["launch with the control socket ÷ without (`--control-socket none`), median of rounds",
                         f"{r:.3f}", "—", "—", f"{min(rc):.2f}–{max(rc):.2f} over {len(rc)} rounds", "—",
                         f"≤ 1.03 {verdict(r <= 1.03)}"])
        if "status" in R:
            st = val("status", "niod")
            rows.append(["`niod status` round trip, median ms", fmt(st), "—", "—", "—", "—",
                         f"≤ 5 ms {verdict(st <= 5)}"])
        mem_peers = ("tini", "dumb-init", "supervisord", "runsv")
        for m, what, goal in (("rss", "VmRSS", 5.0), ("pss", "Pss", None),
                              ("anon", "RssAnon (private heap and stacks)", 1.0)):
            if m not in R:
                continue
            v = val(m, "niod")
            rows.append([f"supervisor {what} supervising `sleep`, MiB (median of {self.a.mem_reps})", fmt(v),
                         peers(m, mem_peers), floor(m, "floorterm"), ratio(m, "tini")[1],
                         ratio(m, "floorterm", name="")[1],
                         "" if goal is None else f"≤ {goal} MiB {verdict(None if v is None else v <= goal)}"])
        if "crash" in R:
            c = val("crash", "niod")
            base = "supervisord" if "supervisord" in R["crash"] else "runsv"
            rows.append([f"crash → first restart, median ms (niod {self.a.crash_reps}, "
                         f"others {self.a.crash_reps_slow} runs)", fmt(c, 3),
                         peers("crash", ("supervisord", "runsv")), "—", ratio("crash", base, 4)[1], "—",
                         f"≤ 1 ms {verdict(None if c is None else c <= 1)}"])
        if "sigterm" in R:
            r, rtext = ratio("sigterm", "tini")
            rows.append([f"SIGTERM → exit supervising `sleep`, median ms ({self.a.term_reps} runs)",
                         fmt(val("sigterm", "niod")), peers("sigterm", ("tini", "dumb-init")),
                         floor("sigterm", "floorterm"), rtext, ratio("sigterm", "floorterm", name="")[1],
                         f"≤ 2.0× tini {verdict(None if r is None else r <= 2.0)}"])
        if "tree" in R:
            lab = {"tini": "`tini -g -s`"}
            r, rtext = ratio("tree", "floorgroup", name="")
            left = R.get("tree_left", {})
            worst = {p: max(self.samples["tree_left"][p]) for p in left}
            worst_out = {p: max(self.samples["tree_left_outside"][p]) for p in left}
            ok = None if r is None or "niod" not in worst else (r <= 1.5 and worst["niod"] == 0)
            rows.append([f"SIGTERM → exit, tree of {self.a.tree_total} processes, {self.a.tree_outside} outside "
                         f"the group, median ms ({self.a.tree_reps} runs)",
                         fmt(val("tree", "niod")), peers("tree", ("tini",), lab), floor("tree", "floorgroup"),
                         ratio("tree", "tini", name="`tini -g -s`")[1], rtext,
                         f"≤ 1.5× floor with 0 survivors {verdict(ok)}"])
            def left_text(p):
                return f"{worst[p]} ({worst_out[p]} outside the group)"
            rows.append([f"… processes of the tree alive when the supervisor exited, most of {self.a.tree_reps} runs",
                         "—" if "niod" not in worst else left_text("niod"),
                         " · ".join(f"{lab.get(p, p)} {left_text(p)}" for p in ("tini",) if p in worst) or "—",
                         "—" if "floorgroup" not in worst else f"floorgroup {left_text('floorgroup')}",
                         "—", "—", f"0 {verdict(None if 'niod' not in worst else worst['niod'] == 0)}"])
        if "ready" in R:
            v = val("ready", "niod")
            rows.append([f"readiness: runtime listens → READY=1 (`ready = probe`), median ms "
                         f"({len(self.samples['ready']['niod'])} runs)", fmt(v), "—", "—", "—", "—",
                         f"≤ 10 ms {verdict(v <= 10)}"])
        if "idle_ticks" in R:
            secs = f"{self.a.idle_seconds:g} s"
            v = val("idle_ticks", "niod")
            rows.append([f"idle supervising `sleep` (no probe): CPU ticks (utime+stime) in {secs}", fmt(v),
                         "—", floor("idle_ticks", "floorterm"), "—", "—", f"0 {verdict(v == 0)}"])
            v = val("idle_switches", "niod")
            fl = val("idle_switches", "floorterm")
            rows.append([f"idle: context switches of all its threads in {secs}", fmt(v), "—",
                         floor("idle_switches", "floorterm"), "—",
                         "—" if not fl else f"{v / fl:.2f}×",
                         f"< {self.a.idle_seconds:g}, no ticker {verdict(v < self.a.idle_seconds)}"])
        for c in (self.config or {}).get("sizes", []):
            rr = c.get("round_ratios") or []
            r = median(rr) if rr else c["niod_ms"] / c["python_ms"]
            rows.append([f"`niod config --reveal`, {c['keys']:,} keys in 3 files ({c['bytes'] / 1024:,.0f} KiB), "
                         f"median ms ({c['rounds']} rounds of {c['runs']})",
                         fmt(c["niod_ms"]), f"python3 configparser {fmt(c['python_ms'])}", "—",
                         f"{r:.3f}× configparser ({1 / r:.1f}× faster; rounds {', '.join(f'{1 / x:.1f}' for x in rr)})",
                         "—", f"≥ 10× faster {verdict(1 / r >= 10)}"])

        head = ["measure", "niod", "peers", "Go floor", "niod/peer", "niod/floor", "goal"]
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        lines += ["| " + " | ".join(r) + " |" for r in rows]
        lines.append("")
        lines.append(self.footer())
        if self.notes:
            lines.append("")
            lines += ["- " + n for n in self.notes]
        return "\n".join(lines) + "\n"

    def footer(self):
        def la(t):
            return " ".join(f"{x:.2f}" for x in t)
        parts = []
        cfg = self.config or {}
        if cfg.get("load_start"):
            parts.append(f"load average {la(cfg['load_start'])} at the start of config-merge.sh")
        parts.append(f"{la(self.load_start)} at the start of supervise.py, {la(self.load_end)} at the end")
        u = os.uname()
        repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        env = dict(os.environ, GIT_OPTIONAL_LOCKS="0")  # read only: no index refresh
        try:
            head = subprocess.run(["git", "-C", repo, "rev-parse", "--short", "HEAD"], capture_output=True,
                                  text=True, timeout=10, env=env).stdout.strip()
            dirty = subprocess.run(["git", "-C", repo, "status", "--porcelain", "--untracked-files=no"],
                                   capture_output=True, text=True, timeout=10, env=env).stdout.strip()
            commit = (head or "?") + (" with local changes" if dirty else "")
        except (OSError, subprocess.TimeoutExpired):
            commit = "?"
        return (f"{time.strftime('%Y-%m-%d %H:%M %Z')}; {os.cpu_count()} CPUs, {u.sysname} {u.release} {u.machine}; "
                f"commit {commit}; " + ", ".join(parts) + " (1, 5, 15 min).")


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


def idle_counters(pid):
    """(utime+stime ticks, context switches summed over the threads, thread
    count, {tid: switches}) of pid, or None when it is gone."""
    st = stat_fields(pid)
    if st is None:
        return None
    switches = threads = 0
    per_thread = {}
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return None
    for t in tasks:
        try:
            n = 0
            with open(f"/proc/{pid}/task/{t}/status") as f:
                for line in f:
                    if line.startswith(("voluntary_ctxt_switches:", "nonvoluntary_ctxt_switches:")):
                        n += int(line.split()[1])
            switches += n
            per_thread[int(t)] = n
            threads += 1
        except OSError:
            pass  # a thread that ended meanwhile
    return int(st[11]) + int(st[12]), switches, threads, per_thread


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


MEASURES = ("launch", "control", "memory", "crash", "sigterm", "tree", "ready", "idle")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--niod", required=True, help="the niod binary")
    ap.add_argument("--crashloop", help="the bench/crashloop binary (crash latency is skipped without it)")
    ap.add_argument("--floor", help="the bench/floor binary: the Go floor of launch")
    ap.add_argument("--floorterm", help="the bench/floorterm binary: the Go floor of SIGTERM, memory and idle")
    ap.add_argument("--floorgroup", help="the bench/floorgroup binary: the floor of stopping a tree")
    ap.add_argument("--tree", help="the bench/tree binary: the workload of the tree stop")
    ap.add_argument("--ready-runtime", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "ready_runtime.py"),
                    help="the runtime of the readiness measure (default: bench/ready_runtime.py)")
    ap.add_argument("--config-json", help="medians written by bench/config-merge.sh --json, for the table")
    ap.add_argument("--markdown", help="also write the table to this file")
    ap.add_argument("--json", help="also write every sample to this file")
    ap.add_argument("--only", default=",".join(MEASURES),
                    help="comma-separated measures to run (default: all of " + ",".join(MEASURES) + ")")
    ap.add_argument("--launch-runs", type=int, default=30, help="hyperfine --runs per round (0: hyperfine's default)")
    ap.add_argument("--launch-rounds", type=int, default=10, help="hyperfine rounds of all commands")
    ap.add_argument("--mem-reps", type=int, default=3)
    ap.add_argument("--crash-reps", type=int, default=10, help="runs for niod")
    ap.add_argument("--crash-reps-slow", type=int, default=5, help="runs for supervisord and runsv")
    ap.add_argument("--term-reps", type=int, default=20)
    ap.add_argument("--tree-reps", type=int, default=5)
    ap.add_argument("--tree-total", type=int, default=1000, help="processes of the tree below its top")
    ap.add_argument("--tree-outside", type=int, default=100, help="of them, those that call setsid()")
    ap.add_argument("--ready-reps", type=int, default=15)
    ap.add_argument("--idle-seconds", type=float, default=60.0)
    ap.add_argument("--settle", type=float, default=1.0, help="seconds between child start and memory reading")
    ap.add_argument("--timeout", type=float, default=15.0, help="seconds any one wait may take")
    ap.add_argument("--hyperfine-timeout", type=float, default=600.0)
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    a = ap.parse_args()

    if not (os.path.isfile(a.niod) and os.access(a.niod, os.X_OK)):
        sys.exit(f"supervise.py: niod binary not found or not executable: {a.niod}")
    only = {m.strip() for m in a.only.split(",") if m.strip()}
    unknown = only - set(MEASURES)
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
        b.load_start = os.getloadavg()
        log(f"host: {os.uname().sysname} {os.uname().release}, {os.cpu_count()} CPUs, "
            f"load average {' '.join(f'{x:.2f}' for x in b.load_start)}; work dir {work}")
        b.versions()
        b.sanity()
        if a.config_json:
            b.load_config(a.config_json)
        # The idle window runs beside the others: it counts niod's own
        # ticks and switches, which the others' load does not add to.
        if "idle" in only:
            b.idle_start()
        steps = [("launch", b.launch), ("control", b.control), ("memory", b.memory), ("crash", b.crash),
                 ("sigterm", b.sigterm), ("tree", b.tree), ("ready", b.ready), ("idle", b.idle_finish)]
        for name, fn in steps:
            if name in only:
                try:
                    fn()
                except BenchError as e:
                    b.note(f"{name} failed: {e}")
                    status = 1
        if b.failed:
            status = 1
        b.load_end = os.getloadavg()
        if b.load_end[0] > 0.75 * (os.cpu_count() or 1):
            # The benchmark alone keeps about one CPU busy.
            b.note(f"load average {b.load_end[0]:.2f} at the end of the run ({os.cpu_count()} CPUs): "
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
                json.dump({"results": b.results, "samples": b.samples, "ratios": b.ratios,
                           "config": b.config, "notes": b.notes}, f, indent=1)
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
