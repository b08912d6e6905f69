#!/usr/bin/python3
"""The configuration side of scripts/local-cluster.sh: which perspectives a cluster of N agents
runs, and the config files of its daemons. The perspective catalogue is scripts/perspectives.json
(shared with tests/integration/conftest.py); `up --agents N` runs its first N entries, in order.

  cluster-config.py codes [N]                       the first N codes (all without N), one a line
  cluster-config.py primary-code                    the code of the primary network perspective
  cluster-config.py configs STATE PORT RESOLVER LOG_LEVEL N
        writes STATE/config/{orchestrator,agent-CODE}.json; the options come from the environment
        (MPIC_POLICY, MPIC_DNSSEC, MPIC_PRIVATE_TARGETS, MPIC_SPLIT_RESOLVER, MPIC_SPLIT_COUNT,
        MPIC_PRIMARY, MPIC_PRIMARY_RESOLVER, MPIC_REQUIRE_PRIMARY, MPIC_SCENARIOS, MPIC_DEFAULT_COUNT)
  cluster-config.py behaviours STATE TABLE TOOL N
        scenario mode: merges the lab behaviours of TABLE (tests/conformance/behaviours.json) into
        the agents' configs, the first cohort of a name computed by TOOL (mpic-lab-cohorts)
"""
import hashlib
import json
import os
import pathlib
import subprocess
import sys

CATALOGUE = pathlib.Path(__file__).resolve().parent / "perspectives.json"


def load_catalogue():
    return json.loads(CATALOGUE.read_text())


def remotes(n=None):
    entries = load_catalogue()["perspectives"]
    return entries if n is None else entries[:n]


def write(state, name, doc):
    path = f"{state}/config/{name}.json"
    with open(path, "w") as f:
        json.dump(doc, f, indent=2, ensure_ascii=False)
        f.write("\n")


def perspective(entry, url):
    return {"code": entry["code"], "name": entry["name"], "rir": entry["rir"], "url": url,
            "location": dict(entry["location"])}


def configs(state, port, resolver, log_level, n):
    port, rows = int(port), remotes(int(n))
    split_resolver = os.environ["MPIC_SPLIT_RESOLVER"]
    split_from = len(rows) - int(os.environ["MPIC_SPLIT_COUNT"]) + 1 if split_resolver else len(rows) + 1
    codes = {r["code"] for r in rows}
    certs, secrets = f"{state}/certs", f"{state}/secrets"
    catalogue = []
    for i, r in enumerate(rows, start=1):
        p = perspective(r, f"https://127.0.0.1:{port + i}")
        near = [c for c in r.get("too_close", []) if c in codes]   # too_close must name known codes
        if near:
            p["too_close"] = near
        catalogue.append(p)
    # The agents serve only the orchestrator: its CN, and its key pinned (SPKI SHA-256), since the
    # cluster CA signs the agents' certificates too.
    pubkey = subprocess.run(["openssl", "x509", "-in", f"{certs}/orchestrator.crt", "-noout", "-pubkey"],
                            check=True, capture_output=True).stdout
    spki = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "DER"], input=pubkey, check=True,
                          capture_output=True).stdout
    orchestrator_identity = {"cn": "mpic-orchestrator", "spki_sha256": [hashlib.sha256(spki).hexdigest()]}
    common = {"log_level": log_level, "caa": {"issuer_domains": ["ca.example.net"]},
              "perspectives": catalogue}
    primary_orch, primary = {}, None
    if os.environ["MPIC_PRIMARY"] == "true":
        primary = perspective(load_catalogue()["primary"], f"https://127.0.0.1:{port + len(rows) + 1}")
        primary_orch = {"primary": primary, "require_primary": os.environ["MPIC_REQUIRE_PRIMARY"] == "true"}

    # Scenario mode: a lost perspective must cost 2 s, not 10 (docs/conformance.md, Scenario mode).
    scenarios = os.environ["MPIC_SCENARIOS"] == "true"
    scenario_orch = {"perspective_timeout_ms": 2000, "request_timeout_ms": 10000} if scenarios else {}

    write(state, "orchestrator", dict(common, orchestrator=dict({
        "listen": f"127.0.0.1:{port}",
        "api_keys": [f"file:{secrets}/api-key"],
        "cohort_secret": f"file:{secrets}/cohort-secret",
        "agent_tls": {"ca": f"{certs}/ca.crt", "cert": f"{certs}/orchestrator.crt",
                      "key": f"{certs}/orchestrator.key"},
        "default_perspective_count": int(os.environ["MPIC_DEFAULT_COUNT"] or min(len(rows), 6)),
        "max_attempts_cap": 3,
        "policy": os.environ["MPIC_POLICY"],
        "audit_log": {"path": f"{state}/logs/audit.jsonl", "fsync": "per-request"},
    }, **primary_orch, **scenario_orch)))
    for i, p in enumerate(catalogue, start=1):
        code = p["code"]
        write(state, f"agent-{code}", dict(common, agent={
            "perspective": code,
            "listen": f"127.0.0.1:{port + i}",
            "tls": {"ca": f"{certs}/ca.crt", "cert": f"{certs}/agent-{code}.crt",
                    "key": f"{certs}/agent-{code}.key"},
            "orchestrator_identity": orchestrator_identity,
            "dns": dict({"resolvers": [split_resolver if i >= split_from else resolver], "timeout_ms": 1500,
                         "tries": 2},
                        **({"dnssec": os.environ["MPIC_DNSSEC"]} if os.environ["MPIC_DNSSEC"] else {})),
            "allow_private_targets": os.environ["MPIC_PRIVATE_TARGETS"] == "true",
            "policy": os.environ["MPIC_POLICY"],
        }))
    if primary:
        # The primary is not in the remote catalogue, so its config carries none.
        write(state, "agent-" + primary["code"], {"log_level": log_level, "caa": common["caa"], "agent": {
            "perspective": primary["code"],
            "listen": f"127.0.0.1:{port + len(rows) + 1}",
            "tls": {"ca": f"{certs}/ca.crt", "cert": f"{certs}/agent-{primary['code']}.crt",
                    "key": f"{certs}/agent-{primary['code']}.key"},
            "orchestrator_identity": orchestrator_identity,
            "dns": {"resolvers": [os.environ["MPIC_PRIMARY_RESOLVER"] or resolver], "timeout_ms": 1500, "tries": 2},
            "allow_private_targets": os.environ["MPIC_PRIVATE_TARGETS"] == "true",
        }})


def behaviours(state, table, tool, n):
    codes = [r["code"] for r in remotes(int(n))]
    rules = {c: [] for c in codes}
    for b in json.load(open(table))["behaviours"]:
        who = b["agents"]
        if who == "all":
            who = codes
        elif isinstance(who, dict):
            p = subprocess.run([tool, f"{state}/config/orchestrator.json", who["first_cohort_of"], str(who["size"])],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            if p.returncode != 0 or len(p.stdout.splitlines()) < 2:
                sys.exit(f"{tool}: no two cohorts of {who['size']} for {who['first_cohort_of']}: {p.stderr.strip()}")
            who = p.stdout.splitlines()[0].split()
            print(f"first cohort of {b['agents']['first_cohort_of']}: {' '.join(who)}")
        else:
            who = [codes[i] for i in who]
        for c in who:
            rules[c].append(b["rule"])
    for c in codes:
        path = f"{state}/config/agent-{c}.json"
        doc = json.load(open(path))
        doc["agent"]["lab_behaviours"] = rules[c]
        with open(path, "w") as f:
            json.dump(doc, f, indent=2, ensure_ascii=False)
            f.write("\n")


def main(argv):
    cmd, args = (argv[1], argv[2:]) if len(argv) > 1 else ("", [])
    if cmd == "codes" and len(args) <= 1:
        print("\n".join(r["code"] for r in remotes(int(args[0]) if args else None)))
    elif cmd == "primary-code" and not args:
        print(load_catalogue()["primary"]["code"])
    elif cmd == "configs" and len(args) == 5:
        configs(*args)
    elif cmd == "behaviours" and len(args) == 4:
        behaviours(*args)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
