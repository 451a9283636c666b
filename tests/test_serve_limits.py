"""Request bodies sent chunked (no Content-Length) through a real server, `stagegate serve`
(gunicorn) on a loopback port: each is cut off at its page's limit with a 413 that says so, never
read whole, never cut short and taken for complete, and nothing is stored."""
from __future__ import annotations

import http.cookiejar
import json
import re
import socket
import threading
import urllib.parse
import urllib.request

import pytest

from bench import scale
from engine.services.users import add_user, set_password

PASSWORD = "correct horse battery"


def chunked_post(base: str, path: str, headers: dict, first: bytes, filler: bytes, total: int) -> tuple[int, str]:
    """POST a body of about `total` bytes in 64 kB chunks: `first`, then `filler` repeated. The
    answer is read while sending, as a server may answer (and stop reading) before the end."""
    host, port = urllib.parse.urlsplit(base).netloc.split(":")
    sock = socket.create_connection((host, int(port)), timeout=60)
    head = (f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n"
            + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n")
    answer = bytearray()

    def read():
        try:
            while data := sock.recv(65536):
                answer.extend(data)
        except OSError:
            pass

    reader = threading.Thread(target=read)
    sock.sendall(head.encode())
    reader.start()
    try:
        sent, part = 0, first
        while sent < total:
            sock.sendall(f"{len(part):x}\r\n".encode() + part + b"\r\n")
            sent += len(part)
            part = filler
        sock.sendall(b"0\r\n\r\n")
    except OSError:  # the server answered and closed: what it said is what counts
        pass
    reader.join(60)
    sock.close()
    status = re.match(rb"HTTP/1\.1 (\d{3})", bytes(answer))
    assert status, f"no HTTP answer: {bytes(answer[:200])!r}"
    return int(status.group(1)), bytes(answer).split(b"\r\n\r\n", 1)[-1].decode(errors="replace")


class Browser:
    """Signs in over HTTP and keeps the session cookie, as a browser does."""

    def __init__(self, base: str, name: str):
        self.base, self.jar = base, http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        token = self.token("/login")
        form = urllib.parse.urlencode({"username": name, "password": PASSWORD, "csrf_token": token}).encode()
        self.opener.open(base + "/login", form).read()

    def token(self, page: str) -> str:
        html = self.opener.open(self.base + page).read().decode()
        return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)

    def headers(self) -> dict:
        return {"Cookie": "; ".join(f"{c.name}={c.value}" for c in self.jar)}


@pytest.fixture
def served(database_url):
    scale.sign_off_deals(database_url, deals=0, racers=0)  # the catalog, sam (Sales)
    with scale.runtime(database_url) as sg:
        add_user(sg, "dora", ["Process Designer"], "cli:test")
        for name in ("sam", "dora"):
            set_password(sg, name, PASSWORD, "cli:test")
    token = scale.token_for(database_url, "sam")
    with scale.server(database_url, workers=1) as base:
        yield base, token


def test_chunked_bodies_past_each_limit_are_413_and_nothing_is_stored(served, database_url):
    base, token = served
    # The API: 20 MB of start data, as in the report (1 MB limit).
    status, body = chunked_post(base, "/api/v1/instances",
                                {"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
                                b'{"process_id": "opportunity", "data": {"customer": "', b"x" * 65536, 20_000_000)
    assert status == 413 and "a request may carry at most 1 MB" in body, (status, body)

    # A start form (1 MB), signed in with the page's CSRF token.
    sam = Browser(base, "sam")
    token = sam.token("/start/opportunity")
    form = urllib.parse.urlencode({**scale.PROSPECT, "csrf_token": token}).encode() + b"&customer="
    status, body = chunked_post(base, "/start/opportunity",
                                {**sam.headers(), "Content-Type": "application/x-www-form-urlencoded"},
                                form, b"x" * 65536, 2_000_000)
    assert status == 413 and "a request may carry at most 1 MB" in body, (status, body[:500])

    # The designer (a diagram of up to 5 MB, sent as JSON): 11 MB is refused, not read whole.
    dora = Browser(base, "dora")
    status, body = chunked_post(base, "/designer/validate",
                                {**dora.headers(), "Content-Type": "application/json",
                                 "X-CSRFToken": dora.token("/designer/")},
                                b'{"kind": "bpmn", "xml": "', b"x" * 65536, 11 * 1024 * 1024)
    assert status == 413 and "a diagram may be at most 5 MB" in body, (status, body)
    assert scale.deal_count(database_url) == 0


def test_a_chunked_body_within_the_limit_is_read_whole(served, database_url):
    base, token = served
    first = json.dumps({"process_id": "opportunity", "data": scale.PROSPECT}).encode()
    status, body = chunked_post(base, "/api/v1/instances",
                                {"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
                                first, b"", len(first))
    assert status == 201, body
    assert scale.deal_count(database_url) == 1
