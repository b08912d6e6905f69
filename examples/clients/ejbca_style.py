#!/usr/bin/env python3
"""An EJBCA-style MPIC client in the Python standard library: the request EJBCA's MPIC Validator
sends for CAA (POST <endpoint>, header x-api-key, body {"check_type":"caa","domain_or_ip_target":
...}), and the decision it takes: only is_valid counts. docs/conformance.md describes it.

usage: ejbca_style.py ENDPOINT API_KEY DOMAIN   (ENDPOINT e.g. http://127.0.0.1:8080/v1/mpic)
exit: 0 valid, 1 not valid, 2 error (usage, transport, any answer but HTTP 200 with is_valid).
"""
import json
import sys
import urllib.error
import urllib.request


def mpic_caa(endpoint, key, domain, timeout=60):
    body = json.dumps({"check_type": "caa", "domain_or_ip_target": domain}).encode()
    req = urllib.request.Request(endpoint, data=body, method="POST",
                                 headers={"Content-Type": "application/json", "x-api-key": key})
    with urllib.request.urlopen(req, timeout=timeout) as r:    # raises HTTPError on 4xx/5xx
        return json.load(r)


def main(argv):
    if len(argv) != 3:
        print("usage: ejbca_style.py ENDPOINT API_KEY DOMAIN", file=sys.stderr)
        return 2
    endpoint, key, domain = argv
    try:
        answer = mpic_caa(endpoint, key, domain)
    except urllib.error.HTTPError as e:
        print(f"{domain}: error: HTTP {e.code}: {e.read()[:500]!r}", file=sys.stderr)
        return 2
    except (OSError, ValueError) as e:     # URLError, timeouts, a body that is not JSON
        print(f"{domain}: error: {e}", file=sys.stderr)
        return 2
    valid = answer.get("is_valid") if isinstance(answer, dict) else None
    if type(valid) is not bool:
        print(f"{domain}: error: no boolean is_valid in the answer", file=sys.stderr)
        return 2
    print(f"{domain}: {'valid' if valid else 'not valid'}")
    return 0 if valid else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
