"""DCV on clusters of our own: the SSRF guard (agents with allow_private_targets false) and
quorum when perspectives see different DNS values.

- ssrf: port 18480, lab 127.0.64.1, 5 agents (the BR minimum from 2026-12-15, so the cluster
  runs at any date), scripts/local-cluster.sh --no-private-targets.
  Every web-lab target is on 127.0.0.0/8, so every HTTP and TLS-ALPN check must be refused
  before a connection is made (the web lab's access log stays empty), while DNS methods work.
- quorum: a second DNS lab started with `dns-lab.sh DIR 127.0.65.2 --alt`, whose
  _acme-challenge.dcvquorum.example.test holds another value, is the resolver of the last
  agents (local-cluster.sh --split-resolver): with 2 of 6 agents on it (port 18500, lab
  127.0.65.1) 4/6 see the right value, which meets the quorum of 4; with 3 of 6 (port 18520,
  lab 127.0.66.1, --split-count 3) only 3/6 do, and the check is invalid.
Every 200 body goes through Cluster.mpic(), which validates it against spec/openapi.yaml.
"""
import json
import pathlib
import shutil
import subprocess
import tempfile

import pytest

from conftest import REPO, cluster_lifetime, describe

H = "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0"
ALT_VALUE = "a-value-only-the-alt-lab-serves"
DNS_LAB = REPO / "tests" / "lab" / "dns-lab.sh"
ALT_LAB_IP = "127.0.65.2"


def _run(args, timeout=120):
    return subprocess.run(args, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def dcv(cluster, target, method, **params):
    return cluster.mpic({"check_type": "dcv", "domain_or_ip_target": target,
                         "dcv_check_parameters": dict(validation_method=method, **params)})


def responses(r):
    assert r.status_code == 200, describe(r)
    return [(p["perspective_code"], p["check_response"]) for p in r.body["perspectives"]]


# ---- SSRF ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def ssrf(request):
    yield from cluster_lifetime(request, 18480, "127.0.64.1", 5, "--no-private-targets")


def test_no_private_targets_option_reaches_the_agents(ssrf):
    assert "allow_private_targets false" in ssrf.up_output
    for code in ssrf.codes:
        cfg = json.loads((ssrf.state / "config" / f"agent-{code}.json").read_text())
        assert cfg["agent"]["allow_private_targets"] is False, code


def test_ssrf_http01_to_loopback_refused_without_connecting(ssrf):
    r = dcv(ssrf, "http.dcv.example.test", "acme-http-01", token="lab-token-ok",
            key_authorization="lab-token-ok.LabThumbprint0123456789")
    assert r.body["is_valid"] is False, describe(r)
    for code, cr in responses(r):
        where = f"{code}: {cr}"
        assert cr["check_completed"] is False and cr["check_passed"] is False, where
        assert [e["error_type"] for e in cr["errors"]] == ["mpic_error:http"], where
        msg = cr["errors"][0]["error_message"]
        assert "refused" in msg and "127.0.64.11" in msg, where
        assert cr["details"]["response_status_code"] is None, where
    log = ssrf.state / "web" / "access.log"
    assert not log.exists() or "lab-token-ok" not in log.read_text(), log.read_text()


def test_ssrf_http01_ip_literal_refused(ssrf):
    r = dcv(ssrf, "127.0.64.11", "acme-http-01", token="lab-token-ok",
            key_authorization="lab-token-ok.LabThumbprint0123456789")
    assert r.body["is_valid"] is False, describe(r)
    for code, cr in responses(r):
        assert cr["check_completed"] is False, f"{code}: {cr}"
        assert "refused" in cr["errors"][0]["error_message"], f"{code}: {cr}"


def test_ssrf_website_change_refused(ssrf):
    r = dcv(ssrf, "http.dcv.example.test", "website-change", http_token_path="lab-change.txt",
            challenge_value="ChallengeValue-123")
    assert r.body["is_valid"] is False, describe(r)
    for code, cr in responses(r):
        assert cr["check_completed"] is False and cr["errors"][0]["error_type"] == "mpic_error:http", f"{code}: {cr}"


def test_ssrf_tls_alpn_refused(ssrf):
    r = dcv(ssrf, "alpn-ok.dcv.example.test", "acme-tls-alpn-01", key_authorization_hash="00" * 32)
    assert r.body["is_valid"] is False, describe(r)
    for code, cr in responses(r):
        where = f"{code}: {cr}"
        assert cr["check_completed"] is False and cr["check_passed"] is False, where
        assert [e["error_type"] for e in cr["errors"]] == ["mpic_error:dcv_checker:tls_alpn:target_refused"], where
        assert "127.0.64.12" in cr["errors"][0]["error_message"], where


def test_ssrf_guard_leaves_dns_methods_alone(ssrf):
    r = dcv(ssrf, "dcv.example.test", "acme-dns-01", key_authorization_hash=H)
    assert r.body["is_valid"] is True, describe(r)


# ---- quorum with perspectives that disagree -------------------------------------------------

def alt_lab_at(ip):
    """A second DNS lab on ip whose zones differ (dns-lab.sh --alt); yields its resolver as IP:PORT."""
    state = pathlib.Path(tempfile.mkdtemp(prefix="mpic-altlab-"))
    p = _run(["bash", str(DNS_LAB), str(state), ip, "--alt"])
    if p.returncode != 0:
        _run(["bash", str(DNS_LAB), "--stop", str(state)])
        raise RuntimeError(f"alt DNS lab did not start:\n{p.stdout}")
    try:
        yield f"{ip}:5353"
    finally:
        _run(["bash", str(DNS_LAB), "--stop", str(state)])
        shutil.rmtree(state, ignore_errors=True)


@pytest.fixture(scope="module")
def alt_lab(request):
    yield from alt_lab_at(ALT_LAB_IP)


@pytest.fixture(scope="module")
def split2(request, alt_lab):
    yield from cluster_lifetime(request, 18500, "127.0.65.1", None, "--split-resolver", alt_lab)


@pytest.fixture(scope="module")
def split3(request, alt_lab):
    yield from cluster_lifetime(request, 18520, "127.0.66.1", None, "--split-resolver", alt_lab, "--split-count", "3")


def split_codes(cluster, n):
    return set(cluster.codes[-n:])


def check_split(r, cluster, n_alt):
    """Each perspective's verdict follows the lab it asked: the last n_alt see ALT_VALUE."""
    alt = split_codes(cluster, n_alt)
    passed = 0
    for code, cr in responses(r):
        where = f"{code}: {cr}"
        assert cr["check_completed"] is True and cr["errors"] is None, where
        if code in alt:
            assert cr["check_passed"] is False and cr["details"]["records_seen"] == [ALT_VALUE], where
        else:
            assert cr["check_passed"] is True and cr["details"]["records_seen"] == [H], where
            passed += 1
    return passed


def test_split_resolver_goes_to_the_last_agents(split2, alt_lab):
    for i, code in enumerate(split2.codes):
        cfg = json.loads((split2.state / "config" / f"agent-{code}.json").read_text())
        want = alt_lab if i >= len(split2.codes) - 2 else "127.0.65.1:5353"
        assert cfg["agent"]["dns"]["resolvers"] == [want], code


def test_quorum_four_of_six_see_the_value_is_valid(split2):
    r = dcv(split2, "dcvquorum.example.test", "acme-dns-01", key_authorization_hash=H)
    assert r.body["actual_orchestration_parameters"]["quorum_count"] == 4, describe(r)
    assert check_split(r, split2, 2) == 4
    assert r.body["is_valid"] is True and r.body["mpic_completed"] is True, describe(r)


def test_quorum_all_agree_where_the_labs_agree(split2):
    r = dcv(split2, "dcv.example.test", "acme-dns-01", key_authorization_hash=H)
    assert r.body["is_valid"] is True, describe(r)
    assert all(cr["check_passed"] for _, cr in responses(r))


def test_quorum_three_of_six_see_the_value_is_invalid(split3):
    r = dcv(split3, "dcvquorum.example.test", "acme-dns-01", key_authorization_hash=H)
    assert r.body["actual_orchestration_parameters"]["quorum_count"] == 4, describe(r)
    assert check_split(r, split3, 3) == 3
    assert r.body["is_valid"] is False, describe(r)
    assert r.body["mpic_completed"] is True, describe(r)   # every perspective answered
