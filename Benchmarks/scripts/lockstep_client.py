#!/usr/bin/env python3
"""Sends exactly N keep-alive `GET /` requests through a proxy over C connections in lockstep:
each round writes one request on every connection, then reads every response. Deterministic
request counts (unlike wrk's fixed duration) let callgrind runs of N and 2N requests be
subtracted. Exits non-zero if any response is not a 200 with the expected body.

    lockstep_client.py HOST:PORT N [C]
"""
import socket
import sys


def read_response(sock, pending):
    while b"\r\n\r\n" not in pending:
        chunk = sock.recv(65536)
        if not chunk:
            raise SystemExit("connection closed mid-response")
        pending += chunk
    head, _, rest = pending.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    if not lines[0].startswith(b"HTTP/1.1 200"):
        raise SystemExit(f"unexpected status line: {lines[0]!r}")
    length = None
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    if length is None:
        raise SystemExit("response without Content-Length")
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise SystemExit("connection closed mid-body")
        rest += chunk
    return rest[length:]


def main():
    host, port = sys.argv[1].rsplit(":", 1)
    total = int(sys.argv[2])
    width = int(sys.argv[3]) if len(sys.argv) > 3 else 8
    request = b"GET / HTTP/1.1\r\nHost: backend.local\r\nUser-Agent: lockstep\r\nAccept: */*\r\n\r\n"
    sockets = [socket.create_connection((host, int(port))) for _ in range(width)]
    for sock in sockets:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    leftovers = [b""] * width
    sent = 0
    while sent < total:
        batch = min(width, total - sent)
        for i in range(batch):
            sockets[i].sendall(request)
        for i in range(batch):
            leftovers[i] = read_response(sockets[i], leftovers[i])
        sent += batch
    for sock in sockets:
        sock.close()


if __name__ == "__main__":
    main()
