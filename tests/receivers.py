"""Real receivers on loopback ports for integration tests: a webhook endpoint that answers as it
is told (fail, time out, succeed), and an aiosmtpd SMTP server that keeps what it is sent."""
from __future__ import annotations

import json
import socket
import threading
import time
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks import Webhook, WebhookVerificationError


class WebhookReceiver:
    """An HTTP server on a free loopback port. `behaviour(n)` decides the answer to the n-th request
    carrying the same webhook-id (0 for its first try):
    "ok" (204), "fail" (500), or "timeout" (sleeps `slow` seconds, then answers 204 too late)."""

    def __init__(self, secret: str | None = None, behaviour=lambda n: "ok", slow: float = 1.0):
        self.secret, self.behaviour, self.slow = secret, behaviour, slow
        self.requests: list[dict] = []  # every request, in arrival order
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k.lower(): v for k, v in self.headers.items()}
                with receiver.lock:
                    n = sum(1 for r in receiver.requests if r["headers"].get("webhook-id") == headers.get("webhook-id"))
                    answer = receiver.behaviour(n)
                    receiver.requests.append({"headers": headers, "body": body, "answer": answer,
                                              "verified": receiver._verified(body, self.headers)})
                if answer == "timeout":
                    time.sleep(receiver.slow)
                self.send_response(500 if answer == "fail" else 204)
                self.end_headers()
                if answer == "fail":
                    return

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _verified(self, body: bytes, headers) -> bool:
        if self.secret is None:
            return False
        try:
            Webhook(self.secret).verify(body, {k: v for k, v in headers.items()})
            return True
        except WebhookVerificationError:
            return False

    def accepted(self) -> list[dict]:
        """The requests answered in time with success: (id, event) in arrival order."""
        return [{"id": r["headers"]["webhook-id"], **json.loads(r["body"])} for r in self.requests if r["answer"] == "ok"]

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MailCatcher:
    """aiosmtpd's SMTP server on a free loopback port, keeping each message it receives."""

    def __init__(self):
        from aiosmtpd.controller import Controller

        self.messages: list = []
        catcher = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
                catcher.messages.append(message_from_bytes(envelope.content, policy=policy.default))
                return "250 OK"

        self.port = free_port()  # aiosmtpd's controller checks its port by connecting: it needs a real one
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)

    def __enter__(self):
        self.controller.start()
        return self

    def __exit__(self, *exc):
        self.controller.stop()
