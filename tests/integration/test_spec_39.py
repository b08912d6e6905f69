"""Open MPIC spec 3.7 cohort_for_single_attempt and 3.9 require_exact_case, through the cluster.

cohort_for_single_attempt: on the default cluster (six agents, one cohort of six) and on a cluster of
ten agents, which forms two disjoint cohorts of five (a count every BR phase to date allows).
require_exact_case: the lab's records and pages hold ChallengeValue-123; the requests ask for the
same value in another case."""
import pytest

from conftest import cluster_lifetime, describe


@pytest.fixture(scope="module")
def ten(request):
    yield from cluster_lifetime(request, 18560, "127.0.68.1", 10)


def codes(r):
    return [p["perspective_code"] for p in r.body["perspectives"]]


def cohort_request(target, cohort, **orch):
    return {"domain_or_ip_target": target,
            "orchestration_parameters": dict(orch, cohort_for_single_attempt=cohort)}


def test_cohort_one_of_the_only_cohort_runs_once_and_is_echoed(cluster):
    r = cluster.mpic(cohort_request("example.test", 1, max_attempts=3))
    assert r.status_code == 200, describe(r)
    assert r.body["is_valid"] is True
    assert r.body["request_orchestration_parameters"] == {
        "perspective_count": None, "quorum_count": None, "max_attempts": 3, "cohort_for_single_attempt": 1}
    assert r.body["actual_orchestration_parameters"]["attempt_count"] == 1
    assert r.body["previous_attempt_results"] is None
    assert len(r.body["perspectives"]) == 6


@pytest.mark.parametrize("cohort", [0, -1, 2, 1.0, "1", True])
def test_cohort_out_of_range_or_not_an_integer_is_400(cluster, cohort):
    r = cluster.mpic(cohort_request("example.test", cohort))
    assert r.status_code == 400, describe(r)
    assert [i["issue_type"] for i in r.body["validation_issues"]] == ["invalid-cohort-for-single-attempt"], describe(r)


def test_cohort_below_the_br_minimum_is_a_policy_400(cluster):
    r = cluster.mpic(cohort_request("example.test", 1, perspective_count=2))
    assert r.status_code == 400, describe(r)
    assert "policy-minimum-perspectives" in [i["issue_type"] for i in r.body["validation_issues"]], describe(r)


def test_named_cohorts_are_the_disjoint_cohorts_that_attempts_walk_through(ten):
    first = ten.mpic(cohort_request("example.test", 1, perspective_count=5))
    second = ten.mpic(cohort_request("example.test", 2, perspective_count=5, max_attempts=3))
    for r in (first, second):
        assert r.status_code == 200 and r.body["is_valid"] is True, describe(r)
        assert r.body["actual_orchestration_parameters"] == {"perspective_count": 5, "quorum_count": 4,
                                                             "attempt_count": 1}
    assert not set(codes(first)) & set(codes(second))
    # Deterministic per target: the same cohort number names the same perspectives again, and it is
    # the cohort an ordinary request's first attempt uses.
    assert codes(ten.mpic(cohort_request("example.test", 2, perspective_count=5))) == codes(second)
    plain = ten.mpic({"domain_or_ip_target": "example.test", "orchestration_parameters": {"perspective_count": 5}})
    assert codes(plain) == codes(first)
    r = ten.mpic(cohort_request("example.test", 3, perspective_count=5))
    assert r.status_code == 400, describe(r)
    assert r.body["validation_issues"][0]["issue_type"] == "invalid-cohort-for-single-attempt"


def dns_change(value, rrtype, prefix, exact_case=None):
    p = {"validation_method": "dns-change", "challenge_value": value, "dns_record_type": rrtype,
         "dns_name_prefix": prefix}
    if exact_case is not None:
        p["require_exact_case"] = exact_case
    return {"check_type": "dcv", "domain_or_ip_target": "dcv.example.test", "dcv_check_parameters": p}


def website(value, exact_case=None):
    p = {"validation_method": "website-change", "http_token_path": "lab-change.txt", "challenge_value": value}
    if exact_case is not None:
        p["require_exact_case"] = exact_case
    return {"check_type": "dcv", "domain_or_ip_target": "http.dcv.example.test", "dcv_check_parameters": p}


@pytest.mark.parametrize("body,valid,echoed", [
    # TXT ChallengeValue-123 at _dnschange.dcv: case counts unless the client says it does not
    (dns_change("CHALLENGEVALUE-123", "TXT", "_dnschange"), False, True),
    (dns_change("CHALLENGEVALUE-123", "TXT", "_dnschange", True), False, True),
    (dns_change("CHALLENGEVALUE-123", "TXT", "_dnschange", False), True, False),
    (dns_change("ChallengeValue-123", "TXT", "_dnschange", True), True, True),
    # CNAME and CAA values are compared without case whatever was asked (the reference forces false)
    (dns_change("ChallengeValue-123.validation.other.test.", "CNAME", "_cnamechange", True), True, False),
    (dns_change("CHALLENGEVALUE-123", "CAA", "_caachange", True), True, False),
    # the page holds "Lab website change: ChallengeValue-123 (...)"
    (website("challengevalue-123"), False, True),
    (website("challengevalue-123", True), False, True),
    (website("challengevalue-123", False), True, False),
    (website("ChallengeValue-123"), True, True),
])
def test_require_exact_case(cluster, body, valid, echoed):
    r = cluster.mpic(body)
    assert r.status_code == 200, describe(r)
    assert r.body["is_valid"] is valid, describe(r)
    assert r.body["dcv_check_parameters"]["require_exact_case"] is echoed
