"""DNSSEC at the agents and the BR 3.2.2.8 lookup-failure carve-out, end to end.

Two clusters of our own (not the session one from conftest): one whose agents use the default
agent.dns.dnssec "validate", one with "require" (scripts/local-cluster.sh --dnssec require).
The lab zones (tests/lab/README.md): example.test is signed; insecure.example.test is a DS-less
delegation below it (provably Insecure) whose child broken.insecure.example.test answers
SERVFAIL; bogus.test, expired.test and nosig.test are signed and broken (EDE 6, 7, 10);
indeterminate.test fails outside every trust anchor. Every 200 body goes through
Cluster.mpic(), which validates it against spec/openapi.yaml.
"""
import json
import re
import subprocess

import pytest

from conftest import build_dir, cluster_lifetime, describe

LOOKUP = "mpic_error:caa_checker:lookup"
PERMITTED = "mpic_error:caa_checker:lookup_failure_permitted"
ALLOW = {"caa_check_parameters": {"allow_lookup_failure": True}}
BROKEN = "broken.insecure.example.test"
BOGUS_ZONES = ["bogus.test", "expired.test", "nosig.test"]


@pytest.fixture(scope="module")
def validating(request):
    yield from cluster_lifetime(request, 18380, "127.0.62.1")


@pytest.fixture(scope="module")
def requiring(request):
    yield from cluster_lifetime(request, 18390, "127.0.62.2", 5, "--dnssec", "require")   # 5: the BR minimum at any date


def responses(r):
    assert r.status_code == 200, describe(r)
    return [(p["perspective_code"], p["check_response"]) for p in r.body["perspectives"]]


def assert_all_fail_lookup(r, message_re):
    """is_valid false, and every perspective failed with caa_checker:lookup and a matching message."""
    assert r.body["is_valid"] is False, describe(r)
    for code, cr in responses(r):
        where = f"{code}: {cr}"
        assert cr["check_passed"] is False, where
        assert cr["check_completed"] is False, where
        assert [e["error_type"] for e in cr["errors"]] == [LOOKUP], where
        assert re.search(message_re, cr["errors"][0]["error_message"]), where
        assert cr["details"] == {"caa_record_present": None, "found_at": None, "records_seen": None}, where


def assert_all_pass_clean(r, found_at):
    assert r.body["is_valid"] is True, describe(r)
    for code, cr in responses(r):
        where = f"{code}: {cr}"
        assert cr["check_completed"] is True and cr["check_passed"] is True, where
        assert cr["errors"] is None, where
        assert cr["details"]["found_at"] == found_at, where


# ---- agent.dns.dnssec: validate (the default) ---------------------------------------------

def test_signed_zone_passes(validating):
    assert_all_pass_clean(validating.caa("example.test"), "example.test")


def test_signed_zone_passes_with_allow_lookup_failure_and_no_note(validating):
    assert_all_pass_clean(validating.caa("example.test", **ALLOW), "example.test")


@pytest.mark.parametrize("zone", BOGUS_ZONES)
def test_dnssec_bogus_zone_fails_with_lookup_error(validating, zone):
    # The message names the RFC 8914 code (a cached bogus answer says only 6, the first says 7/10).
    assert_all_fail_lookup(validating.caa(zone), rf"CAA lookup for {re.escape(zone)} failed: SERVFAIL "
                                                 r"\(EDE (6|7|10) ")


@pytest.mark.parametrize("zone", BOGUS_ZONES)
def test_dnssec_bogus_zone_never_passes_with_allow_lookup_failure(validating, zone):
    assert_all_fail_lookup(validating.caa(zone, **ALLOW),
                           r"allow_lookup_failure not applied: the failure is a DNSSEC validation failure")


def test_failure_below_insecure_cut_fails_without_the_flag(validating):
    r = validating.caa(BROKEN)
    assert_all_fail_lookup(r, rf"CAA lookup for {re.escape(BROKEN)} failed: SERVFAIL")
    for _, cr in responses(r):
        assert "allow_lookup_failure" not in cr["errors"][0]["error_message"], cr


def test_failure_below_insecure_cut_is_permitted_with_the_flag(validating):
    r = validating.caa(BROKEN, **ALLOW)
    assert r.body["is_valid"] is True, describe(r)
    for code, cr in responses(r):
        where = f"{code}: {cr}"
        assert cr["check_completed"] is True and cr["check_passed"] is True, where
        assert [e["error_type"] for e in cr["errors"]] == [PERMITTED], where
        msg = cr["errors"][0]["error_message"]
        # Which failure, and why each of the three conditions holds.
        assert f"CAA lookup for {BROKEN} failed: SERVFAIL" in msg, where
        assert "after 2 tries" in msg and "retried" in msg, where
        assert "without a DNSSEC error" in msg, where
        assert "validated delegation without DS at insecure.example.test" in msg, where
        # The failed level counts as empty: the climb goes on to the Insecure zone's apex.
        assert cr["details"]["found_at"] == "insecure.example.test", where
        assert cr["details"]["records_seen"] == ['0 issue "ca.example.net"'], where


def test_indeterminate_zone_never_passes_with_the_flag(validating):
    assert_all_fail_lookup(validating.caa("indeterminate.test", **ALLOW),
                           r"SERVFAIL .*allow_lookup_failure not applied: the zone is not proven Insecure")


def test_failure_at_a_ds_less_delegation_itself_is_permitted_with_the_flag(validating):
    # rcode2.example.test is delegated from the signed example.test without DS (to the SERVFAIL
    # server): the cut is at the failing name itself.
    r = validating.caa("rcode2.example.test", **ALLOW)
    assert r.body["is_valid"] is True, describe(r)
    for _, cr in responses(r):
        assert [e["error_type"] for e in cr["errors"]] == [PERMITTED], cr
        assert "validated delegation without DS at rcode2.example.test" in cr["errors"][0]["error_message"], cr
        assert cr["details"]["found_at"] == "example.test", cr


def test_agent_logs_ad_flag_per_check(validating):
    validating.caa("insecure.example.test")
    log = (validating.state / "logs" / f"agent-{validating.codes[0]}.log").read_text()
    lines = [l for l in log.splitlines() if "event=check" in l and "target=insecure.example.test" in l]
    assert lines, "no check line for insecure.example.test"
    # the level that decided (insecure.example.test) answered without AD
    assert re.search(r" ad=0(,[-01x])* ", lines[-1]), lines[-1]
    validating.caa("example.test")
    log = (validating.state / "logs" / f"agent-{validating.codes[0]}.log").read_text()
    lines = [l for l in log.splitlines() if "event=check" in l and "target=example.test" in l]
    assert re.search(r" ad=1(,[-01x])* ", lines[-1]), lines[-1]


# ---- agent.dns.dnssec: require --------------------------------------------------------------

def test_require_passes_secure_answer(requiring):
    assert_all_pass_clean(requiring.caa("example.test"), "example.test")


def test_require_passes_proven_insecure_answer(requiring):
    assert_all_pass_clean(requiring.caa("insecure.example.test"), "insecure.example.test")


def test_require_fails_answer_from_unvalidated_zone(requiring):
    # cname.example.test -> target.other.test: other.test is unsigned and not delegated from a
    # signed zone, so the answer is neither Secure nor proven Insecure.
    assert_all_fail_lookup(requiring.caa("cname.example.test"),
                           r"CAA answer for cname\.example\.test was not validated by DNSSEC \(AD=0\)")


def test_require_still_applies_the_carve_out(requiring):
    r = requiring.caa(BROKEN, **ALLOW)
    assert r.body["is_valid"] is True, describe(r)
    for _, cr in responses(r):
        assert [e["error_type"] for e in cr["errors"]] == [PERMITTED], cr


# ---- DCV DNS methods under both modes ----------------------------------------------------------

DCV_LOOKUP = "mpic_error:dcv_checker:lookup"
DNS01_HASH = "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0"   # tests/lab/zones/example.test.zone


def dns01(cluster, target):
    return cluster.mpic({"check_type": "dcv", "domain_or_ip_target": target,
                         "dcv_check_parameters": {"validation_method": "acme-dns-01",
                                                  "key_authorization_hash": DNS01_HASH}})


def dcv_responses(r):
    assert r.status_code == 200 and r.body["check_type"] == "dcv", describe(r)
    return responses(r)


def test_validate_dcv_dns_passes_through_cname_into_unsigned_zone(validating):
    r = dns01(validating, "dcvcname.example.test")
    assert r.body["is_valid"] is True, describe(r)
    for code, cr in dcv_responses(r):
        where = f"{code}: {cr}"
        assert cr["check_completed"] is True and cr["check_passed"] is True and cr["errors"] is None, where
        assert cr["details"]["ad_flag"] is False, where


def test_require_dcv_dns_passes_secure_answer(requiring):
    r = dns01(requiring, "dcv.example.test")
    assert r.body["is_valid"] is True, describe(r)
    for code, cr in dcv_responses(r):
        where = f"{code}: {cr}"
        assert cr["check_completed"] is True and cr["check_passed"] is True and cr["errors"] is None, where
        assert cr["details"]["ad_flag"] is True, where
        assert cr["details"]["found_at"] == "_acme-challenge.dcv.example.test", where


def test_require_dcv_dns_accepts_proven_insecure_answer(requiring):
    # No record below the DS-less delegation: the NXDOMAIN (AD=0) is proven Insecure, so it is
    # an answer and the check completes (and fails) instead of failing the lookup.
    r = dns01(requiring, "insecure.example.test")
    assert r.body["is_valid"] is False, describe(r)
    for code, cr in dcv_responses(r):
        where = f"{code}: {cr}"
        assert cr["check_completed"] is True and cr["check_passed"] is False and cr["errors"] is None, where
        assert cr["details"]["ad_flag"] is False and cr["details"]["response_code"] == 3, where


def test_require_dcv_dns_fails_answer_from_unvalidated_zone(requiring):
    # _acme-challenge.dcvcname.example.test -> dcv-hop1.other.test -> ...: the record the check
    # would pass on sits in other.test, neither Secure nor proven Insecure.
    r = dns01(requiring, "dcvcname.example.test")
    assert r.body["is_valid"] is False, describe(r)
    for code, cr in dcv_responses(r):
        where = f"{code}: {cr}"
        assert cr["check_completed"] is False and cr["check_passed"] is False, where
        assert [e["error_type"] for e in cr["errors"]] == [DCV_LOOKUP], where
        assert re.search(r"TXT answer for _acme-challenge\.dcvcname\.example\.test was not validated by "
                         r"DNSSEC \(AD=0\).*\(dnssec: require\)", cr["errors"][0]["error_message"]), where
        assert cr["details"]["records_seen"] is None, where


def test_agent_config_refuses_unknown_dnssec_mode(requiring, tmp_path):
    cfg = json.loads((requiring.state / "config" / f"agent-{requiring.codes[0]}.json").read_text())
    assert cfg["agent"]["dns"]["dnssec"] == "require"
    cfg["agent"]["dns"]["dnssec"] = "off"
    path = tmp_path / "agent.json"
    path.write_text(json.dumps(cfg))
    p = subprocess.run([str(build_dir() / "mpic-agent"), "-c", str(path), "-t"], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=30)
    assert p.returncode != 0, p.stdout
    assert "agent.dns.dnssec" in p.stdout and "off" in p.stdout, p.stdout
