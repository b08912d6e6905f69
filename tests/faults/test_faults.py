"""Fault injection under load: a local cluster of its own (port 18800, lab 127.0.80.1) answers a
steady stream of CAA and DCV requests (four client threads, at most ~20 requests/s) while the tests
break it, one fault after the other, in file order: agents killed, hung, replaced by agents that
answer garbage, 10 MB or one byte at a time, agents whose resolver answers SERVFAIL or nothing,
the orchestrator restarted, the audit disk full.

Every request of the stream is checked (check_answers, after each fault and once more at the end):
- answered within the orchestrator's request deadline (+ slack), or, only while the orchestrator
  is being restarted, a connection error;
- a 200 body matches the spec, and its is_valid is what the quorum rule gives for the perspectives
  that really passed (passing >= quorum_count and, under cabf-br, at least two RIRs among them);
  a perspective that is down, hung or lying never counts as passing;
- a 500 only while the audit log cannot be written, with error audit-log-failure;
- each answered 200 has its mpic_request record in the audit log, and the log has no torn line;
- after a fault ends, the agents it touched pass again without an orchestrator restart;
- at the end every daemon is alive, and no daemon log holds a sanitizer report (stop_cluster).

docs/reliability.md has the table of faults and what they do.
Run: /usr/bin/python3 -m pytest -p no:cacheprovider tests/faults  (MPIC_BUILD_DIR as for tests/integration).
"""
import importlib.util
import itertools
import json
import os
import pathlib
import resource
import signal
import subprocess
import sys
import threading
import time

import pytest
import requests

HERE = pathlib.Path(__file__).resolve().parent
INTEGRATION = HERE.parent / "integration"
sys.path.insert(0, str(INTEGRATION))
_spec = importlib.util.spec_from_file_location("mpic_it", INTEGRATION / "conftest.py")
it = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(it)

PORT, LAB_IP = 18800, "127.0.80.1"
PERSPECTIVE_TIMEOUT_MS, REQUEST_TIMEOUT_MS = 4000, 10000
SLACK_S = 2.5                      # sanitizer build, two cores, loopback
THREADS, PAUSE_S = 4, 0.2          # at most THREADS / PAUSE_S = 20 requests/s
BACK_WITHIN_S = 15                 # a repaired agent passes again within this
HOLD_EXTRA_S = 3 * PERSPECTIVE_TIMEOUT_MS / 1000   # how far hold() may stretch a fault's window
H = "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0"
REQUESTS = [   # (kind, body); example.test and dcv.example.test pass, deny.example.test does not
    ("caa-ok", {"check_type": "caa", "domain_or_ip_target": "example.test"}),
    ("caa-deny", {"check_type": "caa", "domain_or_ip_target": "deny.example.test"}),
    ("dcv-ok", {"check_type": "dcv", "domain_or_ip_target": "dcv.example.test",
                "dcv_check_parameters": {"validation_method": "acme-dns-01", "key_authorization_hash": H}}),
]


class Load:
    """THREADS clients sending REQUESTS in turn, each on a fresh connection, recording everything."""

    def __init__(self, cluster):
        self.cluster = cluster
        self.records = []          # dicts: t0, t1, kind, trace, status, body, error
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.seq = itertools.count()
        self.threads = [threading.Thread(target=self.run, args=(i,), daemon=True) for i in range(THREADS)]
        for t in self.threads:
            t.start()

    def run(self, i):
        while not self.stop.is_set():
            n = next(self.seq)
            kind, body = REQUESTS[n % len(REQUESTS)]
            trace = f"fault-{n}"
            rec = {"kind": kind, "trace": trace, "status": None, "body": None, "error": None}
            rec["t0"] = time.monotonic()
            try:
                r = requests.post(self.cluster.url + "/v1/mpic", data=json.dumps(dict(body, trace_identifier=trace)),
                                  headers={"x-api-key": self.cluster.api_key, "Content-Type": "application/json",
                                           "Connection": "close"},
                                  timeout=REQUEST_TIMEOUT_MS / 1000 + 10)
                rec["status"] = r.status_code
                try:
                    rec["body"] = it.parse_json(r.text)
                except ValueError:
                    rec["body"] = r.text[:2000]
            except requests.RequestException as e:
                rec["error"] = f"{type(e).__name__}: {e}"
            rec["t1"] = time.monotonic()
            with self.lock:
                self.records.append(rec)
            self.stop.wait(PAUSE_S)

    def since(self, t):
        with self.lock:
            return [r for r in self.records if r["t0"] >= t]

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join(timeout=REQUEST_TIMEOUT_MS / 1000 + 15)


class Faults:
    """The cluster, its load, and what was done to it: windows in which connection errors (an
    orchestrator restart) or 500s (an unwritable audit log) are allowed, and windows in which
    given perspectives must never pass."""

    def __init__(self, cluster):
        self.c = cluster
        cfg = json.loads((cluster.state / "config" / "orchestrator.json").read_text())
        self.rir = {p["code"]: p["rir"] for p in cfg["perspectives"]}
        self.policy = cfg["orchestrator"]["policy"]
        self.restarts = []          # (from, to): no orchestrator listening
        self.audit_down = []        # (from, to): audit log unwritable
        self.broken = []            # (from, to, codes): these never pass
        self.checked = 0
        self.popen = []             # processes this module started (fake agents)
        self.fakes = {}             # code -> fake agent serving its port now
        self.odd_agents = set()     # codes running a config other than their own
        self.odd_orchestrator = False

    # ---- processes ------------------------------------------------------------------------
    def agent_config(self, code):
        return self.c.state / "config" / f"agent-{code}.json"

    def start_daemon(self, name, binary, config, fsize=None):
        """As local-cluster.sh starts one (setsid, log in STATE/logs, pid in STATE/pids), but the log
        is appended to, so what an earlier run of the daemon wrote stays for the sanitizer check.
        With fsize, RLIMIT_FSIZE is set and the log goes through a pipe (the limit holds for the
        log file too)."""
        log = open(self.c.state / "logs" / f"{name}.log", "ab")
        def limit():
            if fsize is not None:
                resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
        p = subprocess.Popen([str(it.build_dir() / binary), "-c", str(config)], stdin=subprocess.DEVNULL,
                             stdout=log if fsize is None else subprocess.PIPE, stderr=subprocess.STDOUT,
                             start_new_session=True, preexec_fn=limit)
        if fsize is not None:
            def copy(src=p.stdout, dst=log):
                for chunk in iter(lambda: src.read1(65536), b""):
                    dst.write(chunk)
                    dst.flush()
                dst.close()
            threading.Thread(target=copy, daemon=True).start()
        else:
            log.close()
        (self.c.state / "pids" / f"{name}.pid").write_text(f"{p.pid}\n")
        return p

    def wait_port(self, port, up, within=30):
        deadline = time.monotonic() + within
        while it.port_open("127.0.0.1", port) != up:
            assert time.monotonic() < deadline, f":{port} still {'closed' if up else 'open'} after {within} s"
            time.sleep(0.05)

    def wait_exit(self, pid, within=20):
        deadline = time.monotonic() + within
        while True:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            # Our own child (restarted here) must be reaped, or it stays a zombie.
            try:
                if os.waitpid(pid, os.WNOHANG)[0] == pid:
                    return
            except ChildProcessError:
                pass
            if pathlib.Path(f"/proc/{pid}/status").exists() and \
                    "\nState:\tZ" in pathlib.Path(f"/proc/{pid}/status").read_text():
                return
            assert time.monotonic() < deadline, f"pid {pid} still running {within} s after the signal"
            time.sleep(0.05)

    def kill_agent(self, code, sig=signal.SIGKILL):
        pid = self.c.pid(f"agent-{code}")
        os.kill(pid, sig)
        self.wait_exit(pid)
        self.wait_port(self.c.agent_port(code), False)

    def start_agent(self, code, config=None):
        self.start_daemon(f"agent-{code}", "mpic-agent", config or self.agent_config(code))
        (self.odd_agents.add if config else self.odd_agents.discard)(code)
        self.wait_port(self.c.agent_port(code), True)

    def restart_orchestrator(self, config=None, fsize=None):
        """TERM, wait for the exit, start again: the gap is a window for connection errors."""
        t = time.monotonic()
        pid = self.c.pid("orchestrator")
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        self.wait_exit(pid)
        self.start_daemon("orchestrator", "mpic-orchestrator",
                          config or self.c.state / "config" / "orchestrator.json", fsize)
        self.wait_port(self.c.port, True)
        self.restarts.append((t, time.monotonic() + 0.5))
        self.odd_orchestrator = config is not None or fsize is not None

    def fake_agent(self, code, mode):
        """Kill code's agent and serve its port with fake_agent.py MODE."""
        self.kill_agent(code)
        certs = self.c.certs
        p = subprocess.Popen([sys.executable, str(HERE / "fake_agent.py"), mode, str(self.c.agent_port(code)),
                              str(certs / f"agent-{code}.crt"), str(certs / f"agent-{code}.key"),
                              str(certs / "ca.crt")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             stdin=subprocess.DEVNULL)
        self.popen.append(p)
        self.fakes[code] = p
        self.wait_port(self.c.agent_port(code), True)
        return p

    def stop_fake(self, code, p):
        self.fakes.pop(code, None)
        p.kill()
        p.wait(timeout=10)
        self.wait_port(self.c.agent_port(code), False)
        self.start_agent(code)

    def resolver_config(self, code, resolver):
        cfg = json.loads(self.agent_config(code).read_text())
        cfg["agent"]["dns"]["resolvers"] = [resolver]
        path = self.c.state / "config" / f"agent-{code}-faulty-resolver.json"
        path.write_text(json.dumps(cfg, indent=2))
        return path

    def alive(self, name):
        try:
            pid = self.c.pid(name)
            os.kill(pid, 0)
        except (OSError, ValueError):
            return False
        status = pathlib.Path(f"/proc/{pid}/status")
        return status.exists() and "\nState:\tZ" not in status.read_text()

    def repair(self):
        """After a test, whatever it left broken (it failed half-way): every agent and the
        orchestrator back on their own config, so that one failure does not fail the tests after."""
        for code, p in list(self.fakes.items()):
            self.stop_fake(code, p)
        for code in self.c.codes:
            name = f"agent-{code}"
            if self.alive(name):
                os.kill(self.c.pid(name), signal.SIGCONT)
                if code in self.odd_agents:
                    self.kill_agent(code, signal.SIGTERM)
            if not self.alive(name):
                self.start_agent(code)
        if self.odd_orchestrator or not self.alive("orchestrator"):
            self.restart_orchestrator()

    # ---- the fault pattern -----------------------------------------------------------------
    def hold(self, codes, seconds, expect_valid=None):
        """Keep the damage for at least seconds; requests wholly inside must not count codes as
        passing, and (expect_valid: {kind: bool}) must come out as given. While a fault makes
        every answer wait for the per-perspective deadline, few requests fit in a short window
        and which kinds they are is chance: the window then stretches, by at most HOLD_EXTRA_S,
        until each expected kind has an answer in it."""
        t = time.monotonic()
        time.sleep(seconds)
        def inside():
            now = time.monotonic()
            return [r for r in self.c.load.since(t) if r["t1"] <= now and r["status"] == 200]
        kinds = set(expect_valid or ())
        while kinds - {r["kind"] for r in inside()} and time.monotonic() < t + seconds + HOLD_EXTRA_S:
            time.sleep(0.1)
        got_all = inside()
        self.broken.append((t, time.monotonic(), set(codes)))
        for kind, valid in (expect_valid or {}).items():
            got = [r for r in got_all if r["kind"] == kind]
            assert got, f"no {kind} request answered in {time.monotonic() - t:.1f} s of the fault"
            for r in got:
                assert r["body"]["is_valid"] is valid, f"{kind}: {r['body']}"

    def back_again(self, codes, since):
        """The repaired perspectives pass again, with no orchestrator restart: some caa-ok request
        started after `since` shows every one of codes passing."""
        deadline = since + BACK_WITHIN_S
        while time.monotonic() < deadline:
            for r in self.c.load.since(since):
                if r["kind"] == "caa-ok" and r["status"] == 200:
                    passing = {p["perspective_code"] for p in r["body"]["perspectives"]
                               if p["check_response"]["check_passed"]}
                    if set(codes) <= passing:
                        return
            time.sleep(0.2)
        raise AssertionError(f"{sorted(codes)} did not pass again within {BACK_WITHIN_S} s of the repair")

    # ---- the invariants --------------------------------------------------------------------
    def quorum_valid(self, body):
        q = body["actual_orchestration_parameters"]["quorum_count"]
        passing = [p["perspective_code"] for p in body["perspectives"] if p["check_response"]["check_passed"]]
        ok = len(passing) >= q
        if self.policy == "cabf-br":
            ok = ok and len({self.rir[c] for c in passing}) >= 2
        return ok

    def within(self, windows, rec):
        return any(a <= rec["t1"] and rec["t0"] <= b for a, b in windows)

    def check_answers(self, upto=None):
        """Every record completed so far (or up to index upto) against the invariants."""
        with self.c.load.lock:
            recs = list(self.c.load.records)
        audit = self.c.state / "logs" / "audit.jsonl"
        lines = audit.read_text().splitlines()
        recorded = set()
        for i, line in enumerate(lines):
            try:
                rec = json.loads(line)
            except ValueError:
                raise AssertionError(f"audit.jsonl line {i + 1} is not JSON (torn write?): {line[:200]!r}")
            if rec.get("event") == "mpic_request":
                recorded.add(rec["trace_identifier"])
        deadline_s = REQUEST_TIMEOUT_MS / 1000 + SLACK_S
        problems = []
        for r in recs:
            took = r["t1"] - r["t0"]
            where = f"{r['trace']} ({r['kind']}, {took:.1f} s)"
            if r["error"] is not None:
                if not self.within(self.restarts, r):
                    problems.append(f"{where}: {r['error']} outside an orchestrator restart")
                continue
            if took > deadline_s:
                problems.append(f"{where}: answered after {took:.1f} s (deadline {deadline_s} s)")
            if r["status"] == 500:
                b = r["body"]
                if not (isinstance(b, dict) and b.get("error") == "audit-log-failure"
                        and self.within(self.audit_down, r)):
                    problems.append(f"{where}: 500 {b}")
                continue
            if r["status"] != 200 or not isinstance(r["body"], dict):
                problems.append(f"{where}: HTTP {r['status']} {r['body']}")
                continue
            b = r["body"]
            try:
                fake = type("R", (), {"status_code": 200, "body": b})
                it.check_against_spec(fake)
            except AssertionError as e:
                problems.append(f"{where}: answer off the spec: {e}")
            if b["trace_identifier"] != r["trace"]:
                problems.append(f"{where}: trace_identifier {b['trace_identifier']}")
            if b["is_valid"] != self.quorum_valid(b):
                problems.append(f"{where}: is_valid {b['is_valid']} but the quorum rule says otherwise: {b}")
            if r["kind"] == "caa-deny" and b["is_valid"]:
                problems.append(f"{where}: deny.example.test valid: {b}")
            for a, z, codes in self.broken:
                if a <= r["t0"] and r["t1"] <= z:
                    for p in b["perspectives"]:
                        if p["perspective_code"] in codes and p["check_response"]["check_passed"]:
                            problems.append(f"{where}: broken perspective {p['perspective_code']} passed: {p}")
            if r["trace"] not in recorded:
                problems.append(f"{where}: answered 200 but no mpic_request record in audit.jsonl")
        self.checked = len(recs)
        assert not problems, f"{len(problems)} of {len(recs)} requests wrong:\n" + "\n".join(problems[:30])
        return recs


@pytest.fixture(scope="module")
def faults(request):
    c = it.start_cluster(PORT, LAB_IP)
    f = Faults(c)
    failed_before = request.session.testsfailed
    try:
        # Shorter deadlines than the defaults, so that a hung agent costs 4 s, not 10.
        cfg_path = c.state / "config" / "orchestrator.json"
        cfg = json.loads(cfg_path.read_text())
        cfg["orchestrator"].update(perspective_timeout_ms=PERSPECTIVE_TIMEOUT_MS, request_timeout_ms=REQUEST_TIMEOUT_MS)
        cfg_path.write_text(json.dumps(cfg, indent=2))
        f.restart_orchestrator()
        c.load = Load(c)
        time.sleep(2)
        yield f
    finally:
        if getattr(c, "load", None):
            c.load.finish()
        for p in f.popen:
            if p.poll() is None:
                p.kill()
                p.wait()
        for code in c.codes:                  # SIGSTOPped agents must be able to take `down`'s TERM
            try:
                os.kill(c.pid(f"agent-{code}"), signal.SIGCONT)
            except (OSError, ValueError):
                pass
        it.stop_cluster(c, keep=request.session.testsfailed > failed_before)


@pytest.fixture(autouse=True)
def repaired(faults):
    yield
    faults.repair()


A, B, C = "us-east-1", "eu-west-1", "ap-northeast-1"


def test_steady_load_baseline(faults):
    t = time.monotonic()
    faults.hold([], 3, {"caa-ok": True, "caa-deny": False, "dcv-ok": True})
    assert len(faults.c.load.since(t)) >= 10, "the load generator sends too little"
    faults.check_answers()


def test_kill_9_one_agent_then_two(faults):
    faults.kill_agent(A)
    faults.hold([A], 4, {"caa-ok": True, "dcv-ok": True})         # 5 of 6, quorum 4
    faults.kill_agent(B)
    faults.hold([A, B], 4, {"caa-ok": True, "dcv-ok": True})      # 4 of 6
    t = time.monotonic()
    faults.start_agent(A)
    faults.start_agent(B)
    faults.back_again([A, B], t)
    faults.check_answers()


def test_kill_9_three_agents_breaks_the_quorum(faults):
    for code in (A, B, C):
        faults.kill_agent(code)
    faults.hold([A, B, C], 3, {"caa-ok": False, "dcv-ok": False})
    t = time.monotonic()
    for code in (A, B, C):
        faults.start_agent(code)
    faults.back_again([A, B, C], t)
    faults.check_answers()


def test_sigstop_one_agent_hangs_with_its_socket_open(faults):
    pid = faults.c.pid(f"agent-{A}")
    os.kill(pid, signal.SIGSTOP)
    faults.hold([A], PERSPECTIVE_TIMEOUT_MS / 1000 + 3, {"caa-ok": True})
    t = time.monotonic()
    os.kill(pid, signal.SIGCONT)
    faults.back_again([A], t)
    faults.check_answers()


@pytest.mark.parametrize("mode", ["garbage", "nonhttp", "huge", "trickle"])
def test_agent_answering_nonsense(faults, mode):
    p = faults.fake_agent(C, mode)
    faults.hold([C], 4 if mode != "trickle" else PERSPECTIVE_TIMEOUT_MS / 1000 + 2, {"caa-ok": True})
    t = time.monotonic()
    faults.stop_fake(C, p)
    faults.back_again([C], t)
    faults.check_answers()


@pytest.mark.parametrize("server, port, codes, valid, seconds", [
    ("servfail", 5310, ["eu-central-1", "sa-east-1"], True, 5),              # 4 of 6 still pass
    # 3 of 6: no quorum; each answer waits for the per-agent deadline, so hold it longer
    ("silent", 5312, ["us-west-2", "eu-central-1", "sa-east-1"], False, 3 * PERSPECTIVE_TIMEOUT_MS / 1000),
])
def test_resolver_failing_for_some_agents(faults, server, port, codes, valid, seconds):
    """The lab's failing DNS servers as these agents' only resolver (SERVFAIL for every name, or
    never an answer: a blackholed resolver)."""
    for code in codes:
        faults.kill_agent(code, signal.SIGTERM)
        faults.start_agent(code, faults.resolver_config(code, f"{LAB_IP}:{port}"))
    faults.hold(codes, seconds, {"caa-ok": valid, "dcv-ok": valid})
    t = time.monotonic()
    for code in codes:
        faults.kill_agent(code, signal.SIGTERM)
        faults.start_agent(code)
    faults.back_again(codes, t)
    faults.check_answers()


def test_orchestrator_restarted_mid_load(faults):
    t = time.monotonic()
    faults.restart_orchestrator()
    faults.hold([], 3)
    answered = [r for r in faults.c.load.since(t) if r["status"] == 200]
    assert answered, "nothing answered after the restart"
    faults.check_answers()


def test_audit_disk_full(faults):
    """RLIMIT_FSIZE a few records past the audit log's size: some requests are answered and
    recorded, then every one is 500 until the orchestrator runs without the limit again."""
    audit = faults.c.state / "logs" / "audit.jsonl"
    t = time.monotonic()
    faults.restart_orchestrator(fsize=audit.stat().st_size + 30000)
    faults.hold([], 5)
    faults.restart_orchestrator()
    faults.audit_down.append((t, time.monotonic()))
    statuses = {r["status"] for r in faults.c.load.since(t)}
    assert 500 in statuses, f"the file size limit was never reached: {statuses}"
    faults.hold([], 2)
    recs = faults.check_answers()
    after = [r for r in recs if r["t0"] > faults.audit_down[-1][1]]
    assert after and all(r["status"] == 200 for r in after), [r["status"] for r in after]


def test_audit_log_on_dev_full(faults, tmp_path):
    cfg = json.loads((faults.c.state / "config" / "orchestrator.json").read_text())
    cfg["orchestrator"]["audit_log"]["path"] = "/dev/full"
    path = faults.c.state / "config" / "orchestrator-dev-full.json"
    path.write_text(json.dumps(cfg, indent=2))
    t = time.monotonic()
    faults.restart_orchestrator(path)
    t_full = time.monotonic()
    faults.hold([], 3)
    full = [r for r in faults.c.load.since(t_full) if r["t1"] <= time.monotonic() and r["error"] is None]
    faults.restart_orchestrator()
    faults.audit_down.append((t, time.monotonic()))
    assert full and all(r["status"] == 500 for r in full), [r["status"] for r in full]
    faults.hold([], 2)
    faults.check_answers()


def test_everything_alive_and_every_answer_right(faults):
    faults.hold([], 2, {"caa-ok": True, "caa-deny": False, "dcv-ok": True})
    faults.c.load.finish()
    recs = faults.check_answers()
    assert len(recs) >= 200, f"only {len(recs)} requests in the whole run"
    for name in ["orchestrator"] + [f"agent-{c}" for c in faults.c.codes]:
        assert faults.alive(name), f"{name} exited"
    counts = {}
    for r in recs:
        counts[r["status"] or "conn-error"] = counts.get(r["status"] or "conn-error", 0) + 1
    print(f"\n{len(recs)} requests: {counts}")
