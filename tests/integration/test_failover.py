"""Perspectives that die or hang: the request still succeeds, the lost perspectives are
reported as incomplete with mpic_error:coordinator:remote_check, and the quorum decides.

This module runs its own cluster (port 18180, lab 127.0.61.1) because it kills agents. The tests
build on each other in file order (one dead agent, then two,
then a hung third), and each one (re)applies the damage it needs, so any of them can also run
alone."""
import os
import signal
import time

import pytest

from conftest import AGENT_CODES, describe, port_open, start_cluster, stop_cluster

REMOTE_CHECK = "mpic_error:coordinator:remote_check"
FIRST, SECOND, THIRD = "us-east-1", "eu-west-1", "ap-northeast-1"
ANSWER_WITHIN_S = 15


@pytest.fixture(scope="module")
def cluster(request):
    c = start_cluster(18180, "127.0.61.1")
    c.stopped = []
    failed_before = request.session.testsfailed
    try:
        yield c
    finally:
        for pid in c.stopped:                  # let `down` end hung agents normally
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
        stop_cluster(c, keep=request.session.testsfailed > failed_before)


def kill_agent(cluster, code):
    port = cluster.agent_port(code)
    if not port_open("127.0.0.1", port):
        return
    os.kill(cluster.pid(f"agent-{code}"), signal.SIGKILL)
    deadline = time.monotonic() + 5
    while port_open("127.0.0.1", port):
        assert time.monotonic() < deadline, f"agent {code} still listens on :{port} after SIGKILL"
        time.sleep(0.05)


def stop_agent(cluster, code):
    pid = cluster.pid(f"agent-{code}")
    if pid not in cluster.stopped:
        os.kill(pid, signal.SIGSTOP)          # still accepts TCP (backlog), never answers
        cluster.stopped.append(pid)


def request_example(cluster):
    r = cluster.mpic({"check_type": "caa", "domain_or_ip_target": "example.test",
                      "orchestration_parameters": {"perspective_count": 6, "quorum_count": 4}})
    assert r.status_code == 200, describe(r)
    return r


def by_code(body):
    return {p["perspective_code"]: p["check_response"] for p in body["perspectives"]}


def assert_lost(cr, code):
    assert cr["check_completed"] is False and cr["check_passed"] is False, f"{code}: {cr}"
    assert any(e["error_type"] == REMOTE_CHECK for e in cr["errors"] or []), f"{code}: {cr}"


def assert_healthy(cr, code):
    assert cr["check_completed"] is True and cr["check_passed"] is True and cr["errors"] is None, f"{code}: {cr}"


def test_all_agents_up_baseline(cluster):
    r = request_example(cluster)
    assert r.body["is_valid"] is True and r.body["mpic_completed"] is True, describe(r)
    for code, cr in by_code(r.body).items():
        assert_healthy(cr, code)


def test_one_killed_agent_reported_as_remote_check_error(cluster):
    kill_agent(cluster, FIRST)
    r = request_example(cluster)
    assert r.elapsed_s < ANSWER_WITHIN_S, f"answered after {r.elapsed_s:.1f} s"
    b = r.body
    assert b["is_valid"] is True, describe(r)
    assert b["mpic_completed"] is True, describe(r)
    crs = by_code(b)
    assert sorted(crs) == sorted(AGENT_CODES), describe(r)
    assert_lost(crs[FIRST], FIRST)
    for code in AGENT_CODES:
        if code != FIRST:
            assert_healthy(crs[code], code)


def test_two_killed_agents_still_meet_quorum_four_of_six(cluster):
    kill_agent(cluster, FIRST)
    kill_agent(cluster, SECOND)
    r = request_example(cluster)
    assert r.elapsed_s < ANSWER_WITHIN_S, f"answered after {r.elapsed_s:.1f} s"
    b = r.body
    assert b["is_valid"] is True, describe(r)
    assert b["mpic_completed"] is True, describe(r)       # 2 incomplete <= 6 - 4
    crs = by_code(b)
    assert_lost(crs[FIRST], FIRST)
    assert_lost(crs[SECOND], SECOND)
    assert sum(cr["check_passed"] for cr in crs.values()) == 4, describe(r)


def test_hung_third_agent_breaks_quorum_within_deadline(cluster):
    kill_agent(cluster, FIRST)
    kill_agent(cluster, SECOND)
    stop_agent(cluster, THIRD)
    r = request_example(cluster)
    assert r.elapsed_s < ANSWER_WITHIN_S, f"answered after {r.elapsed_s:.1f} s"
    b = r.body
    assert b["is_valid"] is False, describe(r)
    assert b["mpic_completed"] is False, describe(r)      # 3 incomplete > 6 - 4
    crs = by_code(b)
    for code in (FIRST, SECOND, THIRD):
        assert_lost(crs[code], code)
