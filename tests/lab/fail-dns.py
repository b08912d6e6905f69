#!/usr/bin/python3
"""A DNS server that never gives a usable answer, so tests can see how the agent copes.

usage: fail-dns.py ADDR PORT servfail|refused|silent [DELAY_SECONDS]

servfail and refused echo the question back with that response code (over UDP and TCP);
silent reads every query and never replies, and keeps TCP connections open until the
client gives up. DELAY_SECONDS postpones each reply, to imitate a slow server.
"""
import socket
import struct
import sys
import threading
import time

RCODES = {"servfail": 2, "refused": 5, "silent": None}


def question_end(query):
    """Offset just past QNAME, QTYPE and QCLASS, or None when the query is malformed."""
    pos = 12
    while pos < len(query):
        label = query[pos]
        if label == 0:
            end = pos + 5
            return end if end <= len(query) else None
        if label & 0xC0:  # compression pointers never appear in a question we accept
            return None
        pos += label + 1
    return None


def reply_for(query, rcode, delay):
    if rcode is None or len(query) < 12:
        return None
    end = question_end(query)
    qdcount = 1 if end is not None else 0
    end = end if end is not None else 12
    # QR set; opcode and RD copied from the query; AA, TC, RA and Z left clear.
    flags = 0x8000 | ((query[2] & 0x79) << 8) | rcode
    if delay:
        time.sleep(delay)
    return query[:2] + struct.pack("!HHHHH", flags, qdcount, 0, 0, 0) + query[12:end]


def read_exact(conn, size):
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def serve_udp(sock, rcode, delay):
    while True:
        query, peer = sock.recvfrom(65535)
        reply = reply_for(query, rcode, delay)
        if reply is not None:
            sock.sendto(reply, peer)


def serve_tcp_client(conn, rcode, delay):
    with conn:
        while True:
            prefix = read_exact(conn, 2)
            if prefix is None:
                return
            query = read_exact(conn, struct.unpack("!H", prefix)[0])
            if query is None:
                return
            reply = reply_for(query, rcode, delay)
            if reply is None:
                continue  # silent: keep reading until the client closes
            conn.sendall(struct.pack("!H", len(reply)) + reply)


def main():
    if len(sys.argv) not in (4, 5) or sys.argv[3] not in RCODES:
        sys.exit(__doc__.strip().splitlines()[2])
    addr, port, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    delay = float(sys.argv[4]) if len(sys.argv) == 5 else 0.0
    rcode = RCODES[mode]

    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind((addr, port))
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    tcp.bind((addr, port))
    tcp.listen(32)
    threading.Thread(target=serve_udp, args=(udp, rcode, delay), daemon=True).start()
    while True:
        conn, _ = tcp.accept()
        threading.Thread(target=serve_tcp_client, args=(conn, rcode, delay), daemon=True).start()


if __name__ == "__main__":
    main()
