"""Microsoft Graph v1.0 routing: authentication, mailbox resolution, errors and JSON bodies.

Only the Outlook surface the product uses is served: users, contacts, contact folders, events,
calendars, calendarView, their delta functions, change-notification subscriptions
(api_subscriptions.py) and JSON $batch.
References: https://learn.microsoft.com/graph/use-the-api, https://learn.microsoft.com/graph/errors.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import quote

from . import api_contacts, api_events, api_subscriptions, api_users, batch, odata, permissions
from .delta import DeltaEngine
from .errors import GraphError, bad_request, body_read_error, graph_error_body
from .faults import FaultBook
from .identity import Identity
from .store import Mailbox, Store
from .wire import Request, Response

VERSION = "v1.0"
FUNCTION_NAMES = {"delta", "delta()", "microsoft.graph.delta", "microsoft.graph.delta()"}
SEGMENT_NAMES = {
    name.lower(): name
    for name in (
        "users",
        "contacts",
        "contactFolders",
        "childFolders",
        "events",
        "calendar",
        "calendars",
        "calendarView",
        "instances",
        "$batch",
        "me",
        "subscriptions",
    )
}


@dataclass
class Call:
    """A Graph call addressed to one mailbox: the remaining path segments after the user."""

    api: GraphApi
    req: Request
    mailbox: Mailbox
    segments: list[str]
    user_segment: str

    @property
    def context_base(self) -> str:
        """The start of `@odata.context` values for this mailbox."""
        return f"{self.req.base}/{VERSION}/$metadata#users('{quote(self.user_segment, safe='@')}')"

    def prefs(self) -> dict[str, str]:
        """The request's Prefer header values."""
        return odata.parse_prefer(self.req.prefer_values)


class GraphApi:
    """Answers Graph requests from the store; the HTTP layer only moves bytes."""

    def __init__(self, store: Store, identity: Identity, faults: FaultBook) -> None:
        self.store = store
        self.identity = identity
        self.faults = faults
        self.delta = DeltaEngine(store)
        self.log_inner = _no_log
        self.short_pages = True  # a short first page in multi-page contact rounds (api_delta._served)
        self.list_cache: dict[tuple[str, str], tuple[int, list[dict]]] = {}
        self.subscriptions: api_subscriptions.SubscriptionService | None = None  # set by the server

    def handle(self, req: Request) -> Response:
        """Answer one Graph request (top-level or inside a batch), errors in Graph's shape."""
        try:
            if not req.in_batch:
                claims = self.identity.check_bearer(req.header("authorization"))
                req.roles = tuple(claims.get("roles") or ())
                permissions.require_some(req.roles)
            return self._route(req)
        except GraphError as exc:
            return self.error_response(req, exc)

    def error_response(self, req: Request, exc: GraphError) -> Response:
        """Graph's error body with innerError date, request-id and client-request-id."""
        body = graph_error_body(exc.code, exc.message, req.request_id, req.client_request_id)
        return Response(exc.status, body, dict(exc.headers), "application/json")

    def _route(self, req: Request) -> Response:
        segments = [s for s in req.path.split("/") if s][1:]  # drop "v1.0"
        if not segments:
            raise bad_request("Invalid request.", "BadRequest")
        head = SEGMENT_NAMES.get(segments[0].lower(), segments[0])
        if head == "$batch":
            _require(req, "POST")
            return batch.run(self, req)
        if head == "subscriptions":
            return api_subscriptions.route(self, req, segments)
        if head == "me":
            raise bad_request("/me request is only valid with delegated authentication flow.")
        if head.startswith("users(") or head == "users":
            return self._users(req, segments)
        raise bad_request(f"Resource not found for the segment '{segments[0]}'.")

    def _users(self, req: Request, segments: list[str]) -> Response:
        user, rest = _split_user(segments)
        if user is None or not rest:
            _require(req, "GET")
            permissions.require(req, "users")
            if user is None:
                return api_users.list_users(self.store, req)
            return api_users.get_user(self.store, req, user)
        mailbox = self.store.find_user(user)
        if mailbox is None:
            # Exchange's answer for a name it cannot resolve, an SMTP address that is not the UPN
            # included (see store.Mailbox).
            raise GraphError(404, "ErrorInvalidUser", f"The requested user '{user}' is invalid.")
        if not mailbox.rest_enabled:
            raise GraphError(
                404,
                "MailboxNotEnabledForRESTAPI",
                "The mailbox is either inactive, soft-deleted, or is hosted on-premise.",
            )
        call = Call(self, req, mailbox, [_normalize(s) for s in rest], user)
        permissions.require(req, permissions.KIND_OF_SEGMENT.get(call.segments[0], "calendars"))
        response = self._mailbox_route(call)
        response.mailbox = mailbox.address
        return response

    def _mailbox_route(self, call: Call) -> Response:
        head = call.segments[0]
        if head in ("contacts", "contactFolders"):
            return api_contacts.route(call)
        if head in ("events", "calendar", "calendars", "calendarView"):
            return api_events.route(call)
        raise bad_request(f"Resource not found for the segment '{head}'.")


def _no_log(req: Request, item: dict, response: Response) -> None:
    """Default logger for requests inside a batch (the emulator installs its own)."""


def _normalize(segment: str) -> str:
    """Known segment names are case-insensitive; `delta()` and `delta` are the same function."""
    lowered = segment.lower()
    if lowered in FUNCTION_NAMES:
        return "delta"
    return SEGMENT_NAMES.get(lowered, segment)


def _split_user(segments: list[str]) -> tuple[str | None, list[str]]:
    """`users/{id|upn}/…` or `users('{id|upn}')/…` → (user, rest)."""
    head = segments[0]
    if head.lower().startswith("users(") and head.endswith(")"):
        return head[6:-1].strip("'"), segments[1:]
    if len(segments) == 1:
        return None, []
    return segments[1], segments[2:]


def _require(req: Request, *methods: str) -> None:
    if req.method not in methods:
        raise GraphError(405, "BadRequest", "Specified HTTP method is not allowed for the request uri.")


def require(req: Request, *methods: str) -> None:
    """405 unless the request uses one of `methods`."""
    _require(req, *methods)


def json_body(req: Request) -> dict:
    """The request's JSON object body, with Graph's answers for empty or malformed payloads."""
    if not req.body.strip():
        raise bad_request("Empty Payload. JSON content expected.")
    try:
        body = json.loads(req.body)
    except (ValueError, UnicodeDecodeError):
        raise bad_request(
            "Unable to read JSON request payload. Please ensure Content-Type header is set and "
            "payload is of valid JSON format."
        ) from None
    if not isinstance(body, dict):
        raise body_read_error(
            "An unexpected 'StartArray' node was found when reading from the JSON reader. "
            "A 'StartObject' node was expected."
            if isinstance(body, list)
            else "An unexpected 'PrimitiveValue' node was found when reading from the JSON "
            "reader. A 'StartObject' node was expected."
        )
    return body
