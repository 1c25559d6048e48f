"""The HTTPS server: TLS per connection, HTTP/1.1 keep-alive, and the GraphEmulator facade.

Requests to `/_emulator/…` go to the control API and the "Outlook" page (loopback clients
only); `/{tenant}/…` and `/common/…` to the identity endpoints; `/v1.0/…` to Graph.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import logging
import shutil
import socket
import ssl
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, unquote

from . import control, events, notify, tls
from . import identity as identity_mod
from . import seed as seed_mod
from .api import GraphApi
from .api_subscriptions import SubscriptionService
from .errors import AadError, GraphError, graph_error_body
from .faults import FaultBook
from .reqlog import RequestLog
from .state import Saver, load
from .store import Store
from .subscriptions import SubscriptionBook
from .wire import Request, Response

log = logging.getLogger(__name__)

MAX_BODY = 4 * 1024 * 1024
DRAIN_LIMIT = 64 * 1024 * 1024
TOP_LEVEL_FAULTS = (
    "throttle",
    "unavailable",
    "gateway_timeout",
    "error",
    "delay",
    "drop",
    "timeout_after_write",
    "revoke_tokens",
)
LIFECYCLE_EVENTS = ("reauthorizationRequired", "subscriptionRemoved", "missed")
DIAGNOSTIC = (
    '{"ServerInfo":{"DataCenter":"Canada East","Slice":"E","Ring":"3","ScaleUnit":"000",'
    '"RoleInstance":"YQ1PEPF00000000"}}'
)


def parse_query(text: str) -> dict[str, str]:
    """Query string → {lower-cased name: first value}; OData option names are case-insensitive."""
    query: dict[str, str] = {}
    for name, value in parse_qsl(text, keep_blank_values=True):
        query.setdefault(name.lower(), value)
    return query


def is_loopback(address: str) -> bool:
    """True for 127.0.0.0/8 and ::1 (the control API refuses anyone else)."""
    try:
        return ipaddress.ip_address(address.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def _listens_everywhere(host: str) -> bool:
    """True for the unspecified addresses (0.0.0.0, ::): a server bound there is reached locally."""
    try:
        return ipaddress.ip_address(host).is_unspecified
    except ValueError:
        return False


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "Microsoft-HTTPAPI/2.0"
    sys_version = ""
    timeout = 120
    wbufsize = 256 * 1024  # one TLS write for headers + body of a typical page

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        """Silence the default per-request stderr lines."""

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        self._serve()

    do_POST = do_PATCH = do_DELETE = do_PUT = do_HEAD = do_OPTIONS = do_GET

    def _serve(self) -> None:
        emulator: GraphEmulator = self.server.emulator  # type: ignore[attr-defined]
        raw_path, _, query = self.path.partition("?")
        request_id = str(uuid.uuid4())
        req = Request(
            method=self.command,
            path=unquote(raw_path),
            raw_path=raw_path,
            query=parse_query(query),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=b"",
            base=f"https://{self.headers.get('Host') or emulator.netloc}",
            client=self.client_address[0],
            prefer_values=self.headers.get_all("Prefer") or [],
            request_id=request_id,
            client_request_id=self.headers.get("client-request-id") or request_id,
        )
        body = self._read_body()
        if isinstance(body, Response):
            self._send(req, body)
            return
        req.body = body
        self._send(req, emulator.dispatch(req))

    def _read_body(self) -> bytes | Response:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            return self._read_chunked()
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0:
            self.close_connection = True
            return _bad_length()
        if length > MAX_BODY:
            self._discard(length)
            return _too_large()
        return self.rfile.read(length) if length else b""

    def _discard(self, length: int) -> None:
        """Read (and drop) an oversized body so the client gets the 413 instead of a reset."""
        self.close_connection = True
        remaining = min(length, DRAIN_LIMIT)
        while remaining > 0:
            chunk = self.rfile.read(min(remaining, 65536))
            if not chunk:
                return
            remaining -= len(chunk)

    def _read_chunked(self) -> bytes | Response:
        data = bytearray()
        while True:
            line = self.rfile.readline(1024).split(b";", 1)[0].strip()
            try:
                size = int(line, 16)
            except ValueError:
                self.close_connection = True
                return _bad_length()
            if size == 0:
                self.rfile.readline(1024)
                return bytes(data)
            data += self.rfile.read(size)
            self.rfile.readline(1024)
            if len(data) > MAX_BODY:
                self.close_connection = True
                return _too_large()

    def _send(self, req: Request, response: Response) -> None:
        if response.hang_after is not None:
            time.sleep(response.hang_after)
            self.close_connection = True
            self._abort()
            return
        payload = response.payload()
        self.send_response(response.status)
        headers = {
            "Content-Type": response.media_type(),
            "Content-Length": str(len(payload)),
            "request-id": req.request_id,
            "client-request-id": req.client_request_id,
            "x-ms-ags-diagnostic": DIAGNOSTIC,
            "Strict-Transport-Security": "max-age=31536000",
            "Cache-Control": "no-cache",
        }
        if response.status == 204:
            headers.pop("Content-Type")
        headers.update(response.headers)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if req.method == "HEAD":
            return
        if response.cut:
            self.wfile.write(payload[: len(payload) // 2])
            self.wfile.flush()
            self.close_connection = True
            self._abort()
            return
        self.wfile.write(payload)

    def _abort(self) -> None:
        """Drop the connection without a clean end (the client sees a reset or a short read)."""
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def _too_large() -> Response:
    body = graph_error_body("RequestEntityTooLarge", "The request body is too large.", str(uuid.uuid4()), "")
    return Response(413, body, {"Connection": "close"}, "application/json")


def _bad_length() -> Response:
    body = graph_error_body("BadRequest", "Invalid Content-Length or chunked body.", str(uuid.uuid4()), "")
    return Response(400, body, {"Connection": "close"}, "application/json")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, address, emulator: GraphEmulator, context: ssl.SSLContext) -> None:
        self.emulator = emulator
        self.ssl_context = context
        family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.address_family = family
        super().__init__(address, _Handler)

    def finish_request(self, request, client_address) -> None:
        """TLS handshake in the worker thread, then serve the keep-alive connection."""
        request.settimeout(15)
        # Headers and body leave in separate writes; without NODELAY, Nagle + delayed ACK stall them.
        request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            conn = self.ssl_context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        try:
            self.RequestHandlerClass(conn, client_address, self)
        except (ssl.SSLError, OSError, ValueError):
            pass
        finally:
            conn.close()

    def handle_error(self, request, client_address) -> None:
        """Broken connections are normal here (faults, clients going away)."""
        log.debug("connection error from %s", client_address, exc_info=True)


class GraphEmulator:
    """A local Microsoft Graph + Entra ID stand-in; see the package docstring for the API."""

    def __init__(  # nosec B107 # the emulator's own demo credential
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        state_file: str | Path | None = None,
        tenant: str = "prextra-demo",
        client_id: str = "prextra-sync-demo",
        client_secret: str = "demo-secret",
        token_lifetime: int = 3599,
        cert_dir: str | Path | None = None,
        mailboxes: tuple[str, ...] | list[str] = (),
        save_delay: float = 0.5,
        notify_delay: float = 1.0,
        notify_ca_file: str | Path | None = None,
        delta_lag: float = 0.0,
    ) -> None:
        """`notify_delay`: seconds between a change and its change notification (changes within
        it share one POST); `notify_ca_file`: a CA file trusted, besides the system store and the
        emulator's own CA, by the outgoing calls to notification URLs; `delta_lag`: seconds before
        a change shows in delta rounds (Store.visible_seq; PUT /_emulator/delta/lag changes it)."""
        self.host = host
        self.requested_port = port
        self.state_file = Path(state_file) if state_file else None
        self.store = Store()
        self.store.upn_domain = f"{tenant}.onmicrosoft.com"
        self.store.delta_lag = self.initial_delta_lag = delta_lag
        self.identity = identity_mod.Identity(self.store, tenant, client_id, client_secret, token_lifetime)
        self.faults = FaultBook()
        self.log = RequestLog()
        self.api = GraphApi(self.store, self.identity, self.faults)
        self.api.log_inner = self._log_inner
        self.book = SubscriptionBook()
        self.notifier = notify.Notifier(self.book, self.faults, self.log, self.identity.tenant_id, notify_delay)
        self.api.subscriptions = SubscriptionService(self.book, self.notifier, client_id)
        self.store.on_item_change = self.notifier.changed
        self.notify_ca_file = str(notify_ca_file) if notify_ca_file else None
        self.initial_mailboxes = list(mailboxes)
        self.save_delay = save_delay
        self._cert_dir_arg = Path(cert_dir) if cert_dir else None
        self._temp_dir: str | None = None
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._saver: Saver | None = None
        self.ca_file = ""
        self.port = 0

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> GraphEmulator:
        """Load state, make certificates, bind, and serve in a background thread."""
        if self.state_file:
            load(self.store, self.state_file, self.book)
        for address in self.initial_mailboxes:
            self.store.add_mailbox(address)
        ca, cert, key = tls.ensure_certificates(self._cert_dir())
        self.ca_file = str(ca)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(cert, key)
        self._server = _Server((self.host, self.requested_port), self, context)
        self.port = self._server.server_address[1]
        self.notifier.start(notify.client_context(self.ca_file, self.notify_ca_file))
        if self.state_file:
            self._saver = Saver(self.store, self.state_file, self.save_delay, self.book)
            self.store.on_change = self._saver.mark
            self.book.on_change = self._saver.mark
            self._saver.start()
        self._thread = threading.Thread(target=self._server.serve_forever, name="graph-emulator", daemon=True)
        self._thread.start()
        return self

    def _cert_dir(self) -> Path:
        if self._cert_dir_arg:
            return self._cert_dir_arg
        if self.state_file:
            return self.state_file.with_name(self.state_file.stem + "-tls")
        self._temp_dir = tempfile.mkdtemp(prefix="graph-emulator-tls-")
        return Path(self._temp_dir)

    def stop(self) -> None:
        """Stop serving, save the state (when a file is set) and remove temporary files."""
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread:
            self._thread.join(timeout=10)
            self._thread = None
        self.notifier.stop()
        if self._saver:
            self.store.on_change = None
            self._saver.stop()
            self._saver = None
        if self._temp_dir:
            shutil.rmtree(self._temp_dir, ignore_errors=True)
            self._temp_dir = None

    def __enter__(self) -> GraphEmulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- addresses ---------------------------------------------------------------------------

    @property
    def netloc(self) -> str:
        """host:port as clients should address it."""
        if _listens_everywhere(self.host):
            return f"127.0.0.1:{self.port}"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def base_url(self) -> str:
        """https://host:port"""
        return f"https://{self.netloc}"

    @property
    def graph_url(self) -> str:
        """The Graph v1.0 root, e.g. https://127.0.0.1:PORT/v1.0"""
        return f"{self.base_url}/v1.0"

    @property
    def authority(self) -> str:
        """The msal authority, e.g. https://127.0.0.1:PORT/prextra-demo"""
        return f"{self.base_url}/{self.identity.tenant}"

    @property
    def outlook_url(self) -> str:
        """The demo "Outlook" page."""
        return f"{self.base_url}/_emulator/"

    # -- dispatch ----------------------------------------------------------------------------

    def dispatch(self, req: Request) -> Response:
        """Answer one HTTP request (never raises)."""
        try:
            if req.path.startswith("/_emulator"):
                if not is_loopback(req.client):
                    return Response(403, {"error": {"code": "Forbidden", "message": "Loopback only."}})
                return control.handle(self, req)
            return self._served(req)
        except Exception:  # noqa: BLE001 - a bug must not become a traceback on the wire
            log.exception("emulator failure on %s %s", req.method, req.path)
            body = graph_error_body(
                "generalException", "An unexpected error occurred.", req.request_id, req.client_request_id
            )
            return Response(500, body, content_type="application/json")

    def _served(self, req: Request) -> Response:
        graph = req.path == "/v1.0" or req.path.startswith("/v1.0/")
        fault = self.faults.take(req.method, req.path, TOP_LEVEL_FAULTS, False)
        response = self._apply_fault(req, fault)
        if response is None:
            response = self.api.handle(req) if graph else self._identity(req)
        if fault and fault.kind == "drop":
            response.cut = True
        if fault and fault.kind == "timeout_after_write":
            response.hang_after = fault.seconds or 5.0
        self.log.add(_entry(req, response, "graph" if graph else "identity"))
        return response

    def _apply_fault(self, req: Request, fault) -> Response | None:
        if fault is None:
            return None
        if fault.kind == "delay":
            time.sleep(fault.seconds)
        elif fault.kind == "revoke_tokens":
            self.identity.revoke_all()
        elif fault.kind in ("throttle", "unavailable", "gateway_timeout", "error"):
            return self.api.error_response(req, fault.error())
        return None

    def _log_inner(self, req: Request, item: dict, response: Response) -> None:
        entry = _entry(req, response, "graph")
        entry["batchRequestId"] = item.get("id")
        self.log.add(entry)

    def _identity(self, req: Request) -> Response:
        parts = [p for p in req.path.split("/") if p]
        try:
            return self._identity_route(req, parts)
        except AadError as exc:
            return Response(
                exc.status, exc.body(req.header("client-request-id")), content_type="application/json; charset=utf-8"
            )

    def _identity_route(self, req: Request, parts: list[str]) -> Response:
        json_type = "application/json; charset=utf-8"
        if req.method == "GET" and parts[-2:] == [".well-known", "openid-configuration"] and len(parts) in (3, 4):
            tenant = parts[0]
            if not self.identity.knows_tenant(tenant):
                raise self.identity.unknown_tenant(tenant)
            return Response(200, self.identity.discovery(req.base, tenant), content_type=json_type)
        if req.method == "POST" and len(parts) == 4 and parts[1:] == ["oauth2", "v2.0", "token"]:
            body = self.identity.token(parts[0], req.body, req.header("authorization"))
            return Response(200, body, {"Cache-Control": "no-store, no-cache", "Pragma": "no-cache"}, json_type)
        if req.method == "GET" and parts == ["common", "discovery", "instance"]:
            endpoint = f"{req.base}/{self.identity.tenant}/v2.0/.well-known/openid-configuration"
            return Response(
                200,
                {"tenant_discovery_endpoint": endpoint, "api-version": "1.1", "metadata": []},
                content_type=json_type,
            )
        if req.method == "GET" and parts[1:] == ["discovery", "v2.0", "keys"]:
            return Response(200, {"keys": []}, content_type=json_type)
        first = parts[0] if parts else ""
        raise_graph = GraphError(400, "BadRequest", f"Invalid version: {first}")
        return self.api.error_response(req, raise_graph)

    # -- helpers for tests and the control API ----------------------------------------------

    def add_mailbox(
        self,
        address: str,
        display_name: str | None = None,
        upn: str | None = None,
        aliases: list[str] | tuple[str, ...] = (),
    ) -> dict:
        """Create a mailbox (idempotent); return its summary. Its UPN differs from `address`
        unless `upn` says otherwise (see store.Mailbox)."""
        return self.store.add_mailbox(address, display_name, upn, aliases).summary()

    def mailbox(self, address: str):
        """The Mailbox object for an address or id (KeyError when unknown)."""
        found = self.store.find_mailbox(address)
        if found is None:
            raise KeyError(address)
        return found

    def seed(
        self, address: str, contacts: int = 0, events: int = 0, seed: int = 0, anchor: dt.date | None = None
    ) -> dict:
        """Add deterministic fr-CA contacts and events to a mailbox (created if needed)."""
        mailbox = self.store.add_mailbox(address)
        return seed_mod.seed_mailbox(self.store, mailbox, contacts, events, seed, anchor)

    def inject_fault(
        self, kind: str, method: str | None = None, path: str | None = None, count: int | None = 1, **options
    ) -> dict:
        """Arm a fault (see faults.py for the kinds); return it."""
        spec = {"kind": kind, "method": method, "path": path, "count": count, **options}
        return self.faults.add(spec).public()

    def clear_faults(self) -> None:
        """Disarm every fault."""
        self.faults.clear()

    def requests_log(self, since: int = 0) -> list[dict]:
        """Requests served (Graph and identity) since an index."""
        return self.log.since(since)

    def clear_requests_log(self) -> None:
        """Forget the logged requests."""
        self.log.clear()

    def set_roles(self, roles: list[str] | tuple[str, ...]) -> None:
        """The application permissions an administrator consented to; tokens issued from now on
        carry them in their `roles` claim (none: no claim at all, as without admin consent)."""
        self.identity.roles = list(roles)

    def revoke_tokens(self) -> None:
        """Every access token issued so far becomes invalid (401 on the next Graph call)."""
        self.identity.revoke_all()

    def expire_delta_tokens(self) -> None:
        """Every delta/skip token becomes invalid (410 SyncStateNotFound)."""
        self.api.delta.expire_all()

    def reset(self) -> None:
        """Forget all data, faults, subscriptions and logged requests (the delta lag back to its
        starting value); recreate the startup mailboxes."""
        self.store.forget_mailboxes()
        self.store.delta_lag = self.initial_delta_lag
        self.api.delta.expire_all()
        self.api.list_cache.clear()
        self.faults.clear()
        self.book.clear()
        self.notifier.clear()
        self.log.clear()
        for address in self.initial_mailboxes:
            self.store.add_mailbox(address)

    def subscriptions(self) -> list[dict]:
        """Every live subscription, as Graph shows it plus the mailbox's address and `paused`."""
        listing = []
        for sub in self.book.listing():
            mailbox = self.store.mailboxes.get(sub.mailbox_id)
            listing.append({**sub.graph(), "mailbox": mailbox.address if mailbox else None, "paused": sub.paused})
        return listing

    def send_lifecycle(self, subscription_id: str, event: str, pause: bool = False) -> dict | None:
        """Send a lifecycle notification (change-notifications-lifecycle-events): `missed`,
        `reauthorizationRequired` (with `pause`, change notifications stop until the app
        reauthorizes or renews: "eventually change notification delivery pauses, until you take the
        required action"; those in between are lost) or `subscriptionRemoved` (the subscription is
        deleted). Returns the notification queued, None when the subscription has no
        lifecycleNotificationUrl (nothing is sent; a removal still happens). KeyError: unknown id."""
        if event not in LIFECYCLE_EVENTS:
            raise ValueError(f"lifecycleEvent must be one of {list(LIFECYCLE_EVENTS)}")
        try:
            sub = self.book.get(subscription_id)
        except GraphError:
            raise KeyError(subscription_id) from None
        if event == "subscriptionRemoved":
            self.book.remove(sub.id)
        elif event == "reauthorizationRequired" and pause:
            sub.paused = True
        return self.notifier.lifecycle(sub, event)

    def expire_subscription(self, subscription_id: str) -> None:
        """Make a subscription expire now: it stops notifying and GET answers 404 (KeyError: unknown)."""
        try:
            sub = self.book.get(subscription_id)
        except GraphError:
            raise KeyError(subscription_id) from None
        sub.expiration = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)

    def save(self) -> None:
        """Write the state file now (no-op without one)."""
        if self._saver:
            self._saver.save()

    def render_context(self, mailbox, zone_name: str = "UTC") -> events.RenderContext:
        """Rendering options for direct (non-HTTP) reads of events."""
        from . import tz

        return events.RenderContext(zone_name, tz.resolve_zone(zone_name), False, mailbox.display_name, mailbox.address)


def _entry(req: Request, response: Response, kind: str) -> dict:
    notes = response.notes or {}
    return {
        "kind": kind,
        "method": req.method,
        "path": req.path,
        "query": dict(req.query),
        "status": response.status,
        "mailbox": response.mailbox,
        "invitations": notes.get("invitations", []),
        "cancellations": notes.get("cancellations", []),
        "inBatch": req.in_batch,
        "clientRequestId": req.client_request_id,
        "body": _write_body(req) if kind == "graph" else None,  # never the token request's secret
    }


def _write_body(req: Request) -> object:
    """The JSON body of a Graph write (a batch's inner requests are logged one by one), so tests
    can see what a PATCH or POST sent; None for reads, $batch envelopes and non-JSON bodies."""
    if req.method not in {"PATCH", "POST"} or req.path.endswith("/$batch") or not req.body:
        return None
    try:
        return json.loads(req.body)
    except (ValueError, UnicodeDecodeError):
        return None
