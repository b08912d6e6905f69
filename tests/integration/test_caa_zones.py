"""CAA decisions on the lab zones, end to end through the orchestrator and all six agents.

Our issuer is ca.example.net (the cluster's configured issuer domain); other-ca.example.org is
somebody else. With every agent healthy, all six perspectives see the same zones, so each must
reach the same decision as the whole."""
import pytest

from conftest import AGENT_CODES, ISSUER, OTHER_ISSUER, describe

LOOKUP_ERROR = "mpic_error:caa_checker:lookup"


def records_of(body):
    return [p["check_response"]["details"]["records_seen"] for p in body["perspectives"]]


def assert_unanimous(r, target, valid, found_at, record=None, present=True):
    """is_valid, and every perspective completed with the same decision and details."""
    b = r.body
    assert r.status_code == 200, describe(r)
    assert b["domain_or_ip_target"] == target, describe(r)
    assert b["is_valid"] is valid, describe(r)
    assert b["mpic_completed"] is True, describe(r)
    assert b["actual_orchestration_parameters"] == {
        "perspective_count": 6, "quorum_count": 4, "attempt_count": 1}, describe(r)
    codes = [p["perspective_code"] for p in b["perspectives"]]
    assert sorted(codes) == sorted(AGENT_CODES), f"cohort {codes}"
    for p in b["perspectives"]:
        cr = p["check_response"]
        where = f"{p['perspective_code']}: {cr}"
        assert cr["check_completed"] is True, where
        assert cr["check_passed"] is valid, where
        assert cr["errors"] is None, where
        d = cr["details"]
        assert d["caa_record_present"] is present, where
        assert d["found_at"] == found_at, where
        if record is not None:
            assert any(record(s) if callable(record) else record in s for s in d["records_seen"] or []), \
                f"{where}: no record matching {record!r}"


# target, is_valid, found_at, something every perspective's records_seen must contain
ZONE_CASES = [
    ("example.test", True, "example.test", f'0 issue "{ISSUER}"'),
    ("deny.example.test", False, "deny.example.test", f'"{OTHER_ISSUER}"'),
    ("empty-issuer.example.test", False, "empty-issuer.example.test", 'issue ";"'),
    ("a.b.climbdeny.example.test", False, "climbdeny.example.test", f'"{OTHER_ISSUER}"'),
    ("x.y.climb.example.test", True, "climb.example.test", f'issue "{ISSUER}"'),
    ("*.wild.example.test", False, "wild.example.test", 'issuewild ";"'),
    ("wild.example.test", True, "wild.example.test", f'"{ISSUER}"'),
    ("*.wildok.example.test", True, "wildok.example.test", f'issuewild "{ISSUER}"'),
    ("cname.example.test", False, "cname.example.test", f'"{OTHER_ISSUER}"'),
    ("chain.example.test", False, "chain.example.test", f'"{OTHER_ISSUER}"'),
    ("below.cname.example.test", False, "cname.example.test", f'"{OTHER_ISSUER}"'),
    ("dangling.example.test", True, "example.test", f'0 issue "{ISSUER}"'),
    ("critical.example.test", False, "critical.example.test", lambda s: s.startswith("128 ")),
    ("mixedcase.example.test", True, "mixedcase.example.test", lambda s: "issue" in s.lower() and ISSUER in s),
    ("deny.test", False, "deny.test", '0 issue ";"'),
    ("www.example.test", True, "example.test", f'0 issue "{ISSUER}"'),
    ("nonexistent.example.test", True, "example.test", f'0 issue "{ISSUER}"'),
]
ZONE_IDS = {
    "example.test": "apex_issue_permits_our_ca",
    "deny.example.test": "other_ca_issue_denies",
    "empty-issuer.example.test": "empty_issuer_denies",
    "a.b.climbdeny.example.test": "deny_two_labels_up_applies_to_child",
    "x.y.climb.example.test": "permit_two_labels_up_applies_to_child",
    "*.wild.example.test": "issuewild_semicolon_denies_wildcard",
    "wild.example.test": "issuewild_ignored_for_non_wildcard",
    "*.wildok.example.test": "permitting_issuewild_overrides_denying_issue",
    "cname.example.test": "cname_target_records_apply",
    "chain.example.test": "cname_chain_followed",
    "below.cname.example.test": "name_below_cname_climbs_to_alias",
    "dangling.example.test": "dangling_cname_is_empty_and_climbs",
    "critical.example.test": "unknown_critical_tag_denies",
    "mixedcase.example.test": "tag_case_insensitive",
    "deny.test": "tld_level_issue_semicolon_denies",
    "www.example.test": "nodata_climbs_to_parent",
    "nonexistent.example.test": "nxdomain_climbs_to_parent",
}


@pytest.mark.parametrize("target, valid, found_at, record", ZONE_CASES,
                         ids=[ZONE_IDS[c[0]] for c in ZONE_CASES])
def test_caa_zone(cluster, target, valid, found_at, record):
    r = cluster.caa(target)
    assert_unanimous(r, target, valid, found_at, record)


def test_caa_smime_uses_issuemail_not_issue(cluster):
    r = cluster.caa("smime.example.test", caa_check_parameters={"certificate_type": "s-mime"})
    assert_unanimous(r, "smime.example.test", True, "smime.example.test")
    assert r.body["caa_check_parameters"]["certificate_type"] == "s-mime", describe(r)


def test_caa_smime_zone_denies_tls_server(cluster):
    r = cluster.caa("smime.example.test", caa_check_parameters={"certificate_type": "tls-server"})
    assert_unanimous(r, "smime.example.test", False, "smime.example.test")


def test_caa_1001_record_rrset_fetched_in_full(cluster):
    r = cluster.caa("many.test")
    assert_unanimous(r, "many.test", True, "many.test", f'0 issue "{ISSUER}"')
    for p in r.body["perspectives"]:
        seen = p["check_response"]["details"]["records_seen"]
        assert len(seen) == 1001, f"{p['perspective_code']}: {len(seen)} records_seen"


@pytest.mark.parametrize("target", ["rcode2.example.test", "rcode5.example.test", "silent.example.test"],
                         ids=["servfail_fails_closed", "refused_fails_closed", "silent_server_fails_closed"])
def test_caa_lookup_failure_fails_closed(cluster, target):
    r = cluster.caa(target)
    b = r.body
    assert r.status_code == 200, describe(r)
    assert b["is_valid"] is False, describe(r)
    # Six incomplete checks is more than count - quorum = 2.
    assert b["mpic_completed"] is False, describe(r)
    for p in b["perspectives"]:
        cr = p["check_response"]
        where = f"{p['perspective_code']}: {cr}"
        assert cr["check_completed"] is False, where
        assert cr["check_passed"] is False, where
        assert any(e["error_type"] == LOOKUP_ERROR for e in cr["errors"] or []), where


@pytest.mark.parametrize("target", ["127.0.0.2", "2001:db8::1"], ids=["ipv4", "ipv6"])
def test_caa_ip_target_passes_without_lookup(cluster, target):
    r = cluster.caa(target)
    b = r.body
    assert r.status_code == 200, describe(r)
    assert b["is_valid"] is True, describe(r)
    assert b["domain_or_ip_target"] == target, describe(r)
    for p in b["perspectives"]:
        cr = p["check_response"]
        assert cr["check_completed"] is True and cr["check_passed"] is True, cr
        assert cr["details"]["caa_record_present"] is False, cr
        assert cr["details"]["found_at"] is None, cr
        assert cr["details"]["records_seen"] in (None, []), cr


# ---- cross-check: the issuer list decides exactly the issuer-based denials -----------------

ISSUER_DENIALS = ["deny.example.test", "a.b.climbdeny.example.test", "cname.example.test", "chain.example.test",
                  "below.cname.example.test"]
OUR_PERMITS = ["example.test", "x.y.climb.example.test", "dangling.example.test", "wild.example.test"]
STRUCTURAL_DENIALS = ["empty-issuer.example.test", "critical.example.test", "deny.test",
                      "rcode2.example.test", "rcode5.example.test", "silent.example.test"]


@pytest.mark.parametrize("target", ISSUER_DENIALS)
def test_caa_other_ca_denial_permits_when_other_ca_is_ours(cluster, target):
    r = cluster.caa(target, caa_check_parameters={"caa_domains": [OTHER_ISSUER]})
    assert r.status_code == 200, describe(r)
    assert r.body["is_valid"] is True, describe(r)
    assert r.body["caa_check_parameters"] == {"certificate_type": "tls-server",
                                              "caa_domains": [OTHER_ISSUER]}, describe(r)


@pytest.mark.parametrize("target", OUR_PERMITS)
def test_caa_our_permit_denies_when_request_names_other_ca(cluster, target):
    r = cluster.caa(target, caa_check_parameters={"caa_domains": [OTHER_ISSUER]})
    assert r.status_code == 200, describe(r)
    assert r.body["is_valid"] is False, describe(r)


@pytest.mark.parametrize("domains", [[OTHER_ISSUER], [ISSUER], [ISSUER, OTHER_ISSUER]],
                         ids=["other", "ours", "both"])
@pytest.mark.parametrize("target", STRUCTURAL_DENIALS)
def test_caa_structural_denial_ignores_caa_domains(cluster, target, domains):
    r = cluster.caa(target, caa_check_parameters={"caa_domains": domains})
    assert r.status_code == 200, describe(r)
    assert r.body["is_valid"] is False, describe(r)


def test_caa_domains_match_case_insensitively(cluster):
    r = cluster.caa("deny.example.test", caa_check_parameters={"caa_domains": [OTHER_ISSUER.upper()]})
    assert r.status_code == 200, describe(r)
    assert r.body["is_valid"] is True, describe(r)


# IDN: xn--bcher-kva.example.test ("bücher") carries a CAA record of the other CA, so a
# U-label only fails if it was really checked as its A-label.
@pytest.mark.parametrize("target", ["xn--bcher-kva.example.test", "bücher.example.test", "BÜCHER.example.test",
                                    "Bücher.Example.Test"])
def test_caa_idn_u_label_and_a_label_checked_alike(cluster, target):
    r = cluster.caa(target)
    assert_unanimous(r, target, False, "xn--bcher-kva.example.test", OTHER_ISSUER)


def test_caa_idn_wildcard_u_label(cluster):
    r = cluster.caa("*.bücher.example.test")
    assert_unanimous(r, "*.bücher.example.test", False, "xn--bcher-kva.example.test", OTHER_ISSUER)


@pytest.mark.parametrize("target", ["a\u200db.example.test", "\u0301abc.example.test", "bücher..example.test",
                                    "\uff11\uff12\uff17.\uff10.\uff10.\uff11"],
                         ids=["zwj", "leading-combining-mark", "empty-label", "fullwidth-digits"])
def test_caa_invalid_u_label_is_400(cluster, target):
    r = cluster.caa(target)
    assert r.status_code == 400, describe(r)
    assert [i["issue_type"] for i in r.body["validation_issues"]] == ["invalid-domain"], describe(r)
