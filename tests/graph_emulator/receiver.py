"""A small real HTTPS endpoint for the emulator's change notifications: it answers the validation
handshake (or fails it the ways a broken endpoint does) and records every notification POST."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

WAIT = 20.0  # generous: waits end as soon as the condition holds


class Receiver:
    """Serves https://127.0.0.1:{port}/… with `cert`/`key` (a chain the emulator must trust).

    `validation`: "echo" (200, text/plain, the decoded token), "wrong" (another body), "html"
    (text/html), "status" (500) or "late" (echo after `late_seconds`). Notification POSTs are
    answered `status` (202), or 503 while `fail_next` > 0 or always when `fail_always`."""

    def __init__(self, cert: Path, key: Path) -> None:
        self.validation = "echo"
        self.late_seconds = 2.0
        self.status = 202
        self.fail_next = 0
        self.fail_always = False
        self.tokens: list[tuple[str, str]] = []  # (path, decoded token)
        self.posts: list[tuple[str, dict]] = []  # (path, JSON body)
        self.lock = threading.Lock()
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.server.daemon_threads = True
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def url(self, path: str = "/notify") -> str:
        """The https URL of `path` on this receiver."""
        return f"https://127.0.0.1:{self.server.server_address[1]}{path}"

    def bodies(self, path: str = "/notify") -> list[dict]:
        """The JSON bodies POSTed to `path`, in arrival order."""
        with self.lock:
            return [body for p, body in self.posts if p == path]

    def items(self, path: str = "/notify") -> list[dict]:
        """Every notification received on `path` (the `value` items of all its POSTs)."""
        return [item for body in self.bodies(path) for item in body["value"]]

    def wait_for(self, predicate, timeout: float = WAIT):
        """Poll until `predicate()` is truthy; return its value (AssertionError on timeout)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting; received so far: {self.posts}")

    def wait_items(self, count: int, path: str = "/notify") -> list[dict]:
        """Wait until at least `count` notifications arrived on `path`; return them all."""
        self.wait_for(lambda: len(self.items(path)) >= count)
        return self.items(path)


def _handler(receiver: Receiver):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
            """Quiet."""

        def do_POST(self) -> None:  # noqa: N802 - stdlib naming
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            query = parse_qs(parts.query)
            if "validationToken" in query:
                self._validation(parts.path, query["validationToken"][0])
                return
            with receiver.lock:
                receiver.posts.append((parts.path, json.loads(raw)))
                failing = receiver.fail_always or receiver.fail_next > 0
                receiver.fail_next = max(0, receiver.fail_next - 1)
            self._answer(503 if failing else receiver.status, b"", "text/plain")

        def _validation(self, path: str, token: str) -> None:
            with receiver.lock:
                receiver.tokens.append((path, token))
            mode = receiver.validation
            if mode == "late":
                time.sleep(receiver.late_seconds)
            if mode == "status":
                self._answer(500, b"", "text/plain")
            elif mode == "html":
                self._answer(200, token.encode(), "text/html")
            elif mode == "wrong":
                self._answer(200, b"not-the-token", "text/plain")
            else:
                self._answer(200, token.encode(), "text/plain; charset=utf-8")

        def _answer(self, status: int, body: bytes, content_type: str) -> None:
            with contextlib.suppress(OSError):  # the emulator may have given up waiting ("late")
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

    return Handler


def future(minutes: float) -> str:
    """An expirationDateTime `minutes` from now, in Graph's 7-digit UTC format."""
    moment = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=minutes)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond:06d}0Z"


def subscribe(graph, emulator, receiver, resource, **extra):
    """POST /subscriptions for `resource` posting to the receiver's /notify (and /lifecycle)."""
    body = {
        "changeType": "created,updated,deleted",
        "notificationUrl": receiver.url("/notify"),
        "lifecycleNotificationUrl": receiver.url("/lifecycle"),
        "resource": resource,
        "expirationDateTime": future(60),
        "clientState": "secret-état",
        **extra,
    }
    return graph.post(f"{emulator.graph_url}/subscriptions", json={k: v for k, v in body.items() if v is not None})


def deliveries(emulator, receiver, since: int = 0) -> list[dict]:
    """The request-log entries of the emulator's notification POSTs to the receiver's /notify."""
    return [e for e in emulator.requests_log(since) if e["kind"] == "notification" and e["target"] == receiver.url()]
