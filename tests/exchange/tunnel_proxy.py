"""A real HTTP proxy for tests: it tunnels CONNECT host:port, as corporate proxies do for HTTPS.

It records each tunnel's target, so a test can tell which hosts a client reached through it.
Nothing inside the tunnel is read: TLS runs end to end between the client and the server.
"""

from __future__ import annotations

import select
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _Tunnel(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        """Quiet."""

    def do_CONNECT(self) -> None:  # noqa: N802 - stdlib naming
        host, _, port = self.path.rpartition(":")
        try:
            upstream = socket.create_connection((host.strip("[]"), int(port)), timeout=10)
        except (OSError, ValueError):
            self.send_error(502, "Bad Gateway")
            return
        self.server.targets.append(self.path)
        self.send_response(200, "Connection established")
        self.end_headers()
        self.close_connection = True
        with upstream:
            _pump(self.connection, upstream)

    def do_GET(self) -> None:  # noqa: N802 - a plain-HTTP request is not what this proxy carries
        self.send_error(501, "Only CONNECT tunnels")


def _pump(client: socket.socket, upstream: socket.socket) -> None:
    """Copy bytes both ways until either side closes."""
    sockets = [client, upstream]
    while True:
        readable, _, broken = select.select(sockets, [], sockets, 30)
        if broken or not readable:
            return
        for source in readable:
            data = source.recv(65536)
            if not data:
                return
            (upstream if source is client else client).sendall(data)


class TunnelProxy:
    """`with TunnelProxy() as proxy:` a proxy on 127.0.0.1; `proxy.url`, `proxy.targets`."""

    def __init__(self) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Tunnel)
        self.server.daemon_threads = True
        self.server.targets = []
        self.thread = threading.Thread(target=self.server.serve_forever, name="tunnel-proxy", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    @property
    def targets(self) -> list[str]:
        return self.server.targets

    def __enter__(self) -> TunnelProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
