#!/usr/bin/python3
"""A perspective agent that misbehaves, served in place of a killed one: the cluster's mutual TLS
(the agent's own certificate, the orchestrator's client certificate required), then a reply that
no agent should give.

usage: fake_agent.py MODE PORT CERT KEY CA
  garbage  200, Content-Type application/json, 64 KiB of random bytes
  nonhttp  random bytes where the status line should be, then close
  huge     200 with a 10 MB JSON-looking body (past the orchestrator's reply limit)
  trickle  a plausible 200 reply, one byte every 200 ms
"""
import os
import socket
import ssl
import sys
import threading
import time

REPLY = (b'{"perspective_code":"x","check_passed":true,"check_completed":true,'
         b'"timestamp_ns":1,"errors":null,"details":{}}')


def read_request(conn):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            return False
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    length = 0
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v.strip())
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            return False
        body += chunk
    return True


def header(length):
    return (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
            b"Content-Length: %d\r\n\r\n" % length)


def serve(conn, mode):
    try:
        if not read_request(conn):
            return
        if mode == "garbage":
            body = os.urandom(65536)
            conn.sendall(header(len(body)) + body)
        elif mode == "nonhttp":
            conn.sendall(os.urandom(4096))
        elif mode == "huge":
            body = b'{"perspective_code":"' + b"x" * (10 * 1000 * 1000) + b'"}'
            conn.sendall(header(len(body)) + body)
        elif mode == "trickle":
            for b in header(len(REPLY)) + REPLY:
                conn.sendall(bytes([b]))
                time.sleep(0.2)
    except (OSError, ssl.SSLError):
        pass
    finally:
        try:
            conn.close()
        except OSError:
            pass


def main():
    mode, port, cert, key, ca = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    ctx.load_verify_locations(ca)
    ctx.verify_mode = ssl.CERT_REQUIRED
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", port))
    srv.listen(128)
    print(f"fake agent ({mode}) on 127.0.0.1:{port}", flush=True)
    while True:
        raw, _ = srv.accept()

        def handshake_then_serve(raw=raw):
            raw.settimeout(30)
            try:
                conn = ctx.wrap_socket(raw, server_side=True)
            except (OSError, ssl.SSLError):
                raw.close()
                return
            serve(conn, mode)
        threading.Thread(target=handshake_then_serve, daemon=True).start()


if __name__ == "__main__":
    main()
