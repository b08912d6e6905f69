"""The mpic command-line client against the session cluster: its exit status (0 valid, 1 not valid,
2 no verdict), its table and verdict line, --json as the answer received, DCV flags reaching the
wire, and where the URL and key come from (flags > environment > config file).

The lab records are those of test_caa_zones.py and test_dcv_methods.py. The client runs with HOME
and XDG_CONFIG_HOME in the test's tmp_path, so no config file of the machine's user is read."""
import os
import re
import subprocess

import pytest

import schema
from conftest import AGENT_CODES, REPO, build_dir, parse_json, read_env_file

H = "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0"   # at _acme-challenge.dcv.example.test
OTHER_H = "AAAAcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0"
KEYAUTH = "lab-token-ok.LabThumbprint0123456789"
ACCOUNT = "https://example.com/acme/acct/ExampleAccount"
CLOSED_URL = "http://127.0.0.1:9"   # discard port: nothing listens there


def run_mpic(tmp_path, *args, env=None, cluster=None):
    """Runs build/mpic; with cluster, MPIC_URL and MPIC_API_KEY come from its cluster.env."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("MPIC_")}
    full_env.update(HOME=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path / "xdg"))
    if cluster is not None:
        full_env.update(read_env_file(cluster.state / "cluster.env"))
    full_env.update(env or {})
    p = subprocess.run([str(build_dir() / "mpic"), *args], env=full_env, stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=60)
    assert "Sanitizer" not in p.stderr, p.stderr
    return p


def show(p):
    return f"exit {p.returncode}\nstdout:\n{p.stdout}\nstderr:\n{p.stderr}"


def write_config(tmp_path, path, url, key):
    (tmp_path / "key").write_text(key + "\n")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"# mpic client\nurl = {url}\nkey_file = {tmp_path / 'key'}\n")
    return path


# ---- verdicts ----------------------------------------------------------------------------------

def test_cli_valid_caa_exits_0_with_table_and_quorum(cluster, tmp_path):
    p = run_mpic(tmp_path, "caa", "example.test", cluster=cluster)
    assert p.returncode == 0, show(p)
    assert "VALID: 6/6 perspectives passed (quorum 4), 1 attempt" in p.stdout, show(p)
    rows = [line.split() for line in p.stdout.splitlines() if line.split()[:1] and line.split()[0] in AGENT_CODES]
    assert sorted(r[0] for r in rows) == sorted(AGENT_CODES), show(p)
    for r in rows:
        assert r[1:4] == ["yes", "yes", "example.test"] and '"ca.example.net"' in r, show(p)
    assert p.stderr == "", show(p)   # no progress line: stderr is not a terminal


def test_cli_denied_caa_exits_1(cluster, tmp_path):
    p = run_mpic(tmp_path, "caa", "deny.example.test", cluster=cluster)
    assert p.returncode == 1, show(p)
    assert "NOT VALID: 0/6 perspectives passed (quorum 4), 1 attempt" in p.stdout, show(p)
    assert '"other-ca.example.org"' in p.stdout, show(p)


def test_cli_orchestration_flags_reach_the_server(cluster, tmp_path):
    p = run_mpic(tmp_path, "caa", "deny.example.test", "--perspective-count", "6", "--quorum-count", "5",
                 "--max-attempts", "2", "--trace-id", "cli-trace-1", cluster=cluster)
    assert p.returncode == 1, show(p)
    assert "NOT VALID: 0/6 perspectives passed (quorum 5), 2 attempts" in p.stdout, show(p)
    assert "attempt 1 of 2" in p.stdout and "trace cli-trace-1" in p.stdout, show(p)
    p = run_mpic(tmp_path, "caa", "deny.example.test", "--max-attempts", "3", "--cohort", "1", cluster=cluster)
    assert "(quorum 4), 1 attempt," in p.stdout, show(p)   # a chosen cohort means one attempt


def test_cli_json_is_the_answer_as_received(cluster, tmp_path):
    p = run_mpic(tmp_path, "caa", "example.test", "--json", "--trace-id", "cli-json", cluster=cluster)
    assert p.returncode == 0, show(p)
    body = parse_json(p.stdout)   # the whole of stdout is one JSON document
    schema.assert_valid(schema.response_schema_name(body), body)
    schema.assert_key_order(body)
    assert body["is_valid"] is True and body["trace_identifier"] == "cli-json"
    p = run_mpic(tmp_path, "caa", "deny.example.test", "--json", "--caa-domain", "ca.example.net", cluster=cluster)
    assert p.returncode == 1, show(p)
    body = parse_json(p.stdout)
    assert body["caa_check_parameters"] == {"certificate_type": "tls-server", "caa_domains": ["ca.example.net"]}
    # issue records do not govern S/MIME (RFC 9495): the same zone permits it.
    p = run_mpic(tmp_path, "caa", "deny.example.test", "--json", "--s-mime", cluster=cluster)
    assert p.returncode == 0, show(p)
    assert parse_json(p.stdout)["caa_check_parameters"]["certificate_type"] == "s-mime"


# target, method, flags, exit status: each flag must reach its wire key for the check to pass.
DCV_CASES = [
    ("dcv.example.test", "acme-dns-01", ["--key-authorization-hash", H], 0),
    ("dcv.example.test", "acme-dns-01", ["--key-authorization-hash", OTHER_H], 1),
    ("http.dcv.example.test", "acme-http-01", ["--token", "lab-token-ok", "--key-authorization", KEYAUTH,
                                               "--header", "X-Probe: cli"], 0),
    ("http.dcv.example.test", "website-change", ["--http-token-path", "lab-change.txt",
                                                 "--challenge-value", "ChallengeValue-123"], 0),
    ("dcv.example.test", "dns-change", ["--record-type", "txt", "--challenge-value", "ChallengeValue-123"], 0),
    ("dcv.example.test", "dns-change", ["--record-type", "TXT", "--challenge-value", "ChallengeValue-123",
                                        "--require-exact-match"], 1),
    ("dcv.example.test", "dns-account-01", ["--key-authorization-hash", H, "--account-uri", ACCOUNT], 0),
]


@pytest.mark.parametrize("target,method,flags,status", DCV_CASES,
                         ids=[f"{c[1]}-{'passes' if c[3] == 0 else 'fails'}-{i}" for i, c in enumerate(DCV_CASES)])
def test_cli_dcv_methods(cluster, tmp_path, target, method, flags, status):
    p = run_mpic(tmp_path, "dcv", method, target, *flags, cluster=cluster)
    assert p.returncode == status, show(p)
    assert f"DCV check of {target} by {method}" in p.stdout, show(p)
    verdict = "VALID: 6/6" if status == 0 else "NOT VALID: 0/6"
    assert f"\n{verdict} perspectives passed (quorum 4)" in p.stdout, show(p)


# ---- no verdict: exit 2 -----------------------------------------------------------------------

def test_cli_bad_request_exits_2_with_every_issue(cluster, tmp_path):
    p = run_mpic(tmp_path, "caa", "bad..target", "--perspective-count", "99", cluster=cluster)
    assert p.returncode == 2, show(p)
    assert "HTTP 400" in p.stderr, show(p)
    assert "  invalid-domain: " in p.stderr and "  invalid-perspective-count: " in p.stderr, show(p)
    assert p.stdout == "", show(p)


def test_cli_missing_dcv_parameter_is_the_servers_400(cluster, tmp_path):
    p = run_mpic(tmp_path, "dcv", "acme-http-01", "http.dcv.example.test", "--token", "lab-token-ok",
                 cluster=cluster)
    assert p.returncode == 2, show(p)
    assert "missing-field: dcv_check_parameters.key_authorization" in p.stderr, show(p)


def test_cli_flag_the_method_does_not_take_is_refused_locally(tmp_path):
    p = run_mpic(tmp_path, "dcv", "acme-dns-01", "dcv.example.test", "--token", "t", env={"MPIC_URL": CLOSED_URL})
    assert p.returncode == 2, show(p)
    assert "--token does not apply to acme-dns-01" in p.stderr, show(p)


def test_cli_wrong_key_exits_2(cluster, tmp_path):
    p = run_mpic(tmp_path, "caa", "example.test", cluster=cluster, env={"MPIC_API_KEY": "not-the-key"})
    assert p.returncode == 2, show(p)
    assert "HTTP 403" in p.stderr, show(p)


def test_cli_unreachable_server_exits_2(tmp_path):
    p = run_mpic(tmp_path, "caa", "example.test", env={"MPIC_URL": CLOSED_URL, "MPIC_API_KEY": "k"})
    assert p.returncode == 2, show(p)
    assert CLOSED_URL + "/v1/mpic" in p.stderr, show(p)


def test_cli_without_url_or_key_exits_2_naming_the_sources(tmp_path):
    p = run_mpic(tmp_path, "caa", "example.test")
    assert p.returncode == 2 and "no server URL" in p.stderr and "MPIC_URL" in p.stderr, show(p)
    p = run_mpic(tmp_path, "caa", "example.test", env={"MPIC_URL": CLOSED_URL})
    assert p.returncode == 2 and "no API key" in p.stderr and "MPIC_API_KEY" in p.stderr, show(p)


# ---- where URL and key come from --------------------------------------------------------------

def test_cli_url_and_key_from_config_file(cluster, tmp_path):
    conf = write_config(tmp_path, tmp_path / "elsewhere.conf", cluster.url, cluster.api_key)
    p = run_mpic(tmp_path, "caa", "example.test", "--config", str(conf))
    assert p.returncode == 0, show(p)
    write_config(tmp_path, tmp_path / "xdg" / "mpic" / "cli.conf", cluster.url, cluster.api_key)
    p = run_mpic(tmp_path, "caa", "example.test")   # the default path
    assert p.returncode == 0, show(p)


def test_cli_environment_overrides_config_file(cluster, tmp_path):
    conf = write_config(tmp_path, tmp_path / "cli.conf", CLOSED_URL, "not-the-key")
    p = run_mpic(tmp_path, "caa", "example.test", "--config", str(conf), cluster=cluster)
    assert p.returncode == 0, show(p)


def test_cli_flags_override_environment(cluster, tmp_path):
    (tmp_path / "flag-key").write_text(cluster.api_key + "\n")
    env = {"MPIC_URL": CLOSED_URL, "MPIC_API_KEY": "not-the-key"}
    p = run_mpic(tmp_path, "caa", "example.test", "--url", cluster.url, "--key-file", str(tmp_path / "flag-key"),
                 env=env)
    assert p.returncode == 0, show(p)
    p = run_mpic(tmp_path, "caa", "example.test", "--url", cluster.url, "--key", cluster.api_key, env=env)
    assert p.returncode == 0, show(p)
    p = run_mpic(tmp_path, "caa", "example.test", "--url", cluster.url, env=env)   # the key still from env
    assert p.returncode == 2 and "HTTP 403" in p.stderr, show(p)


def test_cli_unknown_config_setting_exits_2(tmp_path):
    conf = tmp_path / "cli.conf"
    conf.write_text("url = http://127.0.0.1:9\napi_key = secret\n")
    p = run_mpic(tmp_path, "caa", "example.test", "--config", str(conf))
    assert p.returncode == 2, show(p)
    assert f"{conf}:2: unknown setting \"api_key\"" in p.stderr, show(p)


# ---- the progress line ------------------------------------------------------------------------

def test_cli_progress_line_on_a_terminal_is_erased(tmp_path):
    """A server that takes 1.5 s (the cluster answers too fast for a progress line): on a terminal
    stderr shows the line and erases it; the table on stdout is untouched."""
    import http.server
    import pty
    import threading
    import time

    answer = (REPO / "tests" / "data" / "golden" / "caa_response.json").read_bytes()

    class Slow(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            time.sleep(1.5)
            self.send_response(200)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Slow)
    threading.Thread(target=server.handle_request, daemon=True).start()
    primary, secondary = pty.openpty()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MPIC_")}
    env.update(HOME=str(tmp_path), MPIC_URL=f"http://127.0.0.1:{server.server_port}", MPIC_API_KEY="k")
    try:
        p = subprocess.run([str(build_dir() / "mpic"), "caa", "example.com"], env=env, stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=secondary, timeout=30)
    finally:
        os.close(secondary)
        server.server_close()
    err = b""
    while True:
        try:
            chunk = os.read(primary, 4096)
        except OSError:
            break
        if not chunk:
            break
        err += chunk
    os.close(primary)
    assert p.returncode == 0, (p.stdout, err)
    assert re.fullmatch(rb"(\rmpic: checking example\.com \.\.\. [0-9]+ s)+\r\x1b\[K", err), err
    assert b"\r" not in p.stdout and b"VALID: 1/2 perspectives passed (quorum 1)" in p.stdout, p.stdout
