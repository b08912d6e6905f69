#!/usr/bin/python3
"""Measure a running local cluster (bench/run.sh starts it): throughput and latency per scenario,
orchestrator cold start, RSS before and after the load; print a table and ratios computed within
this one run, and write them as JSON.

    bench.py STATE_DIR BUILD_DIR RESULTS_JSON [--requests N] [--cap SECONDS]

Exit status: 0 when every request got the status it should (200, or 400 for the bad request),
1 when some did not. Times are reported, never judged: this is a benchmark, not a test.
"""

import argparse
import http.client
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import threading
import time

CAA = {"check_type": "caa", "domain_or_ip_target": "example.test"}
DCV = {"check_type": "dcv", "domain_or_ip_target": "dcv.example.test",
       "dcv_check_parameters": {"validation_method": "acme-dns-01",
                                "key_authorization_hash": "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0"}}
# Two problems the orchestrator must find before it calls any agent: validation cost only.
BAD = {"check_type": "caa", "domain_or_ip_target": "exa mple..test",
       "orchestration_parameters": {"perspective_count": 1}}

SCENARIOS = [  # (name, body, expected status, concurrency)
    ("caa-c1", CAA, 200, 1), ("caa-c16", CAA, 200, 16),
    ("dcv-c1", DCV, 200, 1), ("dcv-c16", DCV, 200, 16),
    ("bad400-c1", BAD, 400, 1), ("bad400-c16", BAD, 400, 16),
]
COLD_START_RUNS = 5
COLD_START_CAP = 15.0   # seconds one start may take before we give up on it
TICKS = os.sysconf("SC_CLK_TCK")


def percentile(sorted_values, p):
    """Nearest-rank percentile of an ascending list (None when empty)."""
    if not sorted_values:
        return None
    rank = max(1, -(-len(sorted_values) * p // 100))   # ceil(n * p / 100)
    return sorted_values[int(rank) - 1]


def proc_status(pid):
    """VmRSS and VmHWM of a process, in KiB."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0])
    return out


def proc_cpu_seconds(pid):
    """User plus system CPU time of a process so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS   # utime, stime (fields 14, 15)


class Client:
    """One keep-alive connection; reconnects when the server closed it."""

    def __init__(self, port, key):
        self.port, self.conn = port, None
        self.headers = {"x-api-key": key, "Content-Type": "application/json"}

    def post(self, payload):
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            try:
                self.conn.request("POST", "/v1/mpic", body=payload, headers=self.headers)
                resp = self.conn.getresponse()
                body = resp.read()
                if resp.getheader("Connection", "").lower() == "close":
                    self.close()
                return resp.status, body
            except (http.client.HTTPException, OSError):
                self.close()
                # A kept-alive connection the server already closed fails on first use: retry once
                # on a fresh one; a fresh connection failing is a real failure.
                if attempt == 1:
                    raise
        raise AssertionError("unreachable")

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def run_scenario(port, key, body, expect, concurrency, count, cap, pids):
    payload = json.dumps(body).encode()
    lock = threading.Lock()
    state = {"next": 0, "latencies": [], "bad_status": {}, "errors": [], "not_valid": 0}
    deadline = time.monotonic() + cap

    def worker():
        client = Client(port, key)
        try:
            while True:
                with lock:
                    if state["next"] >= count or time.monotonic() >= deadline:
                        return
                    state["next"] += 1
                t0 = time.perf_counter()
                try:
                    status, reply = client.post(payload)
                except (http.client.HTTPException, OSError) as e:
                    with lock:
                        state["errors"].append(repr(e))
                    continue
                dt = time.perf_counter() - t0
                with lock:
                    state["latencies"].append(dt)
                    if status != expect:
                        state["bad_status"][status] = state["bad_status"].get(status, 0) + 1
                    elif status == 200 and json.loads(reply).get("is_valid") is not True:
                        state["not_valid"] += 1
        finally:
            client.close()

    cpu0 = {name: proc_cpu_seconds(pid) for name, pid in pids.items()}
    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    cpu = {name: proc_cpu_seconds(pid) - cpu0[name] for name, pid in pids.items()}

    lat = sorted(state["latencies"])
    done = len(lat)
    ms = lambda v: None if v is None else round(v * 1000, 3)
    return {
        "concurrency": concurrency, "requested": count, "completed": done,
        "capped": done + len(state["errors"]) < count,
        "expected_status": expect, "wrong_status": state["bad_status"], "errors": state["errors"][:5],
        "error_count": len(state["errors"]), "not_valid": state["not_valid"],
        "elapsed_s": round(elapsed, 3), "throughput_rps": round(done / elapsed, 2) if elapsed else None,
        "p50_ms": ms(percentile(lat, 50)), "p90_ms": ms(percentile(lat, 90)), "p99_ms": ms(percentile(lat, 99)),
        "max_ms": ms(lat[-1] if lat else None),
        "cpu_ms_per_request": {n: round(c * 1000 / done, 3) if done else None for n, c in cpu.items()},
    }


def healthz_status(port):
    """Status of GET /healthz, or None when nothing answers yet."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            head = s.recv(64)
    except OSError:
        return None
    parts = head.split(b" ", 2)
    return int(parts[1]) if len(parts) >= 2 and parts[1].isdigit() else None


def cold_start(build, state, port):
    """Seconds from launching a second orchestrator (same config, another port and audit log)
    to its first 200 on /healthz, COLD_START_RUNS times."""
    with open(f"{state}/config/orchestrator.json") as f:
        cfg = json.load(f)
    cfg["orchestrator"]["listen"] = f"127.0.0.1:{port}"
    cfg["orchestrator"]["audit_log"]["path"] = f"{state}/logs/audit-cold-start.jsonl"
    path = f"{state}/config/orchestrator-cold-start.json"
    with open(path, "w") as f:
        json.dump(cfg, f, indent=2)
    if healthz_status(port) is not None:
        raise RuntimeError(f"127.0.0.1:{port} already answers: cannot measure a cold start there")
    samples = []
    pidfile = f"{state}/pids-bench/orchestrator-cold-start.pid"
    os.makedirs(os.path.dirname(pidfile), exist_ok=True)
    for i in range(COLD_START_RUNS):
        with open(f"{state}/logs/orchestrator-cold-start.log", "ab") as log:
            t0 = time.perf_counter()
            proc = subprocess.Popen([f"{build}/mpic-orchestrator", "-c", path], stdout=log, stderr=log,
                                    stdin=subprocess.DEVNULL)
        with open(pidfile, "w") as f:
            f.write(f"{proc.pid}\n")   # run.sh's trap stops it if we are killed meanwhile
        try:
            while True:
                if healthz_status(port) == 200:
                    samples.append(time.perf_counter() - t0)
                    break
                if proc.poll() is not None:
                    raise RuntimeError(f"the second orchestrator exited ({proc.returncode}) during start-up; "
                                       f"see {state}/logs/orchestrator-cold-start.log")
                if time.perf_counter() - t0 > COLD_START_CAP:
                    raise RuntimeError(f"the second orchestrator gave no 200 on /healthz in {COLD_START_CAP} s")
                time.sleep(0.001)
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            os.unlink(pidfile)
        # The port must be free again before the next start measures a bind, not a retry.
        for _ in range(200):
            if healthz_status(port) is None:
                break
            time.sleep(0.01)
    ordered = sorted(samples)
    return {"runs_ms": [round(s * 1000, 3) for s in samples],
            "median_ms": round(ordered[len(ordered) // 2] * 1000, 3), "min_ms": round(ordered[0] * 1000, 3)}


def ratio(a, b):
    return round(a / b, 3) if a is not None and b else None


def fmt(v, width, digits=1):
    return f"{'-' if v is None else f'{v:.{digits}f}':>{width}}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("state")
    ap.add_argument("build")
    ap.add_argument("results")
    ap.add_argument("--requests", type=int, default=300)
    ap.add_argument("--cap", type=float, default=20.0, help="hard time cap per scenario, seconds")
    args = ap.parse_args()
    sys.stdout.reconfigure(line_buffering=True)   # the table and the progress lines in order
    # run.sh stops us with SIGTERM when it is interrupted: unwind, so that the cold-start
    # orchestrator is stopped by its finally.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    env = dict(line.strip().split("=", 1) for line in open(f"{args.state}/cluster.env") if "=" in line)
    port = int(env["MPIC_URL"].rsplit(":", 1)[1])
    key = env["MPIC_API_KEY"]
    pid = lambda name: int(open(f"{args.state}/pids/{name}.pid").read())
    agents = sorted(f[:-4] for f in os.listdir(f"{args.state}/pids") if f.startswith("agent-"))
    first_agent = "agent-us-east-1" if "agent-us-east-1" in agents else agents[0]
    pids = {"orchestrator": pid("orchestrator"), **{a: pid(a) for a in agents}}

    mem = {"before": {n: proc_status(p) for n, p in pids.items()}}
    # Warm-up, not measured: the resolvers' caches, and the working set of 16 requests in flight,
    # so that RSS after / after warm-up shows growth with the request count (a leak), apart from
    # the one-time growth to the concurrent working set that RSS after / before includes.
    for _, body, expect, conc in SCENARIOS:
        run_scenario(port, key, body, expect, conc, 2 * conc, args.cap, {})
    mem["warm"] = {n: proc_status(p) for n, p in pids.items()}

    results, started = {}, time.time()
    for name, body, expect, conc in SCENARIOS:
        print(f"bench: {name} ({args.requests} requests, concurrency {conc}, cap {args.cap:.0f} s)",
              file=sys.stderr, flush=True)
        results[name] = run_scenario(port, key, body, expect, conc, args.requests, args.cap,
                                     {"orchestrator": pids["orchestrator"], "agent": pids[first_agent]})
        results[name]["rss_kib_after"] = {"orchestrator": proc_status(pids["orchestrator"])["VmRSS"],
                                          "agent": proc_status(pids[first_agent])["VmRSS"]}
    mem["after"] = {n: proc_status(p) for n, p in pids.items()}
    print("bench: cold start", file=sys.stderr, flush=True)
    cold = cold_start(args.build, args.state, port + 10)

    r = results
    orch, agent = "orchestrator", first_agent
    ratios = {
        "caa_throughput_c16_over_c1": ratio(r["caa-c16"]["throughput_rps"], r["caa-c1"]["throughput_rps"]),
        "dcv_throughput_c16_over_c1": ratio(r["dcv-c16"]["throughput_rps"], r["dcv-c1"]["throughput_rps"]),
        "bad400_throughput_c16_over_c1": ratio(r["bad400-c16"]["throughput_rps"], r["bad400-c1"]["throughput_rps"]),
        "dcv_p50_over_caa_p50": ratio(r["dcv-c1"]["p50_ms"], r["caa-c1"]["p50_ms"]),
        "bad400_p50_over_caa_p50": ratio(r["bad400-c1"]["p50_ms"], r["caa-c1"]["p50_ms"]),
        "orchestrator_rss_after_over_before": ratio(mem["after"][orch]["VmRSS"], mem["before"][orch]["VmRSS"]),
        "agent_rss_after_over_before": ratio(mem["after"][agent]["VmRSS"], mem["before"][agent]["VmRSS"]),
        "orchestrator_rss_after_over_warm": ratio(mem["after"][orch]["VmRSS"], mem["warm"][orch]["VmRSS"]),
        "agent_rss_after_over_warm": ratio(mem["after"][agent]["VmRSS"], mem["warm"][agent]["VmRSS"]),
        "cold_start_over_caa_p50": ratio(cold["median_ms"], r["caa-c1"]["p50_ms"]),
    }

    failed = {n: s for n, s in r.items() if s["wrong_status"] or s["error_count"]}
    doc = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "machine": {"cpus": os.cpu_count(), "loadavg_at_end": os.getloadavg(), "kernel": platform.release()},
        "build": args.build, "agents": len(agents), "agent_measured": agent,
        "requests_per_scenario": args.requests, "cap_s_per_scenario": args.cap,
        "scenarios": r, "cold_start": cold, "memory_kib": mem, "ratios": ratios,
        "failed_scenarios": sorted(failed),
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.results)), exist_ok=True)
    with open(args.results, "w") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")

    print(f"\nmpic bench, {doc['when']}, {os.cpu_count()} CPUs, load average at end "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}, {len(agents)} agents, build {args.build}")
    print(f"\n{'scenario':<11} {'conc':>4} {'done':>5} {'req/s':>8} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} "
          f"{'max ms':>8} {'orch CPU ms/req':>15} {'agent CPU ms/req':>16}")
    for name, s in r.items():
        cpu = s["cpu_ms_per_request"]
        flag = "" if not (s["wrong_status"] or s["error_count"]) else \
            f"  FAILED: status {s['wrong_status']} errors {s['error_count']}"
        flag += "" if not s["not_valid"] else f"  ({s['not_valid']} not is_valid)"
        flag += "" if not s["capped"] else "  (time cap reached)"
        print(f"{name:<11} {s['concurrency']:>4} {s['completed']:>5} {fmt(s['throughput_rps'], 8)} "
              f"{fmt(s['p50_ms'], 8, 2)} {fmt(s['p90_ms'], 8, 2)} {fmt(s['p99_ms'], 8, 2)} {fmt(s['max_ms'], 8, 2)} "
              f"{fmt(cpu.get('orchestrator'), 15, 3)} {fmt(cpu.get('agent'), 16, 3)}{flag}")
    print(f"\ncold start (launch to first 200 on /healthz): median {cold['median_ms']:.1f} ms, "
          f"min {cold['min_ms']:.1f} ms over {len(cold['runs_ms'])} starts")
    print(f"\n{'memory (KiB)':<24} {'RSS before':>10} {'RSS warm':>9} {'RSS after':>9} {'HWM after':>9}")
    for n in (orch, agent):
        print(f"{n:<24} {mem['before'][n]['VmRSS']:>10} {mem['warm'][n]['VmRSS']:>9} "
              f"{mem['after'][n]['VmRSS']:>9} {mem['after'][n]['VmHWM']:>9}")

    labels = [
        ("caa_throughput_c16_over_c1", "CAA throughput, concurrency 16 / 1"),
        ("dcv_throughput_c16_over_c1", "DCV throughput, concurrency 16 / 1"),
        ("bad400_throughput_c16_over_c1", "400 throughput, concurrency 16 / 1"),
        ("dcv_p50_over_caa_p50", "DCV p50 / CAA p50"),
        ("bad400_p50_over_caa_p50", "400 p50 / CAA p50"),
        ("orchestrator_rss_after_over_before", "orchestrator RSS after / before"),
        ("agent_rss_after_over_before", f"agent RSS after / before ({agent[6:]})"),
        ("orchestrator_rss_after_over_warm", "orchestrator RSS after / after warm-up"),
        ("agent_rss_after_over_warm", "agent RSS after / after warm-up"),
        ("cold_start_over_caa_p50", "cold start / CAA p50"),
    ]
    print("\nratios (within this run)")
    for k, label in labels:
        print(f"  {label:<42} {fmt(ratios[k], 8, 3)}")
    print(f"\nresults: {args.results}")
    if failed:
        print(f"bench: requests failed in {', '.join(sorted(failed))}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
