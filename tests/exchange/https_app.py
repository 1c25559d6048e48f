"""The product served over real HTTPS in a thread, so the Graph emulator can validate and notify
its endpoint as Microsoft does: Django's LiveServerThread with its socket wrapped in TLS, using
the emulator's certificate chain (the emulator trusts its own CA for outgoing calls)."""

from __future__ import annotations

import ssl
from pathlib import Path

from django.contrib.staticfiles.handlers import StaticFilesHandler
from django.db import connections
from django.test.testcases import LiveServerThread, QuietWSGIRequestHandler


class HttpsLiveServerThread(LiveServerThread):
    def __init__(self, cert: Path, key: Path, **kwargs) -> None:
        super().__init__("127.0.0.1", StaticFilesHandler, **kwargs)
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(cert, key)

    def _create_server(self, connections_override=None):
        server = self.server_class(
            (self.host, self.port),
            QuietWSGIRequestHandler,
            allow_reuse_address=False,
            connections_override=connections_override,
        )
        server.socket = self.context.wrap_socket(server.socket, server_side=True)
        return server


class HttpsApp:
    """Start with `with HttpsApp(cert, key) as app:`; `app.url` is its https root."""

    def __init__(self, cert: Path, key: Path) -> None:
        shared = {c.alias: c for c in connections.all() if c.vendor == "sqlite" and c.is_in_memory_db()}
        self.thread = HttpsLiveServerThread(cert, key, connections_override=shared)
        self.thread.daemon = True

    def __enter__(self) -> HttpsApp:
        for conn in self.thread.connections_override.values():
            conn.inc_thread_sharing()
        self.thread.start()
        self.thread.is_ready.wait()
        if self.thread.error:
            raise self.thread.error
        return self

    def __exit__(self, *exc_info) -> None:
        self.thread.terminate()
        for conn in self.thread.connections_override.values():
            conn.dec_thread_sharing()

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.thread.port}"
