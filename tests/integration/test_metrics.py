"""GET /healthz, /readyz and /metrics of the orchestrator (docs/operations.md, Observability):
the exposition parsed line by line, counters that move with requests, readiness that follows the
agents (its own small cluster for the part that kills agents: port 19320, lab 127.0.94.1)."""
import math
import os
import re
import signal
import time

import pytest
import requests

from conftest import cluster_lifetime, describe

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABELS = r'\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*"(?:,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*")*)?\}'
SAMPLE = re.compile(rf"^({NAME})({LABELS})? (\S+)$")
COMMENT = re.compile(rf"^# (HELP {NAME} .*|TYPE {NAME} (counter|gauge|histogram|summary|untyped))$")


def parse(text):
    """{(name, labels): value}; fails on any line that is not valid exposition syntax."""
    assert text.endswith("\n")
    samples, types = {}, {}
    for line in text.splitlines():
        if line.startswith("#"):
            assert COMMENT.match(line), f"bad comment line: {line!r}"
            if line.startswith("# TYPE "):
                _, _, name, kind = line.split(" ")
                assert name not in types, f"TYPE twice for {name}"
                types[name] = kind
            continue
        m = SAMPLE.match(line)
        assert m, f"bad sample line: {line!r}"
        value = float(m.group(3))                      # also accepts +Inf, NaN
        key = (m.group(1), m.group(2) or "")
        assert key not in samples, f"sample twice: {line!r}"
        family = re.sub(r"_(bucket|sum|count)$", "", m.group(1))
        assert m.group(1) in types or family in types, f"sample without TYPE: {line!r}"
        samples[key] = value
    return samples, types


def metrics(url):
    r = requests.get(url + "/metrics", timeout=10)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("text/plain"), r.headers
    return parse(r.text)


def total(samples, name, **labels):
    want = [f'{k}="{v}"' for k, v in labels.items()]
    return sum(v for (n, l), v in samples.items() if n == name and all(w in l for w in want))


def test_exposition_counters_and_histograms(cluster):
    before, types = metrics(cluster.url)
    assert types["mpic_requests_total"] == "counter"
    assert types["mpic_perspective_duration_seconds"] == "histogram"
    r = cluster.caa("example.test")
    assert r.status_code == 200, describe(r)
    valid = "valid" if r.body["is_valid"] else "invalid"
    assert cluster.mpic({"check_type": "caa"}).status_code == 400
    assert cluster.mpic({"check_type": "caa", "domain_or_ip_target": "x.test"}, key="wrong").status_code == 403
    after, _ = metrics(cluster.url)
    assert total(after, "mpic_requests_total", check_type="caa", result=valid) == \
        total(before, "mpic_requests_total", check_type="caa", result=valid) + 1
    for code in ("400", "403"):
        assert total(after, "mpic_requests_total", result=code) == total(before, "mpic_requests_total", result=code) + 1
    n = len(r.body["perspectives"])
    assert total(after, "mpic_perspective_duration_seconds_count") >= total(before, "mpic_perspective_duration_seconds_count") + n
    assert total(after, "mpic_attempts_total") >= total(before, "mpic_attempts_total") + 1
    assert total(after, "mpic_quorum_total") >= total(before, "mpic_quorum_total") + 1
    assert total(after, "mpic_audit_write_seconds_count") == total(before, "mpic_audit_write_seconds_count") + 1
    # Histograms: buckets cumulative, +Inf equal to _count.
    series = {}
    for (name, labels), v in after.items():
        if name.endswith("_bucket"):
            le = re.search(r'le="([^"]+)"', labels).group(1)
            rest = re.sub(r',?le="[^"]+"', "", labels).replace("{,", "{")
            rest = "" if rest == "{}" else rest
            series.setdefault((name[:-7], rest), []).append((math.inf if le == "+Inf" else float(le), v))
    assert series
    for (family, rest), buckets in series.items():
        counts = [v for _, v in sorted(buckets)]
        assert counts == sorted(counts), f"{family}{rest} buckets not monotonic: {buckets}"
        assert counts[-1] == after[(family + "_count", rest)], f"{family}{rest}: +Inf != _count"
    assert after[("mpic_br_min_perspectives", "")] == cluster.br_min
    assert ("mpic_build_info", "") not in after and total(after, "mpic_build_info") == 1
    assert after[("mpic_requests_in_flight", "")] == 0


def test_healthz_and_readyz_on_the_full_cluster(cluster):
    r = requests.get(cluster.url + "/healthz", timeout=10)
    assert r.status_code == 200 and r.json()["status"] == "ok"
    deadline = time.monotonic() + 10
    while (r := requests.get(cluster.url + "/readyz", timeout=10)).status_code != 200:
        assert time.monotonic() < deadline, r.text
        time.sleep(0.2)
    assert r.json()["ready"] is True


@pytest.fixture(scope="module")
def small(request):
    yield from cluster_lifetime(request, 19320, "127.0.94.1")


def test_readyz_503_when_too_few_agents_answer(small):
    deadline = time.monotonic() + 10
    while requests.get(small.url + "/readyz", timeout=10).status_code != 200:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    for code in small.codes[1:]:                   # one agent left: below every phase's minimum
        os.kill(small.pid(f"agent-{code}"), signal.SIGKILL)
    deadline = time.monotonic() + 15               # the next probe round notices
    while (r := requests.get(small.url + "/readyz", timeout=10)).status_code != 503:
        assert time.monotonic() < deadline, r.text
        time.sleep(0.2)
    assert r.json()["ready"] is False and "reachable" in r.json()["reason"]
    samples, _ = metrics(small.url)
    assert total(samples, "mpic_agent_up") == 1
    assert requests.get(small.url + "/healthz", timeout=10).status_code == 200   # alive all the same
