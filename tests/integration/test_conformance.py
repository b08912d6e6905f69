"""scripts/mpic-conformance's contract checks against our own server, the session cluster
(docs/conformance.md). The scenario table and the client examples need a scenario-mode cluster
(test_scenarios.py); the runner's power to catch defects is tested against
tests/conformance/wrong_server.py (test_conformance_runner.py)."""
import re
import subprocess
import sys

import pytest

from conftest import REPO

RUNNER = REPO / "scripts" / "mpic-conformance"
SUMMARY = re.compile(r"^(\d+) passed, (\d+) failed$")


def run(*args, timeout=240):
    return subprocess.run([sys.executable, str(RUNNER), *args], cwd=REPO, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=timeout)


def assert_all_pass(p, at_least):
    lines = p.stdout.strip().splitlines()
    m = SUMMARY.match(lines[-1]) if lines else None
    assert m, f"no summary line:\n{p.stdout}"
    failed = [l for l in lines if l.startswith("FAIL ")]
    assert int(m.group(2)) == len(failed) == 0, p.stdout
    assert int(m.group(1)) >= at_least, p.stdout
    assert p.returncode == 0, p.stdout


@pytest.mark.timeout(300)
def test_contract_checks_pass_against_our_server(cluster):
    p = run(cluster.url + "/v1/mpic", cluster.api_key, "--target", "example.test")
    assert_all_pass(p, 30)


@pytest.mark.timeout(300)
def test_contract_checks_pass_on_the_mpic_path_too(cluster):
    # URL given as /mpic: path-both then asks /v1/mpic.
    p = run(cluster.url + "/mpic", cluster.api_key, "--target", "example.test", "--only", "path-")
    assert_all_pass(p, 3)


def test_wrong_key_is_seen(cluster):
    p = run(cluster.url + "/v1/mpic", "not-the-key", "--target", "example.test", "--only", "resp-")
    assert p.returncode == 1, p.stdout
    assert "FAIL resp-content-type: expected 200, got HTTP 403" in p.stdout, p.stdout


def test_unreachable_server_is_exit_2():
    p = run("http://127.0.0.1:9/v1/mpic", "k")
    assert p.returncode == 2, p.stdout
    assert "cannot connect" in p.stdout, p.stdout


def test_usage_error_is_exit_2():
    assert run("http://127.0.0.1:9/v1/mpic").returncode == 2
