"""Scenario mode (local-cluster.sh up --scenarios, docs/conformance.md "Scenario mode"): the
runner's scenario table, tests/conformance/scenarios.json, run by scripts/mpic-conformance
--scenarios against a scenario cluster, so that the table a client developer reads cannot drift
from what the server does and the runner's code is the one checker of it; the client examples of
examples/clients/ against the same cluster. Plus the guards of the lab behaviours: refused under
cabf-br, refused by a build without them, listed by mpic-agent -t.

Own cluster: port 18600, DNS lab 127.0.69.1 (web lab 127.0.69.11..19)."""
import json
import re
import subprocess
import sys

import pytest

from conftest import CLUSTER_SCRIPT, REPO, build_dir, cluster_lifetime

PORT, LAB_IP = 18600, "127.0.69.1"
RUNNER = REPO / "scripts" / "mpic-conformance"
TABLE = json.loads((REPO / "tests" / "conformance" / "scenarios.json").read_text())["scenarios"]
IDS = [row["id"] for row in TABLE]


@pytest.fixture(scope="module")
def cluster(request):
    yield from cluster_lifetime(request, PORT, LAB_IP, None, "--scenarios")


def runner(*args):
    return subprocess.run([sys.executable, str(RUNNER), *args], cwd=REPO, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=600)


def run_scenarios(cluster, only="scenario:"):
    """The ids the runner reported as passed, after asserting that none failed."""
    p = runner(cluster.url + "/v1/mpic", cluster.api_key, "--scenarios", "--only", only, "-v")
    lines = p.stdout.strip().splitlines()
    assert lines and re.fullmatch(r"\d+ passed, 0 failed", lines[-1]) and p.returncode == 0, p.stdout
    return [l[len("ok scenario:"):] for l in lines if l.startswith("ok scenario:")]


def test_table_is_well_formed():
    # The runner refuses a malformed table (exit 2) and lists one check per row.
    p = runner("http://127.0.0.1:9/v1/mpic", "k", "--scenarios", "--list")
    assert p.returncode == 0, p.stdout
    assert [l[len("scenario:"):] for l in p.stdout.split() if l.startswith("scenario:")] == IDS
    # The brief of the table: every kind of answer a client must handle is in it.
    expects = [row["expect"] for row in TABLE]
    assert {e["status"] for e in expects} == {200, 400, 403, 404, 405, 413}
    assert any(e.get("mpic_completed") is False for e in expects)
    assert any(e.get("previous_attempt_results") == "list" for e in expects)
    assert any("max_elapsed_ms" in e for e in expects) and any("incomplete_perspectives" in e for e in expects)
    assert {row["http"]["method"] for row in TABLE if "method" in row.get("http", {})} == {"GET"}


@pytest.mark.timeout(600)
def test_every_scenario_passes(cluster):
    assert run_scenarios(cluster) == IDS


@pytest.mark.timeout(300)
def test_scenarios_are_deterministic(cluster):
    """The rows that depend on lab behaviours answer the same way a second time."""
    assert run_scenarios(cluster, "scenario:caa-") == [i for i in IDS if i.startswith("caa-")]


# ---- client examples (docs/conformance.md, "Client examples") --------------------------------
CLIENTS = {"sh": ["bash", str(REPO / "examples" / "clients" / "ejbca-style.sh")],
           "py": [sys.executable, str(REPO / "examples" / "clients" / "ejbca_style.py")]}
# name -> (exit status, output): a client decides on is_valid alone, whatever the perspectives say.
CLIENT_CASES = {
    "pass.conformance.test": (0, "valid"),
    "fail-1of6.conformance.test": (0, "valid"),          # one perspective fails, quorum holds
    "timeout-one.conformance.test": (0, "valid"),        # one perspective lost after 2 s
    "fail-3of6.conformance.test": (1, "not valid"),
    "deny.conformance.test": (1, "not valid"),
    "incomplete.conformance.test": (1, "not valid"),     # mpic_completed false
    "bogus.test": (1, "not valid"),
}


def client(kind, url, key, target):
    return subprocess.run(CLIENTS[kind] + [url + "/v1/mpic", key, target], cwd=REPO, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=60)


@pytest.mark.parametrize("kind", sorted(CLIENTS))
@pytest.mark.parametrize("name", sorted(CLIENT_CASES))
def test_client_example_decides_on_is_valid(cluster, kind, name):
    status, verdict = CLIENT_CASES[name]
    p = client(kind, cluster.url, cluster.api_key, name)
    assert (p.returncode, p.stdout) == (status, f"{name}: {verdict}\n")


@pytest.mark.parametrize("kind", sorted(CLIENTS))
def test_client_example_errors_exit_2(cluster, kind):
    p = client(kind, cluster.url, "not-the-key", "pass.conformance.test")
    assert p.returncode == 2 and "HTTP 403" in p.stdout, p.stdout
    p = client(kind, cluster.url, cluster.api_key, "exa mple.test")
    assert p.returncode == 2 and "HTTP 400" in p.stdout, p.stdout
    p = client(kind, "http://127.0.0.1:9", cluster.api_key, "pass.conformance.test")
    assert p.returncode == 2, p.stdout


def test_first_cohort_is_reported_at_start_up(cluster):
    log = (cluster.state / "logs" / "behaviours.log").read_text()
    assert log.startswith("first cohort of retry.conformance.test: "), log
    assert len(log.split(":", 1)[1].split()) == 3, log


def test_agent_check_lists_its_behaviours(cluster):
    p = subprocess.run([str(build_dir() / "mpic-agent"), "-t", "-c", str(cluster.state / "config" / "agent-us-east-1.json")],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=30)
    assert p.returncode == 0, p.stdout
    assert "lab behaviours" in p.stdout
    assert "incomplete.conformance.test: transport-error HTTP 503 after 0 ms" in p.stdout
    assert "near-deadline.conformance.test: delay after 1500 ms" in p.stdout


def _agent_check(binary, cluster, tmp_path, **agent):
    doc = json.loads((cluster.state / "config" / "agent-us-east-1.json").read_text())
    doc["agent"].update(agent)
    for k in [k for k, v in agent.items() if v is None]:
        del doc["agent"][k]
    # Same directory as the cluster's configs so that relative paths keep meaning the same files.
    cfg = cluster.state / "config" / f"test-{tmp_path.name}.json"
    cfg.write_text(json.dumps(doc))
    try:
        return subprocess.run([str(binary), "-t", "-c", str(cfg)], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, timeout=30)
    finally:
        cfg.unlink()


def test_behaviours_refused_under_cabf_br(cluster, tmp_path):
    for policy in ("cabf-br", None):   # None: the key left out, so the default cabf-br applies
        p = _agent_check(build_dir() / "mpic-agent", cluster, tmp_path, policy=policy)
        assert p.returncode == 1, p.stdout
        assert "agent.lab_behaviours: refused under policy cabf-br" in p.stdout, p.stdout


def test_behaviours_refused_by_a_build_without_them(cluster, tmp_path):
    release = REPO / "build"
    if not (release / "mpic-agent").exists() or (release / "mpic-lab-cohorts").exists():
        pytest.skip(f"no build without MPIC_LAB_BEHAVIOUR in {release}")
    p = _agent_check(release / "mpic-agent", cluster, tmp_path)
    assert p.returncode == 1, p.stdout
    assert "agent.lab_behaviours: this build has no lab behaviours" in p.stdout, p.stdout


def test_scenario_mode_refuses_cabf_br_before_starting_anything(tmp_path):
    p = subprocess.run(["bash", str(CLUSTER_SCRIPT), "up", "--scenarios", "--policy", "cabf-br", "--state",
                        str(tmp_path), "--port", str(PORT + 50), "--lab-ip", LAB_IP, "--build", str(build_dir())],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=30)
    assert p.returncode != 0
    assert "--scenarios runs under policy open-mpic-reference" in p.stdout, p.stdout
    assert not (tmp_path / "pids").exists()
