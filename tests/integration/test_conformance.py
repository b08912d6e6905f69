"""The conformance kit against our own server (docs/conformance.md): scripts/mpic-conformance's
contract checks and scenario table, and the client examples in examples/clients/, all against the
session cluster. The runner's power to catch defects is tested apart, against
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
    failed = {l.split()[1].rstrip(":") for l in lines if l.startswith("FAIL ")}
    assert int(m.group(2)) == len(failed), p.stdout
    assert p.returncode == 0, p.stdout
    assert int(m.group(1)) >= at_least, p.stdout


@pytest.mark.timeout(300)
def test_contract_checks_pass_against_our_server(cluster):
    p = run(cluster.url + "/v1/mpic", cluster.api_key, "--target", "example.test")
    assert_all_pass(p, 30)


@pytest.mark.timeout(300)
def test_contract_checks_pass_on_the_mpic_path_too(cluster):
    # URL given as /mpic: path-both then asks /v1/mpic.
    p = run(cluster.url + "/mpic", cluster.api_key, "--target", "example.test", "--only", "path-")
    assert_all_pass(p, 3)


@pytest.mark.timeout(300)
def test_scenario_table_passes_against_the_lab(cluster):
    p = run(cluster.url + "/v1/mpic", cluster.api_key, "--target", "example.test", "--scenarios",
            "--only", "scenario:")
    assert_all_pass(p, 10)


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


# ---- client examples --------------------------------------------------------------------------
# example.test: its CAA permits our issuer; deny.example.test: another CA only (test_caa_zones.py).

def client(kind, cluster, target):
    args = {"sh": ["bash", str(REPO / "examples" / "clients" / "ejbca-style.sh")],
            "py": [sys.executable, str(REPO / "examples" / "clients" / "ejbca_style.py")]}[kind]
    return subprocess.run(args + [cluster.url + "/v1/mpic", cluster.api_key, target], cwd=REPO,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=60)


@pytest.mark.parametrize("kind", ["sh", "py"])
def test_client_example_valid_target_exits_0(cluster, kind):
    p = client(kind, cluster, "example.test")
    assert p.returncode == 0, p.stdout
    assert "example.test: valid" in p.stdout, p.stdout


@pytest.mark.parametrize("kind", ["sh", "py"])
def test_client_example_denied_target_exits_1(cluster, kind):
    p = client(kind, cluster, "deny.example.test")
    assert p.returncode == 1, p.stdout
    assert "deny.example.test: not valid" in p.stdout, p.stdout


@pytest.mark.parametrize("kind", ["sh", "py"])
def test_client_example_errors_exit_2(cluster, kind):
    class WrongKey:
        url, api_key = cluster.url, "not-the-key"
    assert client(kind, WrongKey, "example.test").returncode == 2     # 403
    assert client(kind, cluster, "exa mple.test").returncode == 2     # 400
