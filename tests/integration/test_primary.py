"""The primary network perspective (BR 3.2.2.9: MPIC corroborates the primary's determination).

One cluster (port 18540, lab 127.0.67.1) with six remotes and a primary agent, ca-primary, whose resolver is a
second lab started with `dns-lab.sh DIR 127.0.68.2 --alt`: there _acme-challenge.dcvquorum.example.test holds
another value, so for that name the remotes all see the challenge and the primary does not. With
--require-primary the answer is valid only when the primary passed as well; the primary is reported as one
more entry of `perspectives` and never counted in the quorum figures.
"""
import json

import pytest

from conftest import cluster_lifetime, describe
from test_dcv_clusters import H, alt_lab_at

ALT_LAB_IP = "127.0.68.2"


@pytest.fixture(scope="module")
def alt_resolver():
    yield from alt_lab_at(ALT_LAB_IP)


@pytest.fixture(scope="module")
def primary_cluster(request, alt_resolver):
    yield from cluster_lifetime(request, 18540, "127.0.67.1", None, "--primary", "--require-primary",
                        "--primary-resolver", alt_resolver)


def entries(r):
    assert r.status_code == 200, describe(r)
    return {p["perspective_code"]: p["check_response"] for p in r.body["perspectives"]}


def test_primary_reported_after_the_cohort_and_outside_the_quorum(primary_cluster):
    r = primary_cluster.mpic({"domain_or_ip_target": "example.test"})
    seen = entries(r)
    assert r.body["is_valid"] is True, describe(r)
    assert len(r.body["perspectives"]) == 7 and r.body["perspectives"][-1]["perspective_code"] == "ca-primary"
    assert seen["ca-primary"]["check_passed"] is True
    assert r.body["actual_orchestration_parameters"] == {"perspective_count": 6, "quorum_count": 4, "attempt_count": 1}


def test_primary_fails_remotes_pass_is_invalid(primary_cluster):
    r = primary_cluster.mpic({"check_type": "dcv", "domain_or_ip_target": "dcvquorum.example.test",
                              "dcv_check_parameters": {"validation_method": "acme-dns-01",
                                                       "key_authorization_hash": H}})
    seen = entries(r)
    remotes = {code: cr for code, cr in seen.items() if code != "ca-primary"}
    assert len(remotes) == 6 and all(cr["check_passed"] for cr in remotes.values()), describe(r)
    assert seen["ca-primary"]["check_completed"] is True and seen["ca-primary"]["check_passed"] is False
    assert seen["ca-primary"]["details"]["records_seen"] == ["a-value-only-the-alt-lab-serves"]
    assert r.body["is_valid"] is False and r.body["mpic_completed"] is True, describe(r)


def test_primary_result_in_the_audit_log(primary_cluster):
    trace = "primary-audit"
    primary_cluster.mpic({"check_type": "dcv", "domain_or_ip_target": "dcvquorum.example.test",
                          "trace_identifier": trace,
                          "dcv_check_parameters": {"validation_method": "acme-dns-01", "key_authorization_hash": H}})
    lines = [json.loads(l) for l in (primary_cluster.state / "logs" / "audit.jsonl").read_text().splitlines()]
    mine = [l for l in lines if l.get("trace_identifier") == trace]
    req = [l for l in mine if l["event"] == "mpic_request"][0]
    assert req["primary_passed"] is False and req["quorum"] == "6/6" and req["is_valid"] is False
    assert any(l["event"] == "perspective_attempt" and l["perspective_code"] == "ca-primary" for l in mine)
