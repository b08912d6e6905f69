"""Regression tests for defects found in a review of the perspective agent.

Session cluster (conftest.py). Where a test needs a misbehaving server it runs one of its own on a
loopback address of its own (127.0.77.0/24, outside the labs' addresses), and targets it by IP:
the cluster's agents allow private targets.
"""
import socket
import threading

import pytest

from conftest import describe

KEYAUTH = "lab-token-ok.LabThumbprint0123456789"
REDIRECT = "mpic_error:redirect:invalid"


class RawHttpServer:
    """Answers every request on ip:80 with the same raw bytes, then closes."""

    def __init__(self, ip, response):
        self.response = response
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((ip, 80))
        self.sock.listen(64)
        self.sock.settimeout(0.2)
        self.stopping = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while not self.stopping:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(2)
                data = b""
                try:
                    while b"\r\n\r\n" not in data:
                        chunk = conn.recv(4096)
                        if not chunk:
                            break
                        data += chunk
                    conn.sendall(self.response)
                except OSError:
                    pass

    def close(self):
        self.stopping = True
        self.thread.join()
        self.sock.close()


@pytest.fixture
def raw_http():
    servers = []

    def start(ip, response):
        s = RawHttpServer(ip, response)
        servers.append(s)
        return s

    yield start
    for s in servers:
        s.close()


def http01(cluster, target, token="t0k3n"):
    return cluster.mpic({"check_type": "dcv", "domain_or_ip_target": target,
                         "dcv_check_parameters": {"validation_method": "acme-http-01", "token": token,
                                                  "key_authorization": KEYAUTH}})


def perspectives(r):
    assert r.status_code == 200, describe(r)
    return [(p["perspective_code"], p["check_response"]) for p in r.body["perspectives"]]


@pytest.mark.parametrize("location", ids=["not-utf8", "cut-mid-character"], argvalues=[
    b"http://ex\xffample.test/x",                    # not UTF-8 at all
    b"http://" + "\u00e9".encode() * 400 + b".test/",  # UTF-8, but cut mid-character in the message
])
def test_redirect_refusal_with_non_utf8_location_keeps_its_error_message(cluster, raw_http, location):
    # The agent's reason for refusing the redirect quotes the Location. JSON strings must be
    # UTF-8: a message holding raw bytes from the wire was dropped by the JSON writer, and the
    # orchestrator then rejected the agent's whole answer (coordinator:remote_check) instead of
    # reporting the completed, failed check with its redirect:invalid reason.
    raw_http("127.0.77.1", b"HTTP/1.1 302 Found\r\nLocation: " + location +
             b"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    r = http01(cluster, "127.0.77.1")
    assert r.body["is_valid"] is False, describe(r)
    for code, cr in perspectives(r):
        where = f"{code}: {cr}"
        assert cr["check_completed"] is True and cr["check_passed"] is False, where
        assert [e["error_type"] for e in cr["errors"]] == [REDIRECT], where
        assert "redirect to" in cr["errors"][0]["error_message"], where
        assert cr["details"]["response_status_code"] == 302, where


def test_http01_body_longer_than_the_read_limit_fails(cluster, raw_http):
    # The body begins with the key authorization, then whitespace past the agent's read limit,
    # then more content: the whole body is not the key authorization. The agent used to judge
    # the part it had read, which trimmed to exactly the key authorization, and passed.
    body = KEYAUTH.encode() + b" " * 4000 + b"and then something else"
    raw_http("127.0.77.2", b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(body)
             + body)
    r = http01(cluster, "127.0.77.2")
    assert r.body["is_valid"] is False, describe(r)
    for code, cr in perspectives(r):
        where = f"{code}: {cr}"
        assert cr["check_completed"] is True and cr["check_passed"] is False, where
        assert [e["error_type"] for e in cr["errors"]] == ["mpic_error:http"], where
        assert "longer than" in cr["errors"][0]["error_message"], where
        assert cr["details"]["response_status_code"] == 200, where


def test_http01_key_authorization_with_trailing_whitespace_still_passes(cluster, raw_http):
    body = KEYAUTH.encode() + b" \r\n\t\n"
    raw_http("127.0.77.3", b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(body)
             + body)
    r = http01(cluster, "127.0.77.3")
    assert r.body["is_valid"] is True, describe(r)
