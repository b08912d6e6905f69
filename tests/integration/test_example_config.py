"""The shipped example configuration (deploy/config/) stays valid: both daemons accept it with -t, and the
orchestrator reports the BR 3.2.2.9 phase status, the computed too-close pair and the primary."""
import json
import os
import pathlib
import re
import shutil
import subprocess

import pytest

from conftest import REPO, build_dir


def prepare(tmp_path):
    for f in ("orchestrator.json", "agent.json"):
        shutil.copy(REPO / "deploy" / "config" / f, tmp_path / f)
    certs = tmp_path / "certs"
    subprocess.run(["bash", str(REPO / "scripts" / "gen-certs.sh"), str(certs), "eu-west-1"], check=True,
                   stdout=subprocess.DEVNULL)
    shutil.copy(certs / "agent-eu-west-1.crt", certs / "server.crt")
    shutil.copy(certs / "agent-eu-west-1.key", certs / "server.key")
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "api-key.next").write_text("next-key-0123456789abcdef0123456789ab\n")
    (tmp_path / "secrets" / "cohort-secret").write_text("0123456789abcdef0123456789abcdef\n")
    return dict(os.environ, MPIC_API_KEY="current-key-0123456789abcdef0123456789")


def run(binary, config, env):
    return subprocess.run([str(build_dir() / binary), "-c", str(config), "-t"], env=env, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)


def phase_status(stdout):
    """(phase in force, its minimum, next phase or None, its minimum, days to it) as -t prints them."""
    m = re.search(r"policy cabf-br: BR 3\.2\.2\.9 phase of (\d{4}-\d\d-\d\d) in force "
                  r"\(at least (\d+) remote perspectives\)(?:; next phase (\S+) \(at least (\d+)\) in (\d+) days)?$",
                  stdout, re.M)
    assert m, stdout
    nxt = m.group(3)
    return m.group(1), int(m.group(2)), nxt, int(m.group(4)) if nxt else None, int(m.group(5)) if nxt else None


def with_catalogue(cfg, size, default_count):
    """Writes to cfg the example config with its first `size` perspectives that are not too close."""
    doc = json.loads((REPO / "deploy" / "config" / "orchestrator.json").read_text())
    keep = [p for p in doc["perspectives"] if p["code"] != "us-east-2"][:size]
    for p in keep:
        p.pop("too_close", None)
    doc["perspectives"] = keep
    doc["orchestrator"]["default_perspective_count"] = default_count
    cfg.write_text(json.dumps(doc))


@pytest.mark.phase
def test_example_orchestrator_config_passes_and_reports_phase(tmp_path):
    env = prepare(tmp_path)
    r = run("mpic-orchestrator", tmp_path / "orchestrator.json", env)
    assert r.returncode == 0, r.stdout
    assert "configuration OK: 8 perspectives over 4 RIRs" in r.stdout
    phase, minimum, nxt, _, days = phase_status(r.stdout)
    assert minimum >= 4 and phase >= "2026-06-15", r.stdout
    assert nxt is None or days >= 1, r.stdout
    assert "WARNING" not in r.stdout            # default count 5 meets every phase scheduled
    assert re.search(r"^validation_method reverse-address-lookup \(BR 3\.2\.2\.5\.3\): refused (since|from) 2027-03-15$",
                     r.stdout, re.M), r.stdout
    assert "too close (never in one cohort): us-east-1 ~ us-east-2" in r.stdout
    assert "primary perspective: ca-primary" in r.stdout and "required for a valid answer" in r.stdout


@pytest.mark.phase
def test_example_orchestrator_warns_of_a_default_below_a_phase(tmp_path):
    env = prepare(tmp_path)
    cfg = tmp_path / "orchestrator.json"
    cfg.write_text(cfg.read_text().replace('"default_perspective_count": 5', '"default_perspective_count": 4'))
    r = run("mpic-orchestrator", cfg, env)
    assert r.returncode == 0, r.stdout            # a default below the phase is raised, not refused
    phase, minimum, nxt, nxt_min, days = phase_status(r.stdout)
    if minimum > 4:
        assert (f"WARNING: default_perspective_count 4 is below the {minimum} remote perspectives that BR 3.2.2.9"
                f" requires since {phase}: requests that do not name perspective_count get {minimum}") in r.stdout
    elif nxt is not None and days <= 30 and nxt_min > 4:
        assert f"WARNING: from {nxt} BR 3.2.2.9 requires {nxt_min} remote perspectives" in r.stdout, r.stdout
    else:
        assert "WARNING" not in r.stdout, r.stdout


@pytest.mark.phase
def test_example_orchestrator_refuses_a_catalogue_below_the_phase(tmp_path):
    env = prepare(tmp_path)
    cfg = tmp_path / "orchestrator.json"
    minimum = phase_status(run("mpic-orchestrator", cfg, env).stdout)[1]
    with_catalogue(cfg, minimum - 1, 2)
    r = run("mpic-orchestrator", cfg, env)
    assert r.returncode == 1, r.stdout
    assert f"requires {minimum} remote perspectives" in r.stdout and "orchestrator.policy" in r.stdout, r.stdout


@pytest.mark.phase
def test_example_orchestrator_check_fails_when_the_catalogue_cannot_field_the_next_phase(tmp_path):
    env = prepare(tmp_path)
    cfg = tmp_path / "orchestrator.json"
    _, minimum, nxt, nxt_min, _ = phase_status(run("mpic-orchestrator", cfg, env).stdout)
    with_catalogue(cfg, minimum, minimum)
    r = run("mpic-orchestrator", cfg, env)
    if nxt is not None and nxt_min > minimum:
        assert r.returncode == 1, r.stdout
        assert (f"perspectives: from {nxt} BR 3.2.2.9 requires {nxt_min} remote perspectives spanning two RIRs,"
                f" 500 km apart") in r.stdout, r.stdout
        with_catalogue(cfg, nxt_min, minimum)       # one more distinct perspective fields it
        r = run("mpic-orchestrator", cfg, env)
    assert r.returncode == 0, r.stdout


def test_example_agent_config_passes(tmp_path):
    env = prepare(tmp_path)
    r = run("mpic-agent", tmp_path / "agent.json", env)
    assert r.returncode == 0, r.stdout
    assert "configuration OK: agent perspective eu-west-1" in r.stdout


def test_missing_secret_names_file_and_key(tmp_path):
    env = prepare(tmp_path)
    del env["MPIC_API_KEY"]
    r = run("mpic-orchestrator", tmp_path / "orchestrator.json", env)
    assert r.returncode == 1
    assert "orchestrator.json: orchestrator.api_keys[0]" in r.stdout, r.stdout


def test_short_api_key_is_refused_naming_its_position(tmp_path):
    env = prepare(tmp_path)
    (tmp_path / "secrets" / "api-key.next").write_text("x" * 31 + "\n")
    r = run("mpic-orchestrator", tmp_path / "orchestrator.json", env)
    assert r.returncode == 1
    assert "orchestrator.api_keys[1]: API key is 31 bytes, at least 32 are required" in r.stdout, r.stdout
