"""SIGHUP reloads, SIGTERM drains (docs/operations.md, Reload and shutdown).

Its own cluster (port 19300, lab 127.0.93.1): the tests rewrite its configuration files, hang an
agent with SIGSTOP to keep a request in flight, and the last one stops the orchestrator."""
import json
import os
import signal
import socket
import ssl
import subprocess
import threading
import time

import pytest

from conftest import describe, port_open, start_cluster, stop_cluster

HUNG = "ap-northeast-1"      # hung with SIGSTOP to keep a request in flight


@pytest.fixture(scope="module")
def cluster(request):
    c = start_cluster(19300, "127.0.93.1")
    failed_before = request.session.testsfailed
    try:
        yield c
    finally:
        try:
            os.kill(c.pid(f"agent-{HUNG}"), signal.SIGCONT)
        except ProcessLookupError:
            pass
        stop_cluster(c, keep=request.session.testsfailed > failed_before)


def config_path(cluster, name):
    return cluster.state / "config" / f"{name}.json"


def log_text(cluster, name):
    return (cluster.state / "logs" / f"{name}.log").read_text(errors="replace")


def wait_log(cluster, name, needle, count, timeout=10):
    deadline = time.monotonic() + timeout
    while log_text(cluster, name).count(needle) < count:
        assert time.monotonic() < deadline, f"no {needle!r} (#{count}) in {name}.log:\n{log_text(cluster, name)[-3000:]}"
        time.sleep(0.05)


def hup(cluster, name, event):
    """SIGHUP name and wait for the event it logs (reload done or refused)."""
    before = log_text(cluster, name).count(event)
    os.kill(cluster.pid(name), signal.SIGHUP)
    wait_log(cluster, name, event, before + 1)


@pytest.fixture(autouse=True)
def resume_hung_agent(cluster):
    yield
    try:
        os.kill(cluster.pid(f"agent-{HUNG}"), signal.SIGCONT)
    except ProcessLookupError:
        pass


def all_six(cluster):
    return {"check_type": "caa", "domain_or_ip_target": "example.test",
            "orchestration_parameters": {"perspective_count": 6, "quorum_count": 5}}


class InFlight:
    """A request the hung agent keeps waiting, sent from a thread."""

    def __init__(self, cluster, key=None):
        self.result = None
        key = key or cluster.api_key

        def run():
            try:
                self.result = cluster.mpic(all_six(cluster), key=key, timeout=60)
            except Exception as e:          # reported by the test thread
                self.result = e
        # The five other agents log their check (the orchestrator's log names only perspectives
        # that did not pass, and the audit records come with the answer).
        others = [c for c in cluster.codes if c != HUNG]
        checks = lambda: sum(log_text(cluster, f"agent-{c}").count("event=check ") for c in others)
        answered = checks()
        os.kill(cluster.pid(f"agent-{HUNG}"), signal.SIGSTOP)
        self.thread = threading.Thread(target=run)
        self.thread.start()
        deadline = time.monotonic() + 20
        while checks() < answered + 5:
            assert time.monotonic() < deadline, "the five other agents did not check"
            time.sleep(0.05)

    def finish(self, cluster):
        os.kill(cluster.pid(f"agent-{HUNG}"), signal.SIGCONT)
        self.thread.join(60)
        assert not self.thread.is_alive()
        assert not isinstance(self.result, Exception), repr(self.result)
        return self.result


def test_new_api_key_after_hup_and_request_in_flight_completes(cluster):
    cfg_file = config_path(cluster, "orchestrator")
    original = cfg_file.read_text()
    new_key = "reloaded-key-0123456789abcdef0123456789"
    assert cluster.mpic(all_six(cluster), key=new_key).status_code == 403
    slow = InFlight(cluster)
    key_file = cluster.state / "secrets" / "api-key-reloaded"
    key_file.write_text(new_key + "\n")
    cfg = json.loads(original)
    cfg["orchestrator"]["api_keys"] = cfg["orchestrator"]["api_keys"] + [f"file:{key_file}"]
    try:
        cfg_file.write_text(json.dumps(cfg))
        hup(cluster, "orchestrator", "event=config_reloaded")
        cfg["orchestrator"]["api_keys"] = [f"file:{key_file}"]          # the old key retired
        cfg_file.write_text(json.dumps(cfg))
        hup(cluster, "orchestrator", "event=config_reloaded")
        r = slow.finish(cluster)
        assert r.status_code == 200 and len(r.body["perspectives"]) == 6, describe(r)
        assert all(p["check_response"]["check_completed"] for p in r.body["perspectives"]), describe(r)
        r = cluster.mpic(all_six(cluster), key=new_key)
        assert r.status_code == 200, describe(r)
        assert cluster.mpic(all_six(cluster)).status_code == 403
    finally:
        cfg_file.write_text(original)
        hup(cluster, "orchestrator", "event=config_reloaded")
    assert cluster.mpic(all_six(cluster)).status_code == 200


@pytest.mark.parametrize("broken", ["{not json", '{"orchestrator": {"listen": "127.0.0.1:1"}}'])
def test_broken_config_is_refused_and_the_old_one_kept(cluster, broken):
    cfg_file = config_path(cluster, "orchestrator")
    original = cfg_file.read_text()
    before = log_text(cluster, "orchestrator")
    try:
        cfg_file.write_text(broken)
        hup(cluster, "orchestrator", "event=reload_failed")
    finally:
        cfg_file.write_text(original)
    new_lines = log_text(cluster, "orchestrator")[len(before):].splitlines()
    errors = [l for l in new_lines if " error event=" in l]
    assert len(errors) == 1 and "reload_failed" in errors[0], new_lines
    r = cluster.mpic(all_six(cluster))
    assert r.status_code == 200, describe(r)


def agent_peer_serial(cluster, code):
    """The serial number of the certificate the agent presents to a new connection."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.load_verify_locations(cluster.certs / "ca.crt")
    ctx.load_cert_chain(cluster.certs / "orchestrator.crt", cluster.certs / "orchestrator.key")
    with socket.create_connection(("127.0.0.1", cluster.agent_port(code)), timeout=10) as raw:
        with ctx.wrap_socket(raw) as s:
            peer = s.getpeercert()
    assert dict(x[0] for x in peer["subject"])["commonName"] == code
    return peer["serialNumber"]


def renew(cluster, code, d):
    """A new key and certificate for the same perspective from the cluster CA, as a renewal."""
    def run(*args):
        subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True)
    (d / "leaf.ext").write_text("basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                                "extendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n")
    run("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "new.key")
    run("req", "-new", "-key", "new.key", "-subj", f"/CN={code}", "-out", "new.csr")
    run("x509", "-req", "-in", "new.csr", "-CA", str(cluster.certs / "ca.crt"), "-CAkey",
        str(cluster.certs / "ca.key"), "-set_serial", "0x0123456789abcdef", "-days", "30", "-sha256",
        "-extfile", "leaf.ext", "-out", "new.crt")
    return d / "new.crt", d / "new.key"


def test_agent_certificate_swap_on_hup(cluster, tmp_path):
    code = "us-east-1"
    name = f"agent-{code}"
    cfg_file = config_path(cluster, name)
    original = cfg_file.read_text()
    cfg = json.loads(original)
    old_serial = agent_peer_serial(cluster, code)
    crt, key = renew(cluster, code, tmp_path)
    try:
        cfg["agent"]["tls"]["cert"], cfg["agent"]["tls"]["key"] = str(crt), str(key)
        cfg_file.write_text(json.dumps(cfg))
        hup(cluster, name, "event=config_reloaded")
        assert agent_peer_serial(cluster, code) == "0123456789ABCDEF"    # new connections: the new certificate
        r = cluster.mpic(all_six(cluster))
        assert r.status_code == 200 and all(p["check_response"]["check_completed"]
                                            for p in r.body["perspectives"]), describe(r)
        cfg["agent"]["tls"]["cert"] = str(cluster.state / "no-such.crt")
        cfg_file.write_text(json.dumps(cfg))
        hup(cluster, name, "event=reload_failed")
        assert agent_peer_serial(cluster, code) == "0123456789ABCDEF"    # a broken one is refused
    finally:
        cfg_file.write_text(original)
        hup(cluster, name, "event=config_reloaded")
    assert agent_peer_serial(cluster, code) == old_serial
    assert port_open("127.0.0.1", cluster.agent_port(code))


def test_audit_log_reopened_on_hup(cluster):
    audit = cluster.state / "logs" / "audit.jsonl"
    rotated = audit.with_name("audit.jsonl.1")
    audit.rename(rotated)
    hup(cluster, "orchestrator", "event=audit_reopened")
    r = cluster.mpic(all_six(cluster))
    assert r.status_code == 200, describe(r)
    assert audit.exists() and "mpic_request" in audit.read_text()


def test_sigterm_drains_a_request_in_flight(cluster):
    """Last: the orchestrator is gone afterwards."""
    slow = InFlight(cluster)
    pid = cluster.pid("orchestrator")
    os.kill(pid, signal.SIGTERM)
    wait_log(cluster, "orchestrator", "event=shutdown", 1)
    time.sleep(0.3)
    assert not port_open("127.0.0.1", cluster.port), "still accepting after SIGTERM"
    r = slow.finish(cluster)
    assert r.status_code == 200 and len(r.body["perspectives"]) == 6, describe(r)
    wait_log(cluster, "orchestrator", "event=drained", 1)
    deadline = time.monotonic() + 10
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        assert time.monotonic() < deadline, "the orchestrator did not exit after draining"
        time.sleep(0.05)
