"""scripts/mpic-conformance catches what it claims to: run against tests/conformance/wrong_server.py,
a fake server that is correct unless given a defect, every defect must fail exactly its check ids
(and no others: a check that fails on a correct answer would be as wrong as one that never fails).
No cluster: the fake listens on a free loopback port of its own."""
import json
import re
import subprocess
import sys

import pytest

from conftest import REPO

RUNNER = REPO / "scripts" / "mpic-conformance"
WRONG_SERVER = REPO / "tests" / "conformance" / "wrong_server.py"
KEY = "good-key"

DCV = {f"dcv-{m}" for m in ("acme-http-01", "acme-dns-01", "acme-tls-alpn-01", "website-change", "dns-change",
                            "contact-email-txt", "contact-phone-txt", "contact-email-caa", "contact-phone-caa",
                            "ip-address", "reverse-address-lookup", "dns-persistent")}
AUTH = {"auth-missing-key-403", "auth-wrong-key-403", "auth-empty-key-403", "auth-key-prefix-403", "auth-before-body"}
BAD_REQUEST = {"400-invalid-json", "400-not-an-object", "400-check-type-case", "400-missing-target",
               "400-malformed-target", "400-perspective-count", "400-quorum-count", "400-dcv-without-parameters",
               "400-dcv-parameters-without-check-type", "400-all-issues-listed", "400-empty-challenge-value"}
# Answers in the wrong top-level shape fail every check that looks at a whole 200 answer.
WHOLE_SHAPE = {"resp-top-key-order", "unknown-keys-ignored", "missing-check-type-is-caa"} | DCV

EXPECTED = {
    "key-order": WHOLE_SHAPE,
    "extra-key": WHOLE_SHAPE | {"resp-top-keys"},
    "missing-null": WHOLE_SHAPE | {"resp-top-keys", "resp-nulls-written"},
    "float-timestamp": {"resp-timestamp-integer"},
    "flat-perspectives": {"resp-perspective-shape", "resp-errors-shape", "resp-caa-details",
                          "resp-previous-attempts", "resp-quorum-consistent"} | DCV,
    "bad-errors": {"resp-errors-shape"} | DCV,
    "500-for-400": BAD_REQUEST,
    "no-issue-list": BAD_REQUEST,
    "first-issue-only": {"400-all-issues-listed"},
    "no-auth": AUTH,
    "html-errors": AUTH | BAD_REQUEST | {"http-oversized-json-413"},
    "no-chunked": {"http-chunked-body"},
    "no-continue": {"http-expect-continue"},
    "only-v1": {"path-both"},
    "strict-unknown-keys": {"unknown-keys-ignored"},
    "check-type-required": {"missing-check-type-is-caa"},
    "dcv-params-as-caa": {"400-dcv-parameters-without-check-type"},
    "no-echo": {"echo-orchestration-parameters", "echo-partial-orchestration-nulls", "unknown-keys-ignored"},
    "text-plain-200": {"resp-content-type"},
    "bool-as-string": {"resp-scalar-types"},
    "dcv-as-caa": DCV,
}


def start(*defects):
    args = [sys.executable, str(WRONG_SERVER)]
    for d in defects:
        args += ["--defect", d]
    p = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
    line = p.stdout.readline()
    m = re.fullmatch(r"port (\d+)\n", line)
    if not m:
        p.kill()
        p.wait()
        raise RuntimeError(f"wrong_server.py said {line!r}")
    return p, int(m.group(1))


@pytest.fixture
def wrong_server():
    procs = []

    def run(*defects, path="/v1/mpic", extra=()):
        p, port = start(*defects)
        procs.append(p)
        r = subprocess.run([sys.executable, str(RUNNER), f"http://127.0.0.1:{port}{path}", KEY, "-v", *extra],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=120)
        lines = r.stdout.strip().splitlines()
        m = re.fullmatch(r"(\d+) passed, (\d+) failed", lines[-1])
        assert m, r.stdout
        failed = {l.split()[1].rstrip(":") for l in lines if l.startswith("FAIL ")}
        passed = {l.split()[1] for l in lines if l.startswith("ok ")}
        assert (int(m.group(1)), int(m.group(2))) == (len(passed), len(failed)), r.stdout
        assert r.returncode == (1 if failed else 0), r.stdout
        return failed, passed, r.stdout

    yield run
    for p in procs:
        p.kill()
        p.wait()


def test_correct_fake_passes_every_check(wrong_server):
    failed, passed, out = wrong_server()
    assert not failed, out
    assert len(passed) >= 30, out
    assert AUTH | BAD_REQUEST | DCV | set().union(*EXPECTED.values()) <= passed, out


def test_mpic_path_as_endpoint(wrong_server):
    failed, _, out = wrong_server(path="/mpic")
    assert not failed, out


@pytest.mark.parametrize("defect", sorted(EXPECTED))
def test_defect_fails_exactly_its_checks(wrong_server, defect):
    failed, _, out = wrong_server(defect)
    assert failed == EXPECTED[defect], out


def test_only_v1_seen_from_the_mpic_side_too(wrong_server):
    failed, _, out = wrong_server("only-v1", path="/mpic")
    assert {"path-endpoint", "resp-content-type"} <= failed, out


# The scenario checker against the fake (six perspectives, one attempt; names under deny.test fail
# everywhere): one row holding every kind of expectation, each HTTP form, then each expectation
# broken once with the failure it must produce.
CAA = {"check_type": "caa", "domain_or_ip_target": "a.test"}
HOLDS = {"status": 200, "is_valid": True, "mpic_completed": True, "attempt_count": 1, "perspective_count": 6,
         "previous_attempt_results": "null", "min_failed_perspectives": 0, "max_failed_perspectives": 0,
         "incomplete_perspectives": 0, "min_elapsed_ms": 0, "max_elapsed_ms": 20000,
         "fields": [{"path": "perspectives.*.check_response.details.found_at", "equals": "a.test"},
                    {"path": "perspectives.*.perspective_code", "includes": "sa-east-1"},
                    {"path": "perspectives.0.perspective_code", "matches": "^us-"},
                    {"path": "perspectives", "length": 6}]}
FORMS = [
    ("holds", CAA, None, HOLDS),
    ("deny", dict(CAA, domain_or_ip_target="x.deny.test"), None,
     {"status": 200, "is_valid": False, "min_failed_perspectives": 6, "max_failed_perspectives": 6}),
    ("raw-body", {}, {"raw_body": "not json"}, {"status": 400, "issue_type": "invalid-json"}),
    ("no-key", CAA, {"api_key": "none"}, {"status": 403, "fields": [{"path": "message", "equals": "Forbidden"}]}),
    ("other-key", CAA, {"api_key": "bad"}, {"status": 403}),
    ("path", CAA, {"path": "/v2/mpic"}, {"status": 404}),
    ("get", {}, {"method": "GET"}, {"status": 405, "fields": [{"path": "message", "equals": "use POST"}]}),
    ("padded", CAA, {"pad_bytes": 70000}, {"status": 413}),
]
BROKEN = [
    ({"status": 400}, "expected HTTP 400, got HTTP 200"),
    ({"is_valid": False}, "is_valid is True, expected False"),
    ({"mpic_completed": False}, "mpic_completed is True, expected False"),
    ({"attempt_count": 2}, "attempt_count 1, expected 2"),
    ({"perspective_count": 5}, "perspective_count 6 with 6 perspectives, expected 5"),
    ({"previous_attempt_results": "list"}, "previous_attempt_results None: expected one list per earlier attempt"),
    ({"previous_attempt_failed": 3}, "no previous attempt"),
    ({"min_failed_perspectives": 1}, "0 failed perspectives, expected >= 1"),
    ({"incomplete_perspectives": 1}, "0 incomplete perspectives, expected 1"),
    ({"min_elapsed_ms": 60000}, "expected >= 60000"),
    ({"max_elapsed_ms": 0}, "expected <= 0"),
    ({"fields": [{"path": "perspectives.*.check_response.details.found_at", "equals": "b.test"}]},
     "perspectives.*.check_response.details.found_at is 'a.test', expected 'b.test'"),
    ({"fields": [{"path": "perspectives.*.perspective_code", "includes": "mars-1"}]}, "expected 'mars-1' among them"),
    ({"fields": [{"path": "perspectives.*.perspective_code", "matches": "^us-"}]}, "'eu-west-1' does not match '^us-'"),
    ({"fields": [{"path": "perspectives", "length": 5}]}, "is not a list of 5"),
    ({"fields": [{"path": "perspectives.9.perspective_code", "equals": "x"}]}, "perspectives.9.perspective_code: nothing there"),
]


def table(tmp_path, rows):
    f = tmp_path / "table.json"
    f.write_text(json.dumps({"format": 2, "about": "test", "scenarios": [
        dict(id=i, description=i, request=req, expect=e, **({"http": h} if h else {})) for i, req, h, e in rows]}))
    return ["--scenarios", "--scenario-file", str(f), "--only", "scenario:"]


def test_scenario_expectations_hold(wrong_server, tmp_path):
    failed, passed, out = wrong_server(extra=table(tmp_path, FORMS))
    assert not failed and passed == {f"scenario:{f[0]}" for f in FORMS}, out


def test_scenario_expectations_are_enforced(wrong_server, tmp_path):
    rows = [(f"broken-{n}", CAA, None, dict(HOLDS, **change)) for n, (change, _) in enumerate(BROKEN)]
    rows += [("broken-max-failed", dict(CAA, domain_or_ip_target="deny.test"), None,
              {"status": 200, "max_failed_perspectives": 5}),
             ("broken-issue-type", {}, {"raw_body": "{"}, {"status": 400, "issue_type": "missing-field"})]
    failed, passed, out = wrong_server(extra=table(tmp_path, rows))
    assert not passed and failed == {f"scenario:{r[0]}" for r in rows}, out
    for n, (_, why) in enumerate(BROKEN):
        assert re.search(rf"^FAIL scenario:broken-{n}: .*{re.escape(why)}", out, re.M), (why, out)
    assert "FAIL scenario:broken-max-failed: 6 failed perspectives, expected <= 5" in out, out
    assert "FAIL scenario:broken-issue-type: issue types ['invalid-json'], expected 'missing-field'" in out, out


def test_malformed_scenario_table_is_exit_2(tmp_path):
    for e in ({"status": 200, "is_vaild": True}, {"is_valid": True}, {"status": 200, "previous_attempt_results": "none"},
              {"status": 200, "fields": [{"path": "is_valid", "equals": True, "includes": True}]}):
        args = table(tmp_path, [("x", CAA, None, e)])
        r = subprocess.run([sys.executable, str(RUNNER), "http://127.0.0.1:9/v1/mpic", KEY, *args],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=30)
        assert r.returncode == 2 and "scenario 'x'" in r.stdout, (e, r.stdout)


def test_our_table_is_read_by_default(wrong_server):
    # The fake is no scenario cluster: its answers for the table's names show that the default file
    # is read and checked (deny.conformance.test must be is_valid false, the fake says true).
    failed, passed, out = wrong_server(extra=["--scenarios", "--only", "scenario:caa-real-deny"])
    assert failed == {"scenario:caa-real-deny"} and not passed, out
    assert "FAIL scenario:caa-real-deny: is_valid is True, expected False" in out, out


def test_unreachable_is_exit_2(wrong_server):
    p, port = start()
    p.kill()
    p.wait()
    r = subprocess.run([sys.executable, str(RUNNER), f"http://127.0.0.1:{port}/v1/mpic", KEY],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=30)
    assert r.returncode == 2, r.stdout
    assert "cannot connect" in r.stdout, r.stdout


def test_every_check_and_scenario_is_documented():
    ids = subprocess.run([sys.executable, str(RUNNER), "http://127.0.0.1:9/v1/mpic", KEY, "--list", "--scenarios"],
                         stdout=subprocess.PIPE, text=True, check=True).stdout.split()
    assert len(ids) >= 30 + 30, ids
    doc = (REPO / "docs" / "conformance.md").read_text()
    for cid in ids:
        name = cid.split(":", 1)[-1]
        if cid.startswith("dcv-"):
            assert f"`{cid[len('dcv-'):]}`" in doc, f"{cid}: method not listed under dcv-<method>"
        else:
            assert f"| `{name}` |" in doc, f"{cid} not in docs/conformance.md's tables"
