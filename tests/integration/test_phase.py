"""The date in the BR rules, end to end: validation methods the BRs retire on a date (BR 3.2.2.4.13-.17,
3.2.2.5.3; SC-090, SC-091) and a BR 3.2.2.9 phase date crossed while the orchestrator runs.

The sunsets and the phases come from the orchestrator's own `-t` output (conftest Cluster.read_policy),
never from a copy of the table: each test expects what the daemon's clock makes of them. The
midnight test runs a cluster of its own (port 18700, lab 127.0.71.1) whose daemons' clock starts
seconds before 2026-12-15T00:00:00Z (MPIC_TEST_CLOCK: a build with the test clock, as the sanitizer
build is)."""
import re
import time

import pytest

from conftest import cluster_lifetime, describe

# One request each method would otherwise answer with 200 (the lab: tests/lab/README.md "DCV").
REQUESTS = {
    "reverse-address-lookup": ("203.0.113.5", "dcv.example.test"),
    "contact-phone-txt": ("dcv.example.test", "+1-555-0100"),
    "contact-phone-caa": ("a.b.contactdcv.example.test", "+1-555-0100"),
    "contact-email-txt": ("dcv.example.test", "dcv-admin@example.test"),
    "contact-email-caa": ("a.b.contactdcv.example.test", "dcv-admin@example.test"),
}


def dcv(cluster, method):
    target, value = REQUESTS[method]
    return cluster.mpic({"check_type": "dcv", "domain_or_ip_target": target,
                         "dcv_check_parameters": {"validation_method": method, "challenge_value": value}})


def issues(r, kind):
    return [i["message"] for i in r.body["validation_issues"] if i["issue_type"] == kind]


@pytest.mark.phase
def test_retired_methods_refused_from_their_date_under_cabf_br(cluster):
    assert cluster.policy == "cabf-br"
    assert set(cluster.sunset) == set(REQUESTS), cluster.check_output
    for method, (section, date, in_force) in cluster.sunset.items():
        r = dcv(cluster, method)
        if in_force:
            assert r.status_code == 400, describe(r)
            msg = issues(r, "policy-method-sunset")
            assert msg and method in msg[0] and f"BR {section}" in msg[0] and date in msg[0], describe(r)
        else:
            assert r.status_code == 200 and r.body["is_valid"] is True, describe(r)


def test_retired_methods_accepted_under_open_mpic_reference(cluster, reference_cluster):
    assert reference_cluster.policy == "open-mpic-reference" and reference_cluster.sunset == {}
    for method in cluster.sunset:
        r = dcv(reference_cluster, method)
        assert r.status_code == 200 and r.body["is_valid"] is True, describe(r)


def actual_count(c):
    r = c.mpic({"domain_or_ip_target": "example.test"})
    assert r.status_code == 200, describe(r)
    return r.body["actual_orchestration_parameters"]["perspective_count"]


@pytest.fixture
def midnight(request):
    yield from cluster_lifetime(request, 18700, "127.0.71.1", None, "--default-count", "4",
                                clock="2026-12-14T23:59:45Z")


def test_default_count_rises_at_the_phase_date_without_an_outage(midnight):
    c = midnight
    if not c.test_clock:
        pytest.skip("these daemons were built without the test clock (-DMPIC_TEST_CLOCK=ON)")
    assert c.policy == "cabf-br" and c.br_min == 4 and c.next_phase == "2026-12-15", c.check_output
    # The default meets the phase in force; -t and start-up warn of the next one.
    assert f"WARNING: from {c.next_phase} BR 3.2.2.9 requires {c.next_min}" in c.check_output, c.check_output
    assert actual_count(c) == 4
    deadline = time.monotonic() + 45
    while (count := actual_count(c)) == 4:
        assert time.monotonic() < deadline, "the orchestrator's clock never reached the next phase"
        time.sleep(0.5)
    assert count == c.next_min
    assert actual_count(c) == c.next_min
    r = c.mpic({"domain_or_ip_target": "example.test", "orchestration_parameters": {"perspective_count": 4}})
    assert r.status_code == 400 and issues(r, "policy-minimum-perspectives"), describe(r)
    log = (c.state / "logs" / "orchestrator.log").read_text()
    raised = [l for l in log.splitlines() if "event=policy_default_raised" in l]
    assert len(raised) == 1, log                                 # once a UTC day
    assert re.match(rf"^{c.next_phase}T00:00:\d\d\.\d{{3}}Z mpic-orchestrator warn ", raised[0]), raised
    assert f"configured=4 used={c.next_min} phase={c.next_phase}" in raised[0], raised
