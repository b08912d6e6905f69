"""Every answer on our APIs carries a JSON body, including the errors the HTTP layer
(daemon/http_server.c) finds before a handler runs (a body over max_body_bytes, a malformed request
line, a method it does not serve), on the orchestrator and on an agent."""
import json
import socket
import ssl
import urllib.parse

import pytest

from conftest import AGENT_CODES, parse_http_answer, read_until_close

LIMIT = 65536   # max_body_bytes of both daemons in the local cluster (the default)


def exchange(sock, data):
    """Send data, read until the peer closes (or times out); returns (status, headers, body)."""
    sock.sendall(data)
    return parse_http_answer(read_until_close(sock))


def assert_json_error(answer, status):
    code, headers, body = answer
    assert code == status, f"HTTP {code} {headers} {body[:300]!r}"
    assert headers.get("content-type", "").startswith("application/json"), f"{code} {headers} {body[:300]!r}"
    doc = json.loads(body)
    assert isinstance(doc, dict) and isinstance(doc.get("message"), str) and doc["message"], doc


def orchestrator(cluster, data):
    u = urllib.parse.urlsplit(cluster.url)
    with socket.create_connection((u.hostname, u.port), timeout=15) as s:
        return exchange(s, data)


def request(cluster, head_lines, body=b""):
    lines = [*head_lines, "Host: 127.0.0.1", f"x-api-key: {cluster.api_key}", "Connection: close"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def big_body():
    return json.dumps({"domain_or_ip_target": "example.test", "padding": "p" * (LIMIT + 10)}).encode()


def chunked(data, size=8192):
    out = b""
    for i in range(0, len(data), size):
        piece = data[i:i + size]
        out += b"%x\r\n" % len(piece) + piece + b"\r\n"
    return out + b"0\r\n\r\n"


# ---- orchestrator -------------------------------------------------------------------------

def test_orchestrator_body_over_limit_with_content_length_is_json_413(cluster):
    body = big_body()
    answer = orchestrator(cluster, request(cluster, ["POST /v1/mpic HTTP/1.1", "Content-Type: application/json",
                                                     f"Content-Length: {len(body)}"], body))
    assert_json_error(answer, 413)


def test_orchestrator_announced_length_over_limit_with_expect_is_json_413(cluster):
    answer = orchestrator(cluster, request(cluster, ["POST /v1/mpic HTTP/1.1", "Content-Type: application/json",
                                                     f"Content-Length: {LIMIT * 100}", "Expect: 100-continue"]))
    assert_json_error(answer, 413)


def test_orchestrator_chunked_body_over_limit_is_json_413(cluster):
    answer = orchestrator(cluster, request(cluster, ["POST /v1/mpic HTTP/1.1", "Content-Type: application/json",
                                                     "Transfer-Encoding: chunked"], chunked(big_body())))
    assert_json_error(answer, 413)


def test_orchestrator_unknown_path_is_json_404(cluster):
    assert_json_error(orchestrator(cluster, request(cluster, ["GET /v2/nothing HTTP/1.1"])), 404)


def test_orchestrator_get_on_mpic_is_json_405(cluster):
    assert_json_error(orchestrator(cluster, request(cluster, ["GET /v1/mpic HTTP/1.1"])), 405)


@pytest.mark.parametrize("method", ["TRACE", "CONNECT"])
def test_orchestrator_method_it_does_not_serve_is_json(cluster, method):
    code, headers, body = orchestrator(cluster, request(cluster, [f"{method} /v1/mpic HTTP/1.1"]))
    assert code in (400, 405, 501)
    assert_json_error((code, headers, body), code)


@pytest.mark.parametrize("line", ["GARBAGE", "POST /v1/mpic HTTP/9.9", "POST  HTTP/1.1", "FETCH /v1/mpic HTTP/1.1"])
def test_orchestrator_malformed_request_line_is_json_400(cluster, line):
    code, headers, body = orchestrator(cluster, (line + "\r\nHost: x\r\n\r\n").encode())
    assert 400 <= code < 600
    assert_json_error((code, headers, body), code)


def test_orchestrator_unknown_expectation_is_json_417(cluster):
    body = b'{"domain_or_ip_target":"example.test"}'
    answer = orchestrator(cluster, request(cluster, ["POST /v1/mpic HTTP/1.1", "Content-Type: application/json",
                                                     f"Content-Length: {len(body)}", "Expect: teapot"], body))
    assert_json_error(answer, 417)


def test_orchestrator_keeps_alive_after_a_json_error(cluster):
    """The rewriting must not swallow a later answer on the same connection."""
    one = b"GET /nothing HTTP/1.1\r\nHost: x\r\n\r\n"
    two = b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    u = urllib.parse.urlsplit(cluster.url)
    with socket.create_connection((u.hostname, u.port), timeout=15) as s:
        s.sendall(one + two)
        buf = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
    assert buf.count(b"HTTP/1.1 ") == 2, buf
    assert b"HTTP/1.1 404" in buf and b"HTTP/1.1 200" in buf and b'"status":"ok"' in buf, buf


# ---- agent --------------------------------------------------------------------------------

def agent(cluster, data, code=AGENT_CODES[0]):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.load_verify_locations(cluster.certs / "ca.crt")
    ctx.load_cert_chain(cluster.certs / "orchestrator.crt", cluster.certs / "orchestrator.key")
    with socket.create_connection(("127.0.0.1", cluster.agent_port(code)), timeout=15) as raw:
        with ctx.wrap_socket(raw) as s:
            return exchange(s, data)


def test_agent_body_over_limit_is_json_413(cluster):
    body = big_body()
    assert_json_error(agent(cluster, request(cluster, ["POST /v1/check HTTP/1.1", "Content-Type: application/json",
                                                       f"Content-Length: {len(body)}"], body)), 413)


def test_agent_chunked_body_over_limit_is_json_413(cluster):
    assert_json_error(agent(cluster, request(cluster, ["POST /v1/check HTTP/1.1", "Transfer-Encoding: chunked"],
                                             chunked(big_body()))), 413)


def test_agent_unknown_path_and_wrong_method_are_json(cluster):
    assert_json_error(agent(cluster, request(cluster, ["GET /nothing HTTP/1.1"])), 404)
    assert_json_error(agent(cluster, request(cluster, ["GET /v1/check HTTP/1.1"])), 405)


def test_agent_unserved_method_and_malformed_request_are_json(cluster):
    code, headers, body = agent(cluster, request(cluster, ["PUT /v1/check HTTP/1.1", "Content-Length: 0"]))
    assert_json_error((code, headers, body), code)
    code, headers, body = agent(cluster, b"GARBAGE\r\n\r\n")
    assert_json_error((code, headers, body), code)
