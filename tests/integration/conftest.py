"""A real local cluster (DNS lab, six agents, one orchestrator) for the integration tests.

scripts/local-cluster.sh owns the cluster; these fixtures only call `up` and `down` and read the
STATE/cluster.env it writes (MPIC_URL, MPIC_API_KEY). Every 200 and 400 body that passes through
Cluster.mpic() is checked against spec/openapi.yaml, and every 200 body's key order against
open-mpic-api.md, so a test that only looks at is_valid still fails on a malformed answer. After
`down`, a sanitizer report in any daemon log fails the run.

Run: /usr/bin/python3 -m pytest tests/integration   (MPIC_BUILD_DIR picks the daemons, default
<repo>/build; MPIC_KEEP_STATE=1 keeps the state dir and logs even when everything passed).

Dates: MPIC_TEST_CLOCK=YYYY-MM-DDTHH:MM:SSZ in the environment starts the daemons' clock there (a
build with -DMPIC_TEST_CLOCK=ON, as the sanitizer build is; scripts/test.sh --date sets it). No test
knows the BR phase table: each cluster reads the phase in force and the method sunsets from its own
orchestrator's `-t` output (Cluster.br_min, .phase, .sunset). Tests whose expectations change with
the date carry @pytest.mark.phase; scripts/test.sh runs them again at the dates around each change.
"""
import decimal
import json
import os
import pathlib
import re
import shlex
import shutil
import socket
import subprocess
import tempfile
import time

import pytest
import requests

import schema

REPO = pathlib.Path(__file__).resolve().parents[2]
CLUSTER_SCRIPT = REPO / "scripts" / "local-cluster.sh"

# The cluster contract: `up --agents N` runs the first N of the catalogue in
# scripts/perspectives.json, agent i (0-based) on 127.0.0.1:PORT+1+i; N is 6 unless given.
# us-east-1 and us-east-2 are "too close".
_PERSPECTIVES = json.loads((REPO / "scripts" / "perspectives.json").read_text())["perspectives"]
CATALOGUE = [p["code"] for p in _PERSPECTIVES]
AGENT_CODES = CATALOGUE[:6]
AGENT_RIR = {p["code"]: p["rir"] for p in _PERSPECTIVES}
DEFAULT_PERSPECTIVE_COUNT = 6
MAX_ATTEMPTS_CAP = 3
ISSUER = "ca.example.net"
OTHER_ISSUER = "other-ca.example.org"

PER_TEST_TIMEOUT_S = 90
UP_TIMEOUT_S = 120
DOWN_TIMEOUT_S = 60

_DEFAULT_KEY = object()


def pytest_configure(config):
    config.addinivalue_line("markers", "phase: the expectation depends on the date (BR phase, method sunsets);"
                            " scripts/test.sh runs these again at the dates around each change")


def pytest_report_header(config):
    return f"daemon clock: MPIC_TEST_CLOCK={os.environ.get('MPIC_TEST_CLOCK') or '(unset: the real clock)'}"


def pytest_collection_modifyitems(items):
    # A per-test ceiling so that a hung daemon fails one test instead of the whole run.
    for item in items:
        if item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(PER_TEST_TIMEOUT_S))


def build_dir():
    return pathlib.Path(os.environ.get("MPIC_BUILD_DIR", REPO / "build"))


def _no_duplicate_keys(pairs):
    seen = {}
    for k, v in pairs:
        if k in seen:
            raise ValueError(f"duplicate JSON key {k!r}")
        seen[k] = v
    return seen


def parse_json(text):
    """json.loads that keeps key order, refuses duplicate keys, and reads float literals as
    Decimal so that a timestamp written as 1.7e18 fails the schema's integer type."""
    return json.loads(text, object_pairs_hook=_no_duplicate_keys, parse_float=decimal.Decimal)


def read_env_file(path):
    """KEY=VALUE lines (optionally `export`, shell quoting); comments and blanks skipped."""
    env = {}
    for line in pathlib.Path(path).read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export "):]
        if "=" not in line:
            continue
        k, v = line.split("=", 1)
        parts = shlex.split(v) if v.strip() else [""]
        env[k.strip()] = parts[0] if parts else ""
    return env


def _pick(env, exact, contains=(), suffix=None):
    for k in exact:
        if env.get(k):
            return env[k]
    for k, v in env.items():
        if v and any(c in k.upper() for c in contains) and (suffix is None or k.upper().endswith(suffix)):
            return v
    return None


class Cluster:
    def __init__(self, state, port, lab_ip, agents=6):
        self.state = pathlib.Path(state)
        self.port = port
        self.codes = CATALOGUE[:agents]
        self.lab_ip = lab_ip
        self.env = read_env_file(self.state / "cluster.env")
        self.url = (_pick(self.env, ["MPIC_URL", "ORCHESTRATOR_URL", "ORCH_URL", "URL"],
                          contains=("ORCH",), suffix="_URL")
                    or f"http://127.0.0.1:{port}").rstrip("/")
        key = _pick(self.env, ["MPIC_API_KEY", "API_KEY", "MPIC_API_KEY_1", "API_KEY_1"], contains=("API_KEY",))
        if key is None:
            key_file = _pick(self.env, ["MPIC_API_KEY_FILE", "API_KEY_FILE"], contains=("API_KEY",), suffix="_FILE")
            if key_file:
                key = pathlib.Path(key_file).read_text().rstrip("\n")
        if not key:
            raise RuntimeError(f"{self.state}/cluster.env names no API key (keys: {sorted(self.env)})")
        self.api_key = key
        self.session = requests.Session()
        self.certs = self.state / "certs"
        self.read_policy()

    def read_policy(self):
        """What the orchestrator's `-t` (run by local-cluster.sh up) says of the date: the BR phase in
        force and its minimum (br_min), the next phase and its minimum (None when none is scheduled),
        the method sunsets ({method: (section, date, in_force)}) and
        whether the test clock is in use."""
        check = (self.state / "logs" / "orchestrator.check").read_text()
        m = re.search(r"policy (\S+): BR 3\.2\.2\.9 phase of (\S+) in force \(at least (\d+) remote perspectives\)"
                      r"(?:; next phase (\S+) \(at least (\d+)\))?", check)
        if m is None:
            raise RuntimeError(f"no phase in the orchestrator's -t output:\n{check}")
        self.policy, self.phase, self.br_min = m.group(1), m.group(2), int(m.group(3))
        self.next_phase, self.next_min = m.group(4), int(m.group(5)) if m.group(5) else None
        self.sunset = {s.group(1): (s.group(2), s.group(4), s.group(3) == "since") for s in re.finditer(
            r"^validation_method (\S+) \(BR (\S+)\): refused (since|from) (\S+)$", check, re.M)}
        self.test_clock = "event=test_clock " in check
        self.check_output = check

    def minimum(self, **more):
        """orchestration_parameters of the smallest cohort the phase in force allows, quorum one less."""
        return dict({"perspective_count": self.br_min, "quorum_count": self.br_min - 1}, **more)

    # ---- orchestrator -------------------------------------------------------------------
    def mpic(self, body, key=_DEFAULT_KEY, path="/v1/mpic", headers=None, timeout=40):
        """POST body (dict -> JSON; str/bytes/iterator sent as is) and check the answer against
        the spec. The response gets `.body` (parsed JSON or None) and `.elapsed_s`."""
        h = {"Content-Type": "application/json"}
        if key is _DEFAULT_KEY:
            key = self.api_key
        if key is not None:
            h["x-api-key"] = key
        h.update(headers or {})
        data = json.dumps(body) if isinstance(body, (dict, list)) else body
        t0 = time.monotonic()
        r = self.session.post(self.url + path, data=data, headers=h, timeout=timeout)
        r.elapsed_s = time.monotonic() - t0
        r.body = None
        if r.status_code in (200, 400, 403):
            try:
                r.body = parse_json(r.text)
            except ValueError as e:
                raise AssertionError(f"HTTP {r.status_code} body is not JSON ({e}): {r.text[:2000]!r}")
        check_against_spec(r)
        return r

    def caa(self, target, **kw):
        """Shorthand: a CAA request for target; extra keys go into the body."""
        body = {"check_type": "caa", "domain_or_ip_target": target}
        body.update(kw)
        return self.mpic(body)

    # ---- agents -------------------------------------------------------------------------
    def agent_port(self, code):
        return self.port + 1 + self.codes.index(code)

    def pid(self, name):
        return int((self.state / "pids" / f"{name}.pid").read_text().split()[0])


def check_against_spec(r):
    if r.status_code == 200:
        name = schema.response_schema_name(r.body)
        schema.assert_valid(name, r.body)
        schema.assert_key_order(r.body)
    elif r.status_code == 400:
        schema.assert_valid("ValidationError", r.body)


def describe(r):
    """For assertion messages: status and body."""
    return f"HTTP {r.status_code}: {r.text[:4000]}"


def _run(args, timeout, env=None):
    return subprocess.run(args, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL, env=env)


def _down(state):
    try:
        _run(["bash", str(CLUSTER_SCRIPT), "down", "--state", str(state)], DOWN_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        pass


def start_cluster(port, lab_ip, agents=None, *extra, clock=None):
    """Bring a cluster up in a fresh state directory (extra: more local-cluster.sh options; clock:
    MPIC_TEST_CLOCK for its daemons instead of the run's); on failure bring it down and raise (an
    error, never a skip: a missing build must be seen)."""
    if not CLUSTER_SCRIPT.exists():
        raise RuntimeError(f"{CLUSTER_SCRIPT} does not exist yet")
    state = pathlib.Path(tempfile.mkdtemp(prefix=f"mpic-it-{port}-"))
    args = ["bash", str(CLUSTER_SCRIPT), "up", "--state", str(state), "--port", str(port),
            "--lab-ip", lab_ip, "--build", str(build_dir())]
    if agents is not None:
        args += ["--agents", str(agents)]
    args += list(extra)
    try:
        p = _run(args, UP_TIMEOUT_S, None if clock is None else dict(os.environ, MPIC_TEST_CLOCK=clock))
    except subprocess.TimeoutExpired as e:
        _down(state)
        raise RuntimeError(f"{' '.join(args)} did not finish in {UP_TIMEOUT_S} s:\n{e.output}")
    if p.returncode != 0:
        _down(state)
        raise RuntimeError(f"{' '.join(args)} exited {p.returncode}:\n{p.stdout}")
    try:
        cluster = Cluster(state, port, lab_ip, agents or 6)
    except Exception:
        _down(state)
        raise
    cluster.up_output = p.stdout
    return cluster


SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")


def sanitizer_reports(state):
    """Sanitizer findings in the daemons' logs (the daemons may be built with MPIC_SANITIZE)."""
    found = []
    for log in sorted((pathlib.Path(state) / "logs").glob("*.log")):
        lines = log.read_text(errors="replace").splitlines()
        for i, line in enumerate(lines):
            if any(m in line for m in SANITIZER_MARKS):
                found.append(f"{log.name}:{i + 1}:\n" + "\n".join(lines[i:i + 12]))
                break
    return found


def stop_cluster(cluster, keep):
    """Bring the cluster down, then fail (as a teardown error) if a daemon logged a sanitizer
    report while the tests ran or while it shut down."""
    _down(cluster.state)
    reports = sanitizer_reports(cluster.state)
    if keep or reports or os.environ.get("MPIC_KEEP_STATE"):
        print(f"\ncluster state (logs) kept in {cluster.state}")
    else:
        shutil.rmtree(cluster.state, ignore_errors=True)
    assert not reports, "sanitizer reports in daemon logs:\n" + "\n\n".join(reports)


def cluster_lifetime(request, port, lab_ip, agents=None, *extra, clock=None):
    """Body of a cluster fixture: up, yield it, down; state kept when a test failed meanwhile."""
    c = start_cluster(port, lab_ip, agents, *extra, clock=clock)
    failed_before = request.session.testsfailed
    try:
        yield c
    finally:
        stop_cluster(c, keep=request.session.testsfailed > failed_before)


@pytest.fixture(scope="session")
def cluster(request):
    yield from cluster_lifetime(request, 18080, "127.0.60.1")


@pytest.fixture(scope="session")
def reference_cluster(request):
    """Six agents under policy open-mpic-reference, which retires no method: started only when a test
    asks for it (for_method below, after a method's BR sunset)."""
    yield from cluster_lifetime(request, 18720, "127.0.72.1", None, "--policy", "open-mpic-reference")


@pytest.fixture
def for_method(request, cluster):
    """for_method(m): the session cluster, or the open-mpic-reference one once the BRs forbid m."""
    def pick(method):
        section_date_in_force = cluster.sunset.get(method)
        if section_date_in_force and section_date_in_force[2]:
            return request.getfixturevalue("reference_cluster")
        return cluster
    return pick


def read_until_close(sock, timeout=None):
    """Everything the peer sends until it closes the connection (or goes quiet past the timeout)."""
    if timeout is not None:
        sock.settimeout(timeout)
    buf = b""
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            buf += chunk
    except (socket.timeout, ConnectionResetError):
        pass
    return buf


def parse_http_answer(buf):
    """(status, headers with lower-case names, body cut at Content-Length) of one HTTP answer."""
    head, _, body = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    assert lines[0].startswith("HTTP/1."), f"not an HTTP answer: {buf[:300]!r}"
    headers = {}
    for h in lines[1:]:
        k, _, v = h.partition(":")
        headers[k.strip().lower()] = v.strip()
    if "content-length" in headers:
        body = body[:int(headers["content-length"])]
    return int(lines[0].split()[1]), headers, body


def port_open(host, port, timeout=0.5):
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False
