#!/usr/bin/env python3
"""A fake Open MPIC server with selectable defects, to prove that scripts/mpic-conformance
catches what it claims to (tests/integration/test_conformance_runner.py).

Without --defect it answers every contract check correctly from canned data (no DNS, no agents):
six perspectives that all pass, or all fail for names under deny.test. Each defect breaks one thing a real server could get wrong.

usage: wrong_server.py [--defect NAME]... [--port N]
It binds 127.0.0.1 (port 0 = a free one), prints `port N` on stdout once it listens, and serves
until killed. The API key is `good-key`.
"""
import argparse
import http.server
import json
import sys
import time

KEY = "good-key"
CODES = ["us-east-1", "eu-west-1", "ap-northeast-1", "us-west-2", "eu-central-1", "sa-east-1"]
DCV_REQUIRED = {
    "acme-http-01": ["token", "key_authorization"], "acme-dns-01": ["key_authorization_hash"],
    "acme-tls-alpn-01": ["key_authorization_hash"], "website-change": ["http_token_path", "challenge_value"],
    "dns-change": ["challenge_value", "dns_record_type"], "contact-email-txt": ["challenge_value"],
    "contact-phone-txt": ["challenge_value"], "contact-email-caa": ["challenge_value"],
    "contact-phone-caa": ["challenge_value"], "ip-address": ["challenge_value", "dns_record_type"],
    "reverse-address-lookup": ["challenge_value"], "dns-persistent": ["issuer_domain_names", "expected_account_uri"],
}
HTTP_METHODS = {"acme-http-01", "website-change"}

# name -> what it breaks (docs/conformance.md lists which check ids each one must fail)
DEFECTS = {
    "key-order": "top-level keys of a 200 in another order",
    "extra-key": "an extra top-level key in every 200",
    "missing-null": "trace_identifier left out when null",
    "float-timestamp": "timestamp_ns written as a float",
    "flat-perspectives": "perspectives flat, without check_response",
    "bad-errors": "errors as a list of strings",
    "500-for-400": "validation failures answered 500",
    "no-issue-list": "400 body without validation_issues",
    "first-issue-only": "only the first validation issue listed",
    "no-auth": "any key (or none) accepted",
    "html-errors": "error bodies (403, 400, 413) as text/html",
    "no-chunked": "chunked request bodies refused with 411",
    "no-continue": "no 100 Continue for Expect: 100-continue",
    "only-v1": "/mpic not served",
    "strict-unknown-keys": "unknown keys answered 400",
    "check-type-required": "a missing check_type answered 400",
    "dcv-params-as-caa": "dcv_check_parameters without check_type answered as a CAA check",
    "no-echo": "request_orchestration_parameters always null",
    "text-plain-200": "200 answered as text/plain",
    "bool-as-string": "is_valid written as the string \"true\"",
    "dcv-as-caa": "DCV answers carry caa_check_parameters",
}
LIMIT = 65536


def bad_request(issues):
    return 400, {"error": "request-validation-failed",
                 "validation_issues": [{"issue_type": t, "message": m} for t, m in issues]}


def validate(body, defects):
    """The 400 issues of a request body (all of them, unless first-issue-only)."""
    issues = []
    if not isinstance(body, dict):
        return [("invalid-json", "the body is not a JSON object")]
    allowed = {"check_type", "domain_or_ip_target", "orchestration_parameters", "trace_identifier",
               "caa_check_parameters", "dcv_check_parameters"}
    if "strict-unknown-keys" in defects and set(body) - allowed:
        issues.append(("unknown-field", f"unknown keys {sorted(set(body) - allowed)}"))
    if "check_type" not in body and "check-type-required" in defects:
        issues.append(("missing-field", "check_type is required"))
    if "check_type" not in body and "dcv_check_parameters" in body and "dcv-params-as-caa" not in defects:
        issues.append(("missing-field", "check_type is required with dcv_check_parameters"))
    kind = body.get("check_type", "caa")
    if kind not in ("caa", "dcv"):
        issues.append(("invalid-check-type", f"check_type {kind!r}"))
    target = body.get("domain_or_ip_target")
    if not isinstance(target, str) or not target or " " in target or ".." in target:
        issues.append(("invalid-domain", f"domain_or_ip_target {target!r}"))
    op = body.get("orchestration_parameters") or {}
    count, quorum = op.get("perspective_count"), op.get("quorum_count")
    if count is not None and not (isinstance(count, int) and 2 <= count <= len(CODES)):
        issues.append(("invalid-perspective-count", f"perspective_count {count!r}"))
    elif quorum is not None:
        n = count or len(CODES)
        low = n - 1 if n <= 5 else n - 2
        if not (isinstance(quorum, int) and low <= quorum <= n):
            issues.append(("invalid-quorum-count", f"quorum_count {quorum!r}"))
    if kind == "dcv":
        p = body.get("dcv_check_parameters")
        if not isinstance(p, dict):
            issues.append(("missing-field", "dcv_check_parameters is required"))
        elif p.get("validation_method") not in DCV_REQUIRED:
            issues.append(("unknown-validation-method", f"validation_method {p.get('validation_method')!r}"))
        else:
            for k in DCV_REQUIRED[p["validation_method"]]:
                if k not in p:
                    issues.append(("missing-field", f"{k} is required"))
            if p.get("challenge_value") == "":
                issues.append(("empty-challenge-value", "challenge_value is empty"))
    return issues[:1] if "first-issue-only" in defects else issues


def answer(body, defects):
    kind = body.get("check_type", "caa")
    op = body.get("orchestration_parameters")
    count = (op or {}).get("perspective_count") or len(CODES)
    quorum = (op or {}).get("quorum_count") or (count - 1 if count <= 5 else count - 2)
    dp = body.get("dcv_check_parameters") or {}
    method = dp.get("validation_method")
    if kind == "caa":
        details = {"caa_record_present": True, "found_at": body["domain_or_ip_target"],
                   "records_seen": ['0 issue "ca.example.net"']}
    elif method in HTTP_METHODS:
        details = {"validation_method": method, "response_history": None, "response_url": "http://x/",
                   "response_status_code": 200, "response_page": ""}
    elif method == "acme-tls-alpn-01":
        details = {"validation_method": method, "common_name": None}
    else:
        details = {"validation_method": method, "records_seen": [], "response_code": 0, "ad_flag": True,
                   "found_at": body["domain_or_ip_target"], "cname_chain": None}
    # Names under deny.test fail everywhere, so that a scenario table can expect failures of it.
    passed = not body["domain_or_ip_target"].endswith("deny.test")
    ts = time.time_ns()
    perspectives = []
    for code in CODES[:count]:
        cr = {"check_completed": True, "check_passed": passed, "errors": None,
              "timestamp_ns": float(ts) if "float-timestamp" in defects else ts,
              "check_type": kind, "details": details}
        if "bad-errors" in defects:
            cr["errors"] = ["something"]
        if "flat-perspectives" in defects:
            perspectives.append(dict(perspective_code=code, **cr))
        else:
            perspectives.append({"perspective_code": code, "check_response": cr})
    echo = None
    if op is not None and "no-echo" not in defects:
        echo = {k: op.get(k) for k in ("perspective_count", "quorum_count", "max_attempts")}
    out = {"mpic_completed": True, "request_orchestration_parameters": echo,
           "actual_orchestration_parameters": {"perspective_count": count, "quorum_count": quorum, "attempt_count": 1},
           "check_type": kind, "domain_or_ip_target": body["domain_or_ip_target"],
           "is_valid": str(passed).lower() if "bool-as-string" in defects else passed,
           "trace_identifier": body.get("trace_identifier"), "perspectives": perspectives}
    if kind == "caa" or "dcv-as-caa" in defects:
        cp = body.get("caa_check_parameters")
        out["caa_check_parameters"] = None if cp is None else {
            "certificate_type": cp.get("certificate_type", "tls-server"), "caa_domains": cp.get("caa_domains")}
    else:
        out["dcv_check_parameters"] = dp
    out["previous_attempt_results"] = None
    if "missing-null" in defects and out["trace_identifier"] is None:
        del out["trace_identifier"]
    if "key-order" in defects:
        out = dict(reversed(list(out.items())))
    if "extra-key" in defects:
        out["signature"] = "x"
    return 200, out


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    defects = set()

    def log_message(self, *args):
        pass

    def handle_expect_100(self):
        if "no-continue" in self.defects:
            return True      # go on to read the body without telling the client to send it
        return super().handle_expect_100()

    def send(self, status, obj, close=False):
        data = json.dumps(obj).encode()
        ctype = "application/json"
        if status >= 400 and "html-errors" in self.defects:
            data, ctype = f"<html><body>{status}</body></html>".encode(), "text/html"
        if status == 200 and "text-plain-200" in self.defects:
            ctype = "text/plain"
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(data)

    def read_body(self):
        """The body, or None after answering 411/413 itself."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            if "no-chunked" in self.defects:
                self.send(411, {"message": "Length Required"}, close=True)
                return None
            data = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    return data
                data += self.rfile.read(size)
                self.rfile.readline()
                if len(data) > LIMIT:
                    self.send(413, {"message": "Request Entity Too Large"}, close=True)
                    return None
        n = int(self.headers.get("Content-Length", "0"))
        if n > LIMIT:
            self.send(413, {"message": "Request Entity Too Large"}, close=True)
            return None
        return self.rfile.read(n)

    def do_GET(self):
        self.send(405, {"message": "use POST"}, close=True)

    def do_POST(self):
        path = self.path.rstrip("/")
        if path not in ("/v1/mpic", "/mpic") or (path == "/mpic" and "only-v1" in self.defects):
            self.send(404, {"message": "Not Found"}, close=True)
            return
        if "no-auth" not in self.defects and self.headers.get("x-api-key") != KEY:
            self.send(403, {"message": "Forbidden"}, close=True)
            return
        raw = self.read_body()
        if raw is None:
            return
        try:
            body = json.loads(raw)
        except ValueError:
            status, obj = bad_request([("invalid-json", "the body is not JSON")])
        else:
            issues = validate(body, self.defects)
            status, obj = bad_request(issues) if issues else answer(body, self.defects)
        if status == 400 and "500-for-400" in self.defects:
            status, obj = 500, {"message": "Internal Server Error"}
        if status == 400 and "no-issue-list" in self.defects:
            obj = {"error": "request-validation-failed"}
        self.send(status, obj)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--defect", action="append", default=[], choices=sorted(DEFECTS))
    ap.add_argument("--port", type=int, default=0)
    a = ap.parse_args()
    Handler.defects = set(a.defect)
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    print(f"port {srv.server_address[1]}", flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
