"""The server's HTTP protocol (api/http/http_protocol.py) sends each loop turn's writes together: over a raw
socket, pipelined requests get every answer whole and in order, a closing request gets its whole
answer before the end of the stream, and a large answer reaches a slow reader intact."""
import json
import socket
import time
from urllib.parse import urlsplit

import pytest

sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # HTTP, not storage

INTROSPECTION = "{ __schema { types { name fields { name type { name kind ofType { name kind } } } } } }"


def post(query: str, variables: dict | None = None, *, close: bool = False, authorization: str | None = None) -> bytes:
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    head = (f"POST /graphql HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n" + ("Connection: close\r\n" if close else "")
            + (f"Authorization: {authorization}\r\n" if authorization else "") + "\r\n")
    return head.encode() + body


def connect(live_server) -> socket.socket:
    address = urlsplit(live_server.base_url)
    return socket.create_connection((address.hostname, address.port), timeout=10)


def read_responses(sock: socket.socket, count: int, *, pause: float = 0.0, chunk: int = 65536) -> list[tuple]:
    """`count` responses as (status, headers, body), read by Content-Length."""
    buffer, responses = b"", []
    while len(responses) < count:
        while b"\r\n\r\n" not in buffer:
            buffer += receive(sock, chunk, pause)
        head, buffer = buffer.split(b"\r\n\r\n", 1)
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        headers = dict(line.lower().split(": ", 1) for line in header_lines)
        length = int(headers["content-length"])
        while len(buffer) < length:
            buffer += receive(sock, chunk, pause)
        responses.append((int(status_line.split()[1]), headers, buffer[:length]))
        buffer = buffer[length:]
    assert buffer == b""
    return responses


def receive(sock: socket.socket, chunk: int, pause: float) -> bytes:
    if pause:
        time.sleep(pause)
    data = sock.recv(chunk)
    assert data, "the server closed the connection before the whole answer"
    return data


@sqlite_only
def test_pipelined_requests_each_get_their_whole_answer_in_order(live_server):
    with connect(live_server) as sock:
        sock.sendall(b"".join(post("{ %s: __typename }" % alias) for alias in ("first", "second", "third")))
        responses = read_responses(sock, 3)
    assert [(status, json.loads(body)["data"]) for status, _, body in responses] == [
        (200, {"first": "Query"}), (200, {"second": "Query"}), (200, {"third": "Query"})]


@sqlite_only
def test_a_closing_request_gets_its_whole_answer_then_the_end_of_the_stream(live_server):
    with connect(live_server) as sock:
        sock.sendall(post("{ a: __typename }") + post("{ b: __typename }", close=True))
        responses = read_responses(sock, 2)
        assert sock.recv(1024) == b""
    assert [json.loads(body)["data"] for _, _, body in responses] == [{"a": "Query"}, {"b": "Query"}]
    assert responses[1][1]["connection"] == "close"


@sqlite_only
def test_a_large_answer_reaches_a_slow_reader_intact(live_server):
    expected = live_server.anonymous().data(INTROSPECTION)
    with connect(live_server) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.sendall(post(INTROSPECTION) * 3 + post("{ __typename }"))
        responses = read_responses(sock, 4, pause=0.001, chunk=16384)
    assert len(responses[0][2]) > 50_000  # far over the socket buffers: writes wait on the reader
    assert all(json.loads(body)["data"] == expected for _, _, body in responses[:3])
    assert json.loads(responses[3][2])["data"] == {"__typename": "Query"}


@sqlite_only
def test_answering_a_request_leaves_no_reference_cycles(live_server):
    """Each request's objects are freed as its answer leaves, by reference counting: garbage that only
    the cyclic collector frees piles up between its passes, and each pass stalls every request. (The
    client here is a bare socket: an HTTP client library makes cycles of its own.)"""
    import gc

    authorization = live_server.member().headers()["Authorization"]
    home = "{ me { nickname points { available } ledger(first: 3) { edges { node { delta reason } } } } }"
    check_in = "mutation($key: String!) { checkIn(input: {idempotencyKey: $key}) { userErrors { code } } }"
    with connect(live_server) as sock:
        def answer(query: str, variables: dict | None = None) -> dict:
            sock.sendall(post(query, variables, authorization=authorization))
            return json.loads(read_responses(sock, 1)[0][2])

        answer(check_in, {"key": "first"})  # what is made once (documents, the member) is made now
        assert answer(check_in, {"key": "again"})["data"]["checkIn"]["userErrors"] == [
            {"code": "ALREADY_CHECKED_IN"}]
        answer(home)
        gc.collect()
        gc.disable()
        try:
            for i in range(100):
                assert "errors" not in answer(home)
                assert answer(check_in, {"key": f"k{i}"})["data"]["checkIn"]["userErrors"]
            cyclic = gc.collect()
        finally:
            gc.enable()
    assert cyclic < 100, f"{cyclic} objects in reference cycles after 200 requests"
