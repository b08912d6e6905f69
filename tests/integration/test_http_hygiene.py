"""Connection hygiene of the HTTP server both daemons run (daemon/http_server.c; issue 12 items 1
and 7): total deadlines for a request's head (slowloris), header floods, request smuggling
(repeated x-api-key, repeated or conflicting Content-Length, Content-Length with
Transfer-Encoding), 100-continue only after the key was checked, 503 with Retry-After past the
in-flight cap, the listener pausing on accept errors instead of spinning, and TLS (1.2 at least,
sessions resumable with client certificates).

Limits that only a test wants (a 2 s head deadline, two requests in flight, 96 descriptors) are
given to a second orchestrator started here on the session cluster's configuration and agents."""
import json
import os
import pathlib
import resource
import select
import socket
import ssl
import subprocess
import time

import pytest
import requests

from conftest import AGENT_CODES, build_dir, parse_http_answer, read_until_close


def read_answer(sock, timeout=15):
    return read_until_close(sock, timeout)


def parse(buf):
    """parse_http_answer, for an answer that must be HTTP/1.1."""
    assert buf.startswith(b"HTTP/1.1 "), f"not an HTTP/1.1 answer: {buf[:300]!r}"
    return parse_http_answer(buf)


def assert_json(buf, status):
    code, headers, body = parse(buf)
    assert code == status, buf[:500]
    assert headers.get("content-type") == "application/json", buf[:500]
    doc = json.loads(body)
    assert isinstance(doc.get("message"), str) and doc["message"], doc
    return headers, doc


def orchestrator_exchange(cluster, data, port=None):
    with socket.create_connection(("127.0.0.1", port or cluster.port), timeout=15) as s:
        s.sendall(data)
        return read_answer(s)


def head(cluster, *lines, key=True):
    extra = [f"x-api-key: {cluster.api_key}"] if key else []
    return ("\r\n".join([*lines, "Host: 127.0.0.1", *extra, "Connection: close"]) + "\r\n\r\n").encode()


class Orchestrator:
    """A second orchestrator on the session cluster's agents, with its own http limits."""

    def __init__(self, cluster, port, http, nofile=None):
        cfg = json.loads((cluster.state / "config" / "orchestrator.json").read_text())
        cfg["orchestrator"]["listen"] = f"127.0.0.1:{port}"
        cfg["orchestrator"]["http"] = http
        cfg["orchestrator"]["audit_log"]["path"] = str(cluster.state / "logs" / f"audit-{port}.jsonl")
        path = cluster.state / "config" / f"orchestrator-{port}.json"
        path.write_text(json.dumps(cfg))
        # In the cluster's logs directory: the session fixture fails the run on a sanitizer report.
        self.log = cluster.state / "logs" / f"orchestrator-{port}.log"
        self.port = port

        def limit():
            if nofile:
                resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))
        with open(self.log, "w") as out:
            self.proc = subprocess.Popen([str(build_dir() / "mpic-orchestrator"), "-c", str(path)], stdout=out,
                                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, preexec_fn=limit)
        deadline = time.monotonic() + 30
        while True:
            assert self.proc.poll() is None, self.log.read_text()
            try:
                if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline, "second orchestrator did not come up:\n" + self.log.read_text()
            time.sleep(0.1)

    def cpu_seconds(self):
        fields = pathlib.Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")   # utime + stime

    def stop(self):
        self.proc.terminate()
        rc = self.proc.wait(timeout=15)
        assert rc == 0, f"exit {rc}:\n{self.log.read_text()[-3000:]}"


@pytest.fixture
def second_orchestrator(cluster):
    started = []

    def start(port, http, nofile=None):
        o = Orchestrator(cluster, port, http, nofile)
        started.append(o)
        return o
    yield start
    for o in started:
        o.stop()


# ---- smuggling and floods, on the session cluster --------------------------------------------

def test_repeated_api_key_is_400_even_when_the_first_is_right(cluster):
    data = (f"POST /v1/mpic HTTP/1.1\r\nHost: x\r\nx-api-key: {cluster.api_key}\r\nx-api-key: not-the-key\r\n"
            "Content-Length: 2\r\nConnection: close\r\n\r\n{}").encode()
    _, doc = assert_json(orchestrator_exchange(cluster, data), 400)
    assert "x-api-key" in doc["message"]


@pytest.mark.parametrize("framing", [
    ["Content-Length: 2", "Content-Length: 2"],
    ["Content-Length: 2", "Content-Length: 40"],
    ["Content-Length: 2", "Transfer-Encoding: chunked"],
    ["Transfer-Encoding: chunked", "Content-Length: 2"],
    ["Transfer-Encoding: gzip, chunked"],
    ["Content-Length : 2"],
], ids=["same-twice", "conflicting", "cl-then-te", "te-then-cl", "te-not-only-chunked", "space-before-colon"])
def test_ambiguous_framing_is_400(cluster, framing):
    data = head(cluster, "POST /v1/mpic HTTP/1.1", *framing) + b"{}\r\n0\r\n\r\n"
    assert_json(orchestrator_exchange(cluster, data), 400)


def test_ambiguous_framing_is_400_on_an_agent(cluster):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.load_verify_locations(cluster.certs / "ca.crt")
    ctx.load_cert_chain(cluster.certs / "orchestrator.crt", cluster.certs / "orchestrator.key")
    with socket.create_connection(("127.0.0.1", cluster.agent_port(AGENT_CODES[0])), timeout=15) as raw:
        with ctx.wrap_socket(raw) as s:
            s.sendall(b"POST /v1/check HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}")
            assert_json(read_answer(s), 400)


def test_too_many_header_fields_is_431(cluster):
    fields = [f"X-Flood-{i}: {i}" for i in range(200)]
    assert_json(orchestrator_exchange(cluster, head(cluster, "GET /healthz HTTP/1.1", *fields)), 431)


def test_header_bytes_over_the_cap_is_431_without_reading_them_all(cluster):
    flood = b"GET /healthz HTTP/1.1\r\nX-Flood: " + b"a" * (4 << 20)
    with socket.create_connection(("127.0.0.1", cluster.port), timeout=15) as s:
        try:
            s.sendall(flood)   # the server answers and stops reading long before 4 MiB
        except (BrokenPipeError, ConnectionResetError):
            pass
        answer = read_answer(s)
    assert_json(answer, 431)


def test_expect_100_continue_with_a_bad_key_gets_403_and_no_100(cluster):
    data = head(cluster, "POST /v1/mpic HTTP/1.1", "Content-Type: application/json", "Content-Length: 60000",
                "Expect: 100-continue", key=False).replace(b"Connection: close\r\n",
                                                          b"x-api-key: wrong\r\nConnection: close\r\n")
    answer = orchestrator_exchange(cluster, data)
    assert b"100 Continue" not in answer, answer[:300]
    _, doc = assert_json(answer, 403)
    assert doc == {"message": "Forbidden"}


def test_expect_100_continue_with_the_key_gets_100_then_the_answer(cluster):
    body = json.dumps({"check_type": "caa", "domain_or_ip_target": "example.test"}).encode()
    data = head(cluster, "POST /v1/mpic HTTP/1.1", "Content-Type: application/json", f"Content-Length: {len(body)}",
                "Expect: 100-continue")
    with socket.create_connection(("127.0.0.1", cluster.port), timeout=30) as s:
        s.sendall(data)
        first = s.recv(4096)
        assert first == b"HTTP/1.1 100 Continue\r\n\r\n", first
        s.sendall(body)
        code, headers, doc = parse(read_answer(s, timeout=30))
    assert code == 200 and json.loads(doc)["is_valid"] is True, doc


def test_pipelined_requests_are_answered_in_order(cluster):
    one = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
    body = b'{"check_type": "caa", "domain_or_ip_target": "example.test"}'
    two = (f"POST /v1/mpic HTTP/1.1\r\nHost: x\r\nx-api-key: {cluster.api_key}\r\n"
           f"Content-Length: {len(body)}\r\n\r\n").encode() + body
    three = b"GET /nothing HTTP/1.0\r\n\r\n"   # HTTP/1.0 without keep-alive: the last answer
    answer = orchestrator_exchange(cluster, one + two + three)
    starts = [answer.find(b"HTTP/1.1 200", 0), answer.find(b"HTTP/1.1 200", 1), answer.find(b"HTTP/1.1 404")]
    assert -1 not in starts and starts == sorted(starts), answer[:2000]
    assert b'"is_valid":true' in answer


# ---- deadlines and caps, on a second orchestrator ---------------------------------------------

@pytest.mark.timeout(60)
def test_slowloris_connections_are_closed_at_the_head_deadline_and_others_are_served(second_orchestrator):
    o = second_orchestrator(18091, {"head_timeout_ms": 2000})
    socks = []
    for _ in range(50):
        s = socket.create_connection(("127.0.0.1", o.port), timeout=5)
        s.sendall(b"POST /v1/mpic HTTP/1.1\r\n")
        socks.append(s)
    t0 = time.monotonic()
    answered_at = {}
    served_in = None
    # One more header byte per connection every 0.5 s: an idle timer would never fire.
    while len(answered_at) < len(socks) and time.monotonic() - t0 < 8:
        readable, _, _ = select.select([s for i, s in enumerate(socks) if i not in answered_at], [], [], 0)
        for s in readable:
            answered_at[socks.index(s)] = time.monotonic() - t0
        for i, s in enumerate(socks):
            if i not in answered_at:
                s.sendall(b"X")
        if served_in is None and time.monotonic() - t0 > 0.5:
            t1 = time.monotonic()
            assert requests.get(f"http://127.0.0.1:{o.port}/healthz", timeout=5).status_code == 200
            served_in = time.monotonic() - t1
        time.sleep(0.5)
    answers = []
    for s in socks:
        answers.append(read_answer(s, timeout=5))   # the 408, then the close
        s.close()
    assert served_in is not None and served_in < 1, served_in
    for a in answers:
        assert_json(a, 408)
    assert len(answered_at) == len(socks), f"{len(socks) - len(answered_at)} slow connections unanswered after 8 s"
    assert 1.5 < min(answered_at.values()) and max(answered_at.values()) < 3.5, answered_at


def test_over_the_in_flight_cap_is_503_with_retry_after(cluster, second_orchestrator):
    o = second_orchestrator(18092, {"max_inflight": 2, "body_timeout_ms": 20000})
    holders = []
    for _ in range(2):   # heads in, bodies not: two requests in flight
        s = socket.create_connection(("127.0.0.1", o.port), timeout=15)
        s.sendall(head(cluster, "POST /v1/mpic HTTP/1.1", "Content-Length: 100").replace(b"Connection: close\r\n", b""))
        holders.append(s)
    time.sleep(0.3)
    answer = orchestrator_exchange(cluster, head(cluster, "POST /v1/mpic HTTP/1.1", "Content-Length: 2") + b"{}",
                                   port=o.port)
    headers, _ = assert_json(answer, 503)
    assert headers.get("retry-after") == "1", headers
    for s in holders:
        s.close()
    deadline = time.monotonic() + 5
    while requests.get(f"http://127.0.0.1:{o.port}/healthz", timeout=5).status_code != 200:
        assert time.monotonic() < deadline, "still over capacity after the holders left"
        time.sleep(0.1)


@pytest.mark.timeout(90)
def test_accept_errors_pause_the_listener_with_one_log_line_and_no_spin(second_orchestrator):
    o = second_orchestrator(18093, {"head_timeout_ms": 30000}, nofile=96)
    socks = []
    try:
        for _ in range(160):   # more than its descriptors: the rest wait in the kernel's backlog
            socks.append(socket.create_connection(("127.0.0.1", o.port), timeout=5))
        time.sleep(1)
        socks.pop(0).close()   # a descriptor freed and taken again: still the same episode
        time.sleep(0.5)
        cpu0, t0 = o.cpu_seconds(), time.monotonic()
        time.sleep(2)
        busy = (o.cpu_seconds() - cpu0) / (time.monotonic() - t0)
        log = o.log.read_text()
        assert log.count("event=accept_paused") == 1, log[-3000:]
        assert "Too many open files" in log, log[-3000:]
        assert busy < 0.2, f"{busy:.0%} of a CPU while out of descriptors"
    finally:
        for s in socks:
            s.close()
    deadline = time.monotonic() + 10
    while True:
        try:
            if requests.get(f"http://127.0.0.1:{o.port}/healthz", timeout=2).status_code == 200:
                break
        except requests.RequestException:
            pass
        assert time.monotonic() < deadline, "not serving again after the descriptors were freed"
        time.sleep(0.2)
    deadline = time.monotonic() + 10   # the episode ends after 2 s without an accept error
    while "event=accept_resumed" not in o.log.read_text():
        assert time.monotonic() < deadline, o.log.read_text()[-3000:]
        time.sleep(0.2)
    log = o.log.read_text()
    assert log.count("event=accept_paused") == 1, log[-3000:]
    resumed = [l for l in log.splitlines() if "event=accept_resumed" in l]
    assert len(resumed) == 1 and "failed_accepts=" in resumed[0], log[-3000:]
    assert int(resumed[0].split("failed_accepts=")[1].split()[0]) >= 1


# ---- TLS on the agents -----------------------------------------------------------------------

def s_client(cluster, port, *args):
    return subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-CAfile",
                           str(cluster.certs / "ca.crt"), "-cert", str(cluster.certs / "orchestrator.crt"),
                           "-key", str(cluster.certs / "orchestrator.key"), *args],
                          input=b"", capture_output=True, timeout=20)


def test_agent_refuses_tls_1_1_and_accepts_1_2(cluster):
    port = cluster.agent_port(AGENT_CODES[0])
    # SECLEVEL=0 so that our own client offers TLS 1.1 at all: the refusal must be the agent's.
    old = s_client(cluster, port, "-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0")
    out = (old.stdout + old.stderr).decode(errors="replace")
    assert old.returncode != 0 and "protocol version" in out, out[-2000:]
    new = s_client(cluster, port, "-tls1_2")
    out = (new.stdout + new.stderr).decode(errors="replace")
    assert new.returncode == 0 and "Protocol  : TLSv1.2" in out, out[-2000:]


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3])
def test_agent_resumes_tls_sessions_with_the_client_certificate(cluster, version):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.minimum_version = ctx.maximum_version = version
    ctx.load_verify_locations(cluster.certs / "ca.crt")
    ctx.load_cert_chain(cluster.certs / "orchestrator.crt", cluster.certs / "orchestrator.key")
    port = cluster.agent_port(AGENT_CODES[0])
    session = None
    for attempt in range(2):
        with socket.create_connection(("127.0.0.1", port), timeout=15) as raw:
            with ctx.wrap_socket(raw, session=session) as s:
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
                answer = read_answer(s)   # a TLS 1.3 ticket arrives after the handshake
                assert answer.startswith(b"HTTP/1.1 200"), answer[:300]
                assert s.session_reused == (attempt == 1), f"attempt {attempt}: reused={s.session_reused}"
                session = s.session


def test_agent_refuses_an_expired_orchestrator_certificate(cluster, tmp_path):
    """The orchestrator's own name and key (so the SPKI pin matches), from the cluster CA, but
    expired yesterday: refused for the date alone."""
    import datetime
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    def load(name):
        return (cluster.certs / name).read_bytes()
    ca_cert = x509.load_pem_x509_certificate(load("ca.crt"))
    ca_key = serialization.load_pem_private_key(load("ca.key"), None)
    key = serialization.load_pem_private_key(load("orchestrator.key"), None)
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mpic-orchestrator")]))
            .issuer_name(ca_cert.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=10)).not_valid_after(now - datetime.timedelta(days=1))
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    (tmp_path / "expired.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.load_verify_locations(cluster.certs / "ca.crt")
    ctx.load_cert_chain(tmp_path / "expired.crt", cluster.certs / "orchestrator.key")
    port = cluster.agent_port(AGENT_CODES[0])
    answer = b""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=15) as raw:
            with ctx.wrap_socket(raw) as s:
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
                answer = read_answer(s)
    except (ssl.SSLError, OSError):
        pass
    assert not answer.startswith(b"HTTP/"), answer[:300]
    # The same request with the valid certificate is answered: the refusal is the date's.
    ctx.load_cert_chain(cluster.certs / "orchestrator.crt", cluster.certs / "orchestrator.key")
    with socket.create_connection(("127.0.0.1", port), timeout=15) as raw:
        with ctx.wrap_socket(raw) as s:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
            assert read_answer(s).startswith(b"HTTP/1.1 200")
