#!/usr/bin/python3
"""Measure a running local cluster (bench/run.sh starts it) with mpic-loadgen and dnsperf: closed-
and open-loop throughput and latency of CAA checks, the resolver alone, CPU and memory of every
daemon, ready time; print the figures, the ratios of issue 9 and its targets (met / not met),
write them as JSON and plot latency against offered load.

    bench.py STATE_DIR BUILD_DIR RESULTS_JSON [--smoke] [--profile] [--plot PNG]

Exit status: 0 when every request got the status it should (200, or 400 for the bad request)
and no connection failed; 1 otherwise. Times are reported, never judged: a target not met is
printed as such and does not change the exit status.
"""

import argparse
import copy
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

CAA = {"check_type": "caa", "domain_or_ip_target": "example.test"}
# The CAA queries one check of example.test makes: the agent asks every level of the climb at once.
CAA_QUERIES = ["example.test CAA", "test CAA"]
DCV = {"check_type": "dcv", "domain_or_ip_target": "dcv.example.test",
       "dcv_check_parameters": {"validation_method": "acme-dns-01",
                                "key_authorization_hash": "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0"}}
# Two problems the orchestrator must find before it calls any agent: validation cost only.
BAD = {"check_type": "caa", "domain_or_ip_target": "exa mple..test",
       "orchestration_parameters": {"perspective_count": 1}}

FULL = {
    "closed_concurrency": [1, 4, 16, 64, 256], "closed_s": 5,
    "open_rates": [100, 250, 500, 1000, 2000, 4000, 8000], "open_s": 5, "open_connections": 256,
    "extra": [("dcv", DCV, 200, 1), ("dcv", DCV, 200, 16), ("bad400", BAD, 400, 1), ("bad400", BAD, 400, 16)],
    "extra_s": 3, "in_flight": 1000, "in_flight_s": 5, "dns_s": 5, "ready_runs": 5, "profile_s": 8,
}
# A few seconds in all: every path of the full run once, so that it cannot rot. No figure means much.
SMOKE = {
    "closed_concurrency": [1, 16], "closed_s": 1,
    "open_rates": [100], "open_s": 1, "open_connections": 16,
    "extra": [("dcv", DCV, 200, 1), ("bad400", BAD, 400, 1)],
    "extra_s": 1, "in_flight": 64, "in_flight_s": 1, "dns_s": 1, "ready_runs": 1, "profile_s": 1,
}
TARGETS = {  # issue 9 item 4
    "mpic_over_resolver": (">=", 0.25), "p99_ms_at_1000": ("<=", 10.0), "p99_over_p50_worst": ("<=", 5.0),
    "throughput_256_over_best": (">=", 0.9), "cpu_over_unbound_6q": ("<=", 3.0),
    "orchestrator_rss_mib_in_flight": ("<=", 32.0), "agent_rss_mib_max": ("<=", 16.0), "ready_ms": ("<=", 100.0),
}
TICKS = os.sysconf("SC_CLK_TCK")
READY_CAP = 15.0   # seconds one start may take before we give up on it
LAN_AGENT_CONNECTIONS = 16   # docs/config.md: "on one machine or a LAN, 16 are plenty"


def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def mem_kib(pid):
    """VmRSS and RssAnon: the resident set counts every shared-library page the process touched
    (libcrypto alone is 4 MB, shared with every other daemon); RssAnon is the process's own."""
    got = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(("VmRSS:", "RssAnon:")):
                got[line.split(":")[0]] = int(line.split()[1])
    return got.get("VmRSS", 0), got.get("RssAnon", 0)


def rss_kib(pid):
    return mem_kib(pid)[0]


def cpu_seconds(pid):
    """User plus system CPU time of a process so far (10 ms ticks)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


class Cluster:
    def __init__(self, state, build):
        env = dict(line.strip().split("=", 1) for line in open(f"{state}/cluster.env") if "=" in line)
        self.state, self.build = state, build
        self.url = env["MPIC_URL"]
        self.port = int(self.url.rsplit(":", 1)[1])
        self.key = env["MPIC_API_KEY"]
        read = lambda path: int(open(path).read())
        self.agents = sorted(f[:-4] for f in os.listdir(f"{state}/pids") if f.startswith("agent-"))
        self.pids = {"orchestrator": read(f"{state}/pids/orchestrator.pid"),
                     **{a: read(f"{state}/pids/{a}.pid") for a in self.agents}}
        self.unbound = read(f"{state}/lab/unbound.pid")
        with open(f"{state}/lab/unbound/unbound.conf") as f:
            iface = next(line.split(":", 1)[1].strip() for line in f if line.strip().startswith("interface:"))
        self.resolver_ip, self.resolver_port = iface.split("@")
        self.loadgen = f"{build}/mpic-loadgen"
        self.bodies = tempfile.mkdtemp(prefix="bodies.", dir=state)

    def body_file(self, name, body):
        path = f"{self.bodies}/{name}.json"
        with open(path, "w") as f:
            json.dump(body, f)
        return path

    def with_orchestrator(self, port, pid):
        """The same cluster through another orchestrator."""
        other = copy.copy(self)
        other.url, other.port = f"http://127.0.0.1:{port}", port
        other.pids = {**self.pids, "orchestrator": pid}
        return other

    def cpu(self):
        return {**{n: cpu_seconds(p) for n, p in self.pids.items()}, "unbound": cpu_seconds(self.unbound)}

    def post(self, body):
        req = urllib.request.Request(f"{self.url}/v1/mpic", data=json.dumps(body).encode(), method="POST",
                                     headers={"x-api-key": self.key, "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"null")


def run_load(cl, body_path, expect, conns, seconds, rate=None, sample_rss=False):
    """One mpic-loadgen run; adds the expected status, CPU ms per answer of each daemon and, when
    asked, the peak RSS of each daemon and the orchestrator's peak of open descriptors, sampled
    every 20 ms."""
    cmd = [cl.loadgen, "-u", f"{cl.url}/v1/mpic", "-b", body_path, "-k", cl.key, "-c", str(conns),
           "-d", str(seconds), "-t", "60"] + (["-r", str(rate)] if rate else [])
    peak = {n: 0 for n in cl.pids}
    peak_anon = {n: 0 for n in cl.pids}
    fds = 0
    done = threading.Event()

    def sampler():
        nonlocal fds
        while not done.wait(0.02):
            for n, p in cl.pids.items():
                rss, anon = mem_kib(p)
                peak[n] = max(peak[n], rss)
                peak_anon[n] = max(peak_anon[n], anon)
            fds = max(fds, len(os.listdir(f"/proc/{cl.pids['orchestrator']}/fd")))

    cpu0 = cl.cpu()
    t = threading.Thread(target=sampler, daemon=True) if sample_rss else None
    if t:
        t.start()
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    done.set()
    if t:
        t.join()
    cpu1 = cl.cpu()
    if proc.returncode != 0:
        raise RuntimeError(f"mpic-loadgen failed ({proc.returncode}): {proc.stderr.strip()}")
    r = json.loads(proc.stdout)
    n = r["completed"]
    r["expected_status"] = expect
    r["wrong_status"] = {s: c for s, c in r["status"].items() if int(s) != expect}
    r["failed"] = bool(r["wrong_status"]) or any(r["errors"].values())
    r["cpu_ms_per_request"] = {k: round((cpu1[k] - cpu0[k]) * 1000 / n, 4) if n else None for k in cpu0}
    agents_cpu = sum(cpu1[a] - cpu0[a] for a in cl.agents)
    r["cpu_ms_per_request"]["agents_total"] = round(agents_cpu * 1000 / n, 4) if n else None
    if sample_rss:
        r["peak_rss_kib"] = peak
        r["peak_rss_anon_kib"] = peak_anon
        r["peak_open_files_orchestrator"] = fds
    return r


def resolver_alone(cl, seconds, dir_):
    """dnsperf against the lab's unbound, cached CAA queries of the names the CAA check asks,
    with the DO bit as the agents set it; unbound's CPU per query from /proc."""
    if shutil.which("dnsperf") is None:
        log("dnsperf not installed (scripts/setup.sh --test-deps): no resolver baseline")
        return None
    qfile = f"{dir_}/caa-queries.txt"
    with open(qfile, "w") as f:
        f.write("\n".join(CAA_QUERIES) + "\n")
    cmd = ["dnsperf", "-s", cl.resolver_ip, "-p", cl.resolver_port, "-d", qfile, "-D",
           "-c", "4", "-q", "256", "-t", "2"]
    # Fill the cache first: the MPIC runs ask a warm resolver, so the baseline does too.
    subprocess.run(cmd + ["-n", "2"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    c0 = cpu_seconds(cl.unbound)
    out = subprocess.run(cmd + ["-l", str(seconds)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    c1 = cpu_seconds(cl.unbound)
    fig = {}
    for line in out.stdout.splitlines():
        line = line.strip()
        for key, name in (("Queries completed:", "completed"), ("Queries lost:", "lost"),
                          ("Queries per second:", "qps"), ("Average Latency (s):", "avg_latency_s")):
            if line.startswith(key):
                fig[name] = float(line[len(key):].split()[0])
        if line.startswith("Response codes:"):
            fig["rcodes"] = line[len("Response codes:"):].strip()
    if "qps" not in fig:
        raise RuntimeError(f"dnsperf gave no figures:\n{out.stdout}")
    fig["unbound_cpu_us_per_query"] = round((c1 - c0) * 1e6 / fig["completed"], 3) if fig.get("completed") else None
    fig["queries"] = CAA_QUERIES
    return fig


def healthz_status(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            head = s.recv(64)
    except OSError:
        return None
    parts = head.split(b" ", 2)
    return int(parts[1]) if len(parts) >= 2 and parts[1].isdigit() else None


class SecondOrchestrator:
    """A second orchestrator of our own beside the cluster's, from a copy of its config with
    another port, its own audit log and, when given, other `http` limits; started on creation,
    stopped on exit of the `with` (or by run.sh's trap if we are killed meanwhile)."""

    def __init__(self, cl, name, port, http=None, orchestrator=None):
        with open(f"{cl.state}/config/orchestrator.json") as f:
            cfg = json.load(f)
        orch = cfg["orchestrator"]
        orch["listen"] = f"127.0.0.1:{port}"
        orch["audit_log"]["path"] = f"{cl.state}/logs/audit-{name}.jsonl"
        if http:
            orch["http"] = {**orch.get("http", {}), **http}
        orch.update(orchestrator or {})
        self.config = f"{cl.state}/config/orchestrator-{name}.json"
        with open(self.config, "w") as f:
            json.dump(cfg, f, indent=2)
        if healthz_status(port) is not None:
            raise RuntimeError(f"127.0.0.1:{port} already answers: cannot start an orchestrator there")
        self.name, self.port, self.log = name, port, f"{cl.state}/logs/orchestrator-{name}.log"
        self.pidfile = f"{cl.state}/pids-bench/orchestrator-{name}.pid"
        os.makedirs(os.path.dirname(self.pidfile), exist_ok=True)
        with open(self.log, "ab") as logf:
            self.t0 = time.perf_counter()
            self.proc = subprocess.Popen([f"{cl.build}/mpic-orchestrator", "-c", self.config], stdout=logf, stderr=logf,
                                         stdin=subprocess.DEVNULL)
        with open(self.pidfile, "w") as f:
            f.write(f"{self.proc.pid}\n")

    def __enter__(self):
        return self

    def __exit__(self, *_):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.unlink(self.pidfile)
        for _ in range(200):   # the port free again, so that a next start measures a bind, not a retry
            if healthz_status(self.port) is None:
                break
            time.sleep(0.01)

    def ready(self):
        """Seconds from the launch to the first 200 on /healthz, polled every ms."""
        while True:
            if healthz_status(self.port) == 200:
                return time.perf_counter() - self.t0
            if self.proc.poll() is not None:
                raise RuntimeError(f"the {self.name} orchestrator exited ({self.proc.returncode}) during start-up; "
                                   f"see {self.log}")
            if time.perf_counter() - self.t0 > READY_CAP:
                raise RuntimeError(f"the {self.name} orchestrator gave no 200 on /healthz in {READY_CAP} s")
            time.sleep(0.001)


def ready_time(cl, port, runs):
    """Seconds from launching a second orchestrator (same config) to its first 200 on /healthz."""
    samples = []
    for _ in range(runs):
        with SecondOrchestrator(cl, "cold-start", port) as orch:
            samples.append(orch.ready())
    ordered = sorted(samples)
    return {"runs_ms": [round(s * 1000, 3) for s in samples], "median_ms": round(ordered[len(ordered) // 2] * 1000, 3)}


def http_limits(cl, config):
    """The orchestrator's connection and in-flight limits in force under a config, as `-t` prints them."""
    out = subprocess.run([f"{cl.build}/mpic-orchestrator", "-c", config, "-t"], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True).stdout
    m = re.search(r"at most (\d+) connections and (\d+) requests in flight", out)
    if m is None:
        raise RuntimeError(f"mpic-orchestrator -t printed no http limits for {config}:\n{out}")
    return {"max_connections": int(m[1]), "max_inflight": int(m[2])}


def open_files_limit(pid):
    with open(f"/proc/{pid}/limits") as f:
        line = next(line for line in f if line.startswith("Max open files"))
    return line.split()[3]   # the soft limit, a number or "unlimited"


def in_flight_step(cl, body_path, conns, seconds, port, agent_connections=None):
    """`conns` connections with a request in flight on each, against a second orchestrator whose
    http.max_inflight and max_connections admit them all (the cluster's keeps the defaults, which
    shed the excess with 503): what an operator expecting that many in flight would run."""
    # Room above the step's count: a connection's next request may come in before its answer
    # has left the count.
    room = conns + conns // 4
    raised = {k: room for k, v in http_limits(cl, f"{cl.state}/config/orchestrator.json").items() if v < room}
    other = {"agent_connections": agent_connections} if agent_connections else None
    with SecondOrchestrator(cl, "in-flight", port, raised, other) as orch:
        orch.ready()
        there = cl.with_orchestrator(port, orch.proc.pid)
        info = {"port": port, "http": http_limits(cl, orch.config), "raised": sorted(raised),
                "agent_connections": agent_connections or "default",
                "nofile_soft": open_files_limit(orch.proc.pid), "rss_idle_kib": rss_kib(orch.proc.pid)}
        run_load(there, body_path, 200, 16, 1)   # its agent connections and TLS sessions, as the cluster's has them
        r = run_load(there, body_path, 200, conns, seconds, sample_rss=True)
    r["orchestrator"] = info
    return r


def profile(cl, body_path, seconds, out_dir):
    """perf record -g of the orchestrator and one agent while a closed loop of 64 runs."""
    if shutil.which("perf") is None:
        log("perf not installed: no profile")
        return None
    agent = "agent-us-east-1" if "agent-us-east-1" in cl.agents else cl.agents[0]
    recs = {}
    for name in ("orchestrator", agent):
        data = f"{out_dir}/perf-{name}.data"
        recs[name] = (data, subprocess.Popen(["perf", "record", "-g", "-F", "999", "-o", data, "-p",
                                              str(cl.pids[name]), "--", "sleep", str(seconds)],
                                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True))
    time.sleep(0.3)
    load = run_load(cl, body_path, 200, 64, seconds)
    out = {"load": {k: load[k] for k in ("completed", "throughput_rps", "latency_ms")}}
    for name, (data, p) in recs.items():
        _, err = p.communicate()
        if p.returncode != 0 or not os.path.exists(data):
            log(f"perf record of {name} failed: {err.strip()[-300:]}")
            continue
        txt, top = f"{out_dir}/perf-{name}.txt", {}
        with open(txt, "w") as f:
            for sort, fields, limit in (("by_library", "overhead,dso", "0.5"), ("by_function", "overhead,dso,sym", "0.7")):
                rep = subprocess.run(["perf", "report", "--stdio", "--no-children", "-g", "none", "--percent-limit",
                                      limit, "-F", fields, "-i", data], stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True)
                rows = [line.strip() for line in rep.stdout.splitlines() if line.strip() and not line.startswith("#")]
                rows.sort(key=lambda line: -float(line.split("%")[0]))
                top[sort] = rows
                f.write(f"# {name}, CPU samples {sort.replace('_', ' ')} (perf report -F {fields})\n")
                f.write("\n".join(rows) + "\n\n")
        out[name] = {"data": data, "report": txt, "top": {k: v[:15] for k, v in top.items()}}
    return out


def plot(steps, png):
    """Latency percentiles against offered load, with gnuplot (gnuplot-nox)."""
    if shutil.which("gnuplot") is None:
        log("gnuplot not installed (scripts/setup.sh --test-deps): no plot")
        return None
    dat = os.path.splitext(png)[0] + ".dat"
    with open(dat, "w") as f:
        f.write("# offered_rps achieved_rps p50_ms p90_ms p99_ms p99_9_ms\n")
        for s in steps:
            l = s["latency_ms"]
            if l["p50"] is not None:
                f.write(f"{s['rate']} {s['throughput_rps']} {l['p50']} {l['p90']} {l['p99']} {l['p99_9']}\n")
    script = f"""set terminal pngcairo size 900,560 font ",11"
set output "{png}"
set title "mpic: CAA check latency against offered load (open loop, 6 perspectives)"
set xlabel "offered load (requests/s)"
set ylabel "latency (ms)"
set logscale xy
set grid
set key top left
set arrow from graph 0, first 10 to graph 1, first 10 nohead dashtype 2 lc rgb "gray40"
set label "target p99 10 ms" at graph 0.02, first 12 tc rgb "gray40"
plot "{dat}" using 1:3 with linespoints lw 2 title "p50", \\
     "{dat}" using 1:4 with linespoints lw 2 title "p90", \\
     "{dat}" using 1:5 with linespoints lw 2 title "p99", \\
     "{dat}" using 1:6 with linespoints lw 1 dashtype 3 title "p99.9"
"""
    r = subprocess.run(["gnuplot"], input=script, text=True, stderr=subprocess.PIPE)
    if r.returncode != 0:
        raise RuntimeError(f"gnuplot failed: {r.stderr.strip()}")
    return png


def ratio(a, b, digits=3):
    return round(a / b, digits) if a is not None and b else None


def fmt(v, width, digits=1):
    return f"{'-' if v is None else f'{v:.{digits}f}':>{width}}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("state")
    ap.add_argument("build")
    ap.add_argument("results")
    ap.add_argument("--smoke", action="store_true")
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--plot")
    args = ap.parse_args()
    sys.stdout.reconfigure(line_buffering=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))   # unwind: the cold-start orchestrator stops
    plan = SMOKE if args.smoke else FULL
    cl = Cluster(args.state, args.build)
    out_dir = os.path.dirname(os.path.abspath(args.results))
    started = time.time()
    failed = []

    # A correctness probe before any load: the check is valid and asks as many perspectives as we count.
    status, reply = cl.post(CAA)
    if status != 200 or reply.get("is_valid") is not True:
        raise RuntimeError(f"the CAA probe got {status}: {json.dumps(reply)[:500]}")
    perspectives = len(reply.get("perspectives") or []) or len(cl.agents)
    caa = cl.body_file("caa", CAA)
    rss_idle = {n: rss_kib(p) for n, p in cl.pids.items()}

    # Steady state, as a running service has it: the resolver's cache full and the orchestrator's
    # connections to its agents open (at the highest concurrency the pool grows to its size; each
    # new connection is a TLS handshake on both ends, a one-off cost that would otherwise fall on
    # whichever step first needs more connections). Its figures are reported apart.
    top = max(plan["closed_concurrency"])
    log(f"warm-up (resolver caches, agent connections): {top} connections, 2 s")
    warm = run_load(cl, caa, 200, top, 2)

    closed = []
    for c in plan["closed_concurrency"]:
        log(f"closed loop, CAA, {c} connections, {plan['closed_s']} s")
        r = run_load(cl, caa, 200, c, plan["closed_s"])
        closed.append(r)

    opened = []
    for rate in plan["open_rates"]:
        log(f"open loop, CAA, {rate} req/s offered, {plan['open_s']} s")
        r = run_load(cl, caa, 200, plan["open_connections"], plan["open_s"], rate=rate)
        r["saturated"] = r["throughput_rps"] < 0.9 * rate or r["unsent"] > 0.01 * rate * plan["open_s"]
        opened.append(r)
        if r["saturated"] and rate >= 1000:   # 1000 is a target's rate: always measured
            break

    extra = {}
    for name, body, expect, c in plan["extra"]:
        log(f"closed loop, {name}, {c} connections, {plan['extra_s']} s")
        extra[f"{name}-c{c}"] = run_load(cl, cl.body_file(name, body), expect, c, plan["extra_s"])

    log(f"{plan['in_flight']} connections, one CAA request in flight on each, {plan['in_flight_s']} s, against "
        f"an orchestrator of our own that admits them (port {cl.port + 11})")
    in_flight = in_flight_step(cl, caa, plan["in_flight"], plan["in_flight_s"], cl.port + 11)
    # Each call running to an agent holds a connection; the default (64 per agent) is sized for
    # round trips between regions, docs/config.md sizes one machine or a LAN at 16: measured too.
    log(f"the same with orchestrator.agent_connections {LAN_AGENT_CONNECTIONS}")
    in_flight_lan = in_flight_step(cl, caa, plan["in_flight"], plan["in_flight_s"], cl.port + 11,
                                   LAN_AGENT_CONNECTIONS)

    log("resolver alone (dnsperf)")
    dns = resolver_alone(cl, plan["dns_s"], cl.bodies)
    log("ready time")
    ready = ready_time(cl, cl.port + 10, plan["ready_runs"])
    prof = None
    if args.profile:
        log(f"profiles (perf record -g, {plan['profile_s']} s, 64 connections)")
        prof = profile(cl, caa, plan["profile_s"], out_dir)
    png = plot(opened, args.plot) if args.plot else None

    for r in [warm] + closed + opened + list(extra.values()) + [in_flight, in_flight_lan]:
        if r["failed"]:
            failed.append(f"{r['mode']} c{r['connections']} r{r['rate']}: status {r['wrong_status']} errors {r['errors']}")

    # The ratios of issue 9 item 4.
    best = max(closed, key=lambda r: r["throughput_rps"])
    at256 = next((r for r in closed if r["connections"] == 256), None)
    at1000 = next((r for r in opened if r["rate"] == 1000), None)
    p99_over_p50 = {r["connections"]: ratio(r["latency_ms"]["p99"], r["latency_ms"]["p50"], 2) for r in closed}
    # CPU per request of the daemons: from the closed-loop run at 16 (busy, not overloaded).
    steady = next((r for r in closed if r["connections"] == 16), best)
    cpu = steady["cpu_ms_per_request"]
    daemons_cpu_ms = cpu["orchestrator"] + cpu["agents_total"] if cpu["orchestrator"] is not None else None
    unbound_q_ms = dns["unbound_cpu_us_per_query"] / 1000 if dns and dns.get("unbound_cpu_us_per_query") else None
    agents_rss = {a: in_flight["peak_rss_kib"][a] for a in cl.agents}
    agents_rss_lan = {a: in_flight_lan["peak_rss_kib"][a] for a in cl.agents}
    figures = {
        "mpic_over_resolver": ratio(best["throughput_rps"] * perspectives, dns["qps"] if dns else None),
        "p99_ms_at_1000": at1000["latency_ms"]["p99"] if at1000 else None,
        "p99_over_p50_worst": max((v for v in p99_over_p50.values() if v is not None), default=None),
        "throughput_256_over_best": ratio(at256["throughput_rps"], best["throughput_rps"]) if at256 else None,
        "cpu_over_unbound_6q": ratio(daemons_cpu_ms, 6 * unbound_q_ms if unbound_q_ms else None, 2),
        "orchestrator_rss_mib_in_flight": round(in_flight_lan["peak_rss_kib"]["orchestrator"] / 1024, 1),
        "orchestrator_rss_mib_in_flight_default": round(in_flight["peak_rss_kib"]["orchestrator"] / 1024, 1),
        "agent_rss_mib_max": round(max(agents_rss_lan.values()) / 1024, 1),
        "agent_rss_mib_max_default": round(max(agents_rss.values()) / 1024, 1),
        "ready_ms": ready["median_ms"],
    }
    verdict = {}
    for k, (op, limit) in TARGETS.items():
        v = figures[k]
        verdict[k] = None if v is None else (v >= limit if op == ">=" else v <= limit)

    doc = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)), "smoke": args.smoke,
        "machine": {"cpus": os.cpu_count(), "loadavg_at_end": os.getloadavg(), "kernel": platform.release()},
        "build": args.build, "agents": len(cl.agents), "perspectives": perspectives,
        "warm_up": warm, "closed_loop_caa": closed, "open_loop_caa": opened, "other_checks": extra, "in_flight": in_flight,
        "in_flight_agent_connections_lan": in_flight_lan, "resolver_alone": dns, "ready": ready, "rss_idle_kib": rss_idle, "profile": prof,
        "p99_over_p50_by_concurrency": p99_over_p50,
        "unbound_cpu_us_per_mpic_request": round(steady["cpu_ms_per_request"]["unbound"] * 1000, 2)
        if steady["cpu_ms_per_request"]["unbound"] is not None else None,
        "figures": figures, "targets": {k: {"op": op, "limit": lim, "met": verdict[k]} for k, (op, lim) in TARGETS.items()},
        "plot": png, "failed": failed,
    }
    with open(args.results, "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")

    la = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"\nmpic bench{' (smoke)' if args.smoke else ''}, {doc['when']}, {os.cpu_count()} CPUs, load average "
          f"at end {la}, {len(cl.agents)} agents, {perspectives} perspectives per CAA check, build {args.build}")
    head = f"{'req/s':>9} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'p99.9 ms':>9} {'max ms':>8}"
    line = lambda r: (f"{fmt(r['throughput_rps'], 9)} {fmt(r['latency_ms']['p50'], 8, 2)} "
                      f"{fmt(r['latency_ms']['p90'], 8, 2)} {fmt(r['latency_ms']['p99'], 8, 2)} "
                      f"{fmt(r['latency_ms']['p99_9'], 9, 2)} {fmt(r['latency_ms']['max'], 8, 2)}")
    bad = lambda r: "" if not r["failed"] else f"  FAILED: status {r['wrong_status']} errors {r['errors']}"
    print(f"\nwarm-up, {top} connections, 2 s (the orchestrator opens its agent connections): "
          f"{warm['throughput_rps']:.0f} req/s, p50 {warm['latency_ms']['p50']} ms, p99 {warm['latency_ms']['p99']} ms, "
          f"max {warm['latency_ms']['max']} ms{bad(warm)}")
    print(f"\nclosed loop, CAA ({plan['closed_s']} s each)\n{'conns':>6} {'done':>7} {head} {'p99/p50':>8} "
          f"{'orch CPU ms/req':>15} {'agents CPU ms/req':>17}")
    for r in closed:
        cpu_r = r["cpu_ms_per_request"]
        print(f"{r['connections']:>6} {r['completed']:>7} {line(r)} {fmt(p99_over_p50[r['connections']], 8, 2)} "
              f"{fmt(cpu_r['orchestrator'], 15, 3)} {fmt(cpu_r['agents_total'], 17, 3)}{bad(r)}")
    print(f"\nopen loop, CAA ({plan['open_s']} s each, {plan['open_connections']} connections; latency from the "
          f"scheduled send)\n{'offered':>7} {'done':>7} {'unsent':>7} {head}")
    for r in opened:
        sat = "  saturated" if r["saturated"] else ""
        print(f"{r['rate']:>7.0f} {r['completed']:>7} {r['unsent']:>7} {line(r)}{sat}{bad(r)}")
    print(f"\nother checks, closed loop ({plan['extra_s']} s each)\n{'check':<12} {'done':>7} {head}")
    for name, r in extra.items():
        print(f"{name:<12} {r['completed']:>7} {line(r)}{bad(r)}")
    fo = in_flight["orchestrator"]
    print(f"\n{plan['in_flight']} connections with a request in flight each, against a second orchestrator (port "
          f"{fo['port']}, http.max_inflight {fo['http']['max_inflight']}, max_connections "
          f"{fo['http']['max_connections']}, soft RLIMIT_NOFILE {fo['nofile_soft']}): {in_flight['completed']} done, "
          f"statuses {in_flight['status']}, {line(in_flight).split()[0]} req/s, p50 "
          f"{in_flight['latency_ms']['p50']} ms, p99 {in_flight['latency_ms']['p99']} ms{bad(in_flight)}")
    print(f"  peak RSS: orchestrator {in_flight['peak_rss_kib']['orchestrator']} KiB (idle {fo['rss_idle_kib']}),"
          f" agents {min(agents_rss.values())}..{max(agents_rss.values())} KiB; orchestrator's open descriptors at"
          f" most {in_flight['peak_open_files_orchestrator']}")
    print(f"  with orchestrator.agent_connections {LAN_AGENT_CONNECTIONS}: {in_flight_lan['completed']} done, statuses "
          f"{in_flight_lan['status']}, p50 {in_flight_lan['latency_ms']['p50']} ms; peak RSS orchestrator "
          f"{in_flight_lan['peak_rss_kib']['orchestrator']} KiB, agents {min(agents_rss_lan.values())}.."
          f"{max(agents_rss_lan.values())} KiB{bad(in_flight_lan)}")
    anon = in_flight_lan["peak_rss_anon_kib"]
    print(f"  of which the process's own (RssAnon; the rest is shared-library pages): orchestrator "
          f"{anon['orchestrator']} KiB, agents {min(anon[a] for a in cl.agents)}..{max(anon[a] for a in cl.agents)} KiB")
    if dns:
        print(f"\nresolver alone (dnsperf, {plan['dns_s']} s, {' + '.join(CAA_QUERIES)}, DO bit): {dns['qps']:.0f} "
              f"queries/s, {dns.get('lost', 0):.0f} lost, rcodes {dns.get('rcodes')}, unbound "
              f"{dns['unbound_cpu_us_per_query']} µs CPU per query")
    print(f"unbound CPU per MPIC CAA request (closed loop, 16): {doc['unbound_cpu_us_per_mpic_request']} µs; "
          f"orchestrator {cpu['orchestrator']} ms, agents {cpu['agents_total']} ms")
    print(f"ready (exec to first 200 on /healthz): median {ready['median_ms']:.1f} ms of {len(ready['runs_ms'])}")
    if prof:
        for name in [k for k in prof if k != "load"]:
            print(f"\nprofile of {name} (perf report --no-children, {prof[name]['report']}):")
            print("  by library:  " + ";  ".join(" ".join(t.split()) for t in prof[name]["top"]["by_library"][:6]))
            for t in prof[name]["top"]["by_function"][:8]:
                print(f"  {t}")

    labels = {
        "mpic_over_resolver": f"MPIC CAA req/s x {perspectives} / resolver queries/s",
        "p99_ms_at_1000": "p99 (ms) at an offered 1000 req/s",
        "p99_over_p50_worst": "p99 / p50, worst concurrency 1..256",
        "throughput_256_over_best": "throughput at 256 / best",
        "cpu_over_unbound_6q": "orch+agents CPU per req / unbound CPU x 6",
        "orchestrator_rss_mib_in_flight": f"orchestrator RSS (MiB), {plan['in_flight']} in flight, "
                                          f"agent_connections {LAN_AGENT_CONNECTIONS}",
        "agent_rss_mib_max": "largest agent RSS (MiB), same step",
        "ready_ms": "ready after start (ms)",
    }
    print("\nissue 9 targets (reported, not asserted)")
    for k, label in labels.items():
        op, limit = TARGETS[k]
        met = {True: "met", False: "NOT MET", None: "-"}[verdict[k]]
        print(f"  {label:<46} {fmt(figures[k], 9, 3)}   target {op} {limit:<6} {met}")
    if png:
        print(f"\nplot: {png}")
    print(f"results: {args.results}")
    if failed:
        for f_ in failed:
            log(f"requests failed: {f_}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
