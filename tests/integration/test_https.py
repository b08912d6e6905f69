"""The orchestrator serving clients over HTTPS (orchestrator.tls): a second orchestrator on the session cluster's
agents, with a server certificate from the cluster's CA, answers over TLS and not over plain HTTP."""
import json
import subprocess
import time

import requests

from conftest import build_dir, check_against_spec, parse_json

PORT = 18095


def test_orchestrator_serves_https_when_tls_is_configured(cluster, tmp_path):
    cfg = json.loads((cluster.state / "config" / "orchestrator.json").read_text())
    cfg["orchestrator"]["listen"] = f"127.0.0.1:{PORT}"
    cfg["orchestrator"]["tls"] = {"cert": str(cluster.certs / "agent-us-east-1.crt"),
                                  "key": str(cluster.certs / "agent-us-east-1.key")}
    cfg["orchestrator"]["audit_log"]["path"] = str(tmp_path / "audit.jsonl")
    path = tmp_path / "orchestrator-https.json"
    path.write_text(json.dumps(cfg))
    log = open(tmp_path / "orchestrator.log", "w")
    proc = subprocess.Popen([str(build_dir() / "mpic-orchestrator"), "-c", str(path)], stdout=log, stderr=log)
    try:
        url = f"https://127.0.0.1:{PORT}"
        for _ in range(100):
            try:
                if requests.get(url + "/healthz", verify=str(cluster.certs / "ca.crt"), timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.05)
        r = requests.post(url + "/v1/mpic", json={"domain_or_ip_target": "example.test"},
                          headers={"x-api-key": cluster.api_key}, verify=str(cluster.certs / "ca.crt"), timeout=30)
        r.body = parse_json(r.text)
        check_against_spec(r)
        assert r.status_code == 200 and r.body["is_valid"] is True
        try:
            plain = requests.get(f"http://127.0.0.1:{PORT}/healthz", timeout=2).status_code
        except requests.RequestException:
            plain = None
        assert plain is None, "plain HTTP must not be answered on an HTTPS listener"
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0
        log.close()
    assert "ERROR: AddressSanitizer" not in (tmp_path / "orchestrator.log").read_text()
