"""The shipped example configuration (deploy/config/) stays valid: both daemons accept it with -t, and the
orchestrator reports the BR 3.2.2.9 phase status, the computed too-close pair and the primary."""
import os
import pathlib
import re
import shutil
import subprocess

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
    (tmp_path / "secrets" / "api-key.next").write_text("next-key-0123456789\n")
    (tmp_path / "secrets" / "cohort-secret").write_text("0123456789abcdef0123456789abcdef\n")
    return dict(os.environ, MPIC_API_KEY="current-key-0123456789")


def run(binary, config, env):
    return subprocess.run([str(build_dir() / binary), "-c", str(config), "-t"], env=env, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=30)


def test_example_orchestrator_config_passes_and_reports_phase(tmp_path):
    env = prepare(tmp_path)
    r = run("mpic-orchestrator", tmp_path / "orchestrator.json", env)
    assert r.returncode == 0, r.stdout
    assert "configuration OK: 8 perspectives over 4 RIRs" in r.stdout
    assert re.search(r"policy cabf-br: BR 3\.2\.2\.9 phase of 2026-06-15 in force \(at least 4 remote perspectives\)",
                     r.stdout), r.stdout
    assert "next phase 2026-12-15 (at least 5)" in r.stdout
    assert "WARNING" not in r.stdout            # default count 5 already meets the next phase
    assert "too close (never in one cohort): us-east-1 ~ us-east-2" in r.stdout
    assert "primary perspective: ca-primary" in r.stdout and "required for a valid answer" in r.stdout


def test_example_orchestrator_warns_within_30_days_when_next_phase_not_met(tmp_path):
    env = prepare(tmp_path)
    cfg = tmp_path / "orchestrator.json"
    cfg.write_text(cfg.read_text().replace('"default_perspective_count": 5', '"default_perspective_count": 4'))
    r = run("mpic-orchestrator", cfg, env)
    assert r.returncode == 0, r.stdout
    assert "WARNING: from 2026-12-15 BR 3.2.2.9 requires 5 remote perspectives" in r.stdout


def test_example_orchestrator_refuses_below_phase_minimum(tmp_path):
    env = prepare(tmp_path)
    cfg = tmp_path / "orchestrator.json"
    cfg.write_text(cfg.read_text().replace('"default_perspective_count": 5', '"default_perspective_count": 3'))
    r = run("mpic-orchestrator", cfg, env)
    assert r.returncode == 1, r.stdout
    assert "requires 4 remote perspectives" in r.stdout and "orchestrator.policy" in r.stdout


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
