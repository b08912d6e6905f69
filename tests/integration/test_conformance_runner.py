"""scripts/mpic-conformance catches what it claims to: run against tests/conformance/wrong_server.py,
a fake server that is correct unless given a defect, every defect must fail exactly its check ids
(and no others: a check that fails on a correct answer would be as wrong as one that never fails).
No cluster: the fake listens on a free loopback port of its own."""
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
               "400-all-issues-listed", "400-empty-challenge-value"}
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


def test_scenario_expectations_are_enforced(wrong_server):
    # The fake passes every check of every name: the permitting scenario holds, a denying one does not.
    failed, passed, out = wrong_server(extra=["--scenarios", "--only", "scenario:caa-"])
    assert "scenario:caa-permit" in passed, out
    assert "scenario:caa-deny-other-issuer" in failed, out
    assert "FAIL scenario:caa-deny-other-issuer: is_valid is True, expected False" in out, out


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
