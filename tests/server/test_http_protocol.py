"""The header deadline (collector/server/http_protocol.py) on a real uvicorn: complete requests are served,
on fresh and kept-alive connections alike, and headers that never end cost a closed connection."""

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from support import wait_until

from collector.server import http_protocol

DEADLINE_S = 1.0  # long enough that a busy machine still reads a complete request in time


async def hello(request: Request) -> PlainTextResponse:
    return PlainTextResponse("hello")


@contextmanager
def serving() -> Iterator[tuple[str, int]]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    app = Starlette(routes=[Route("/", hello)])
    server = uvicorn.Server(http_protocol.uvicorn_config(app, header_timeout_s=DEADLINE_S))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        wait_until(lambda: server.started, what="uvicorn to start")
        yield sock.getsockname()
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def read_all(conn: socket.socket) -> bytes:
    conn.settimeout(5)
    received = b""
    while chunk := conn.recv(4096):
        received += chunk
    return received


def test_headers_that_never_end_close_the_connection() -> None:
    with serving() as address, socket.create_connection(address) as conn:
        conn.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        assert read_all(conn) == b""  # closed without an answer once the deadline passed


def test_a_kept_alive_connection_gets_the_deadline_again_for_its_next_request() -> None:
    with serving() as address, socket.create_connection(address) as conn:
        conn.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        conn.settimeout(5)
        first = conn.recv(4096)
        assert first.startswith(b"HTTP/1.1 200")
        assert first.endswith(b"hello")
        conn.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Sl")  # the second request stalls in its headers
        assert read_all(conn) == b""


def test_complete_requests_are_served_as_usual() -> None:
    with serving() as address, socket.create_connection(address) as conn:
        for _ in range(3):  # slower than the deadline in total, each request in time
            conn.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            conn.settimeout(5)
            assert conn.recv(4096).endswith(b"hello")


def test_a_request_the_parser_refuses_gets_a_json_400() -> None:
    with serving() as address, socket.create_connection(address) as conn:
        conn.sendall(b"GET /\x00x HTTP/1.1\r\nHost: x\r\n\r\n")  # a NUL in the target is no HTTP
        answer = read_all(conn)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400")
    assert b"content-type: application/json" in head
    assert json.loads(body)["error"] == "invalid_http"
