"""The emulator's control API under /_emulator/ (no token; loopback clients only).

    GET/POST   /_emulator/mailboxes                      list / create {"address", "displayName"?,
                                                         "userPrincipalName"?, "aliases"?: [...]}
    GET/PATCH/DELETE /_emulator/mailboxes/{address}       {"restEnabled": false} → MailboxNotEnabledForRESTAPI
    POST       /_emulator/mailboxes/{address}/seed        {"contacts", "events", "seed", "anchor": "YYYY-MM-DD"}
    GET/POST   /_emulator/mailboxes/{address}/contacts    Graph-shaped bodies, same store as Graph
    PATCH/DELETE /_emulator/mailboxes/{address}/contacts/{id}   (POST: {"parentFolderId"} files it there)
    POST       /_emulator/mailboxes/{address}/contacts/{id}/move   {"destinationId": folder id}
    GET/POST   /_emulator/mailboxes/{address}/contactFolders   {"displayName", "parentFolderId"?: id | "root"}
    DELETE     /_emulator/mailboxes/{address}/contactFolders/{id}   (with its subfolders and contacts)
    POST       /_emulator/mailboxes/{address}/contactFolders/{id}/move {"destinationId": id | "root" | "deleteditems"}
    GET/POST   /_emulator/mailboxes/{address}/events      (GET: singles and series masters)
    PATCH/DELETE /_emulator/mailboxes/{address}/events/{id}  (DELETE as in Outlook: to Deleted Items;
                                                          a second DELETE purges)
    POST       /_emulator/mailboxes/{address}/meetings    a meeting received from another organizer: an event
                                                          body + "organizer": {"emailAddress": {...}},
                                                          "responseStatus": {"response": "notResponded"}
    GET        /_emulator/subscriptions                  every live change-notification subscription
    POST       /_emulator/subscriptions/{id}/lifecycle   {"lifecycleEvent": "reauthorizationRequired" |
                                                         "subscriptionRemoved" | "missed", "pause"?: bool}
                                                         → 202 {"sent": notification | null}; subscriptionRemoved
                                                         also deletes it, pause stops deliveries until reauthorized
    POST       /_emulator/subscriptions/{id}/expire      it expires now (stops notifying, GET 404)
    GET/POST/DELETE /_emulator/faults                     list / arm / disarm all (notify_* kinds too)
    GET/DELETE /_emulator/requests[?since=N]              request log / clear it
    GET/PUT    /_emulator/app/roles                       the app's consented permissions {"roles": [...]}
                                                         (new tokens only; [] = no admin consent)
    GET/PUT    /_emulator/delta/lag                       {"seconds": 0…3600}: how long a change takes to show in
                                                         delta rounds (Graph's processing delays; 0 by default)
    POST       /_emulator/reset | /_emulator/tokens/revoke | /_emulator/delta/expire | /_emulator/save
Anything else under /_emulator/ is the "Outlook" page (outlook.py).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING

from . import contacts, events, outlook
from .errors import GraphError
from .wire import Response

if TYPE_CHECKING:
    from .server import GraphEmulator
    from .wire import Request

JSON = "application/json; charset=utf-8"
MAX_SEED = 200_000


def _error(status: int, code: str, message: str) -> Response:
    return Response(status, {"error": {"code": code, "message": message}}, content_type=JSON)


def _ok(body: object, status: int = 200) -> Response:
    return Response(status, body, content_type=JSON)


def handle(emulator: GraphEmulator, req: Request) -> Response:
    """Answer a control or Outlook-page request."""
    parts = [p for p in req.path.split("/") if p][1:]
    if not parts or parts[0] == "outlook":
        return outlook.handle(emulator, req, parts[1:] if parts else [])
    try:
        return _route(emulator, req, parts)
    except GraphError as exc:
        return _error(exc.status, exc.code, exc.message)
    except (ValueError, TypeError, KeyError) as exc:
        return _error(400, "BadRequest", str(exc))


def _body(req: Request) -> dict:
    if not req.body.strip():
        return {}
    try:
        body = json.loads(req.body)
    except (ValueError, UnicodeDecodeError):
        raise GraphError(400, "BadRequest", "The body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise GraphError(400, "BadRequest", "The body must be a JSON object.")
    return body


def _route(emulator: GraphEmulator, req: Request, parts: list[str]) -> Response:
    head, method = parts[0], req.method
    simple = {
        ("reset", "POST"): emulator.reset,
        ("save", "POST"): emulator.save,
    }
    if (head, method) in simple:
        simple[(head, method)]()
        return Response(204)
    if parts == ["tokens", "revoke"] and method == "POST":
        emulator.revoke_tokens()
        return Response(204)
    if parts == ["delta", "expire"] and method == "POST":
        emulator.expire_delta_tokens()
        return Response(204)
    if parts == ["delta", "lag"]:
        return _delta_lag(emulator, req)
    if head == "health":
        return _ok({"status": "ok", "graph": emulator.graph_url})
    if head == "subscriptions":
        return _subscriptions(emulator, req, parts[1:])
    if head == "faults" and len(parts) == 1:
        return _faults(emulator, req)
    if head == "requests" and len(parts) == 1:
        return _requests(emulator, req)
    if head == "mailboxes":
        return _mailboxes(emulator, req, parts[1:])
    if parts == ["app", "roles"]:
        return _roles(emulator, req)
    return _error(404, "NotFound", f"No control endpoint {req.path}")


def _delta_lag(emulator: GraphEmulator, req: Request) -> Response:
    if req.method == "PUT":
        seconds = _body(req).get("seconds")
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not 0 <= seconds <= 3600:
            return _error(400, "BadRequest", "seconds must be a number from 0 to 3600")
        emulator.store.delta_lag = float(seconds)
    elif req.method != "GET":
        return _error(405, "MethodNotAllowed", "GET or PUT")
    return _ok({"seconds": emulator.store.delta_lag})


def _faults(emulator: GraphEmulator, req: Request) -> Response:
    if req.method == "GET":
        return _ok({"faults": emulator.faults.listing()})
    if req.method == "DELETE":
        emulator.clear_faults()
        return Response(204)
    if req.method == "POST":
        return _ok(emulator.faults.add(_body(req)).public(), 201)
    return _error(405, "MethodNotAllowed", "GET, POST or DELETE")


def _subscriptions(emulator: GraphEmulator, req: Request, rest: list[str]) -> Response:
    if not rest and req.method == "GET":
        return _ok({"subscriptions": emulator.subscriptions()})
    if len(rest) != 2 or req.method != "POST" or rest[1] not in ("lifecycle", "expire"):
        return _error(404, "NotFound", f"No control endpoint {req.path}")
    try:
        if rest[1] == "expire":
            emulator.expire_subscription(rest[0])
            return Response(204)
        body = _body(req)
        pause = body.get("pause", False)
        if not isinstance(pause, bool):
            return _error(400, "BadRequest", "pause must be a boolean")
        sent = emulator.send_lifecycle(rest[0], str(body.get("lifecycleEvent")), pause)
    except KeyError:
        return _error(404, "ResourceNotFound", "The object was not found.")
    return _ok({"sent": sent}, 202)


def _requests(emulator: GraphEmulator, req: Request) -> Response:
    if req.method == "DELETE":
        emulator.clear_requests_log()
        return Response(204)
    since = int(req.query.get("since", "0") or 0)
    entries = emulator.requests_log(since)
    return _ok({"requests": entries, "next": emulator.log.next_index()})


def _roles(emulator: GraphEmulator, req: Request) -> Response:
    if req.method == "PUT":
        roles = _body(req).get("roles")
        if not isinstance(roles, list) or not all(isinstance(role, str) for role in roles):
            return _error(400, "BadRequest", "roles must be a list of permission names")
        emulator.set_roles(roles)
    elif req.method != "GET":
        return _error(405, "MethodNotAllowed", "GET or PUT")
    return _ok({"roles": list(emulator.identity.roles)})


def _mailboxes(emulator: GraphEmulator, req: Request, rest: list[str]) -> Response:
    store = emulator.store
    if not rest:
        if req.method == "POST":
            body = _body(req)
            address = body.get("address")
            if not isinstance(address, str) or "@" not in address:
                return _error(400, "BadRequest", "address must be an email address")
            upn, aliases = body.get("userPrincipalName"), body.get("aliases") or []
            if upn is not None and (not isinstance(upn, str) or "@" not in upn):
                return _error(400, "BadRequest", "userPrincipalName must look like an email address")
            if not isinstance(aliases, list) or not all(isinstance(a, str) and "@" in a for a in aliases):
                return _error(400, "BadRequest", "aliases must be a list of email addresses")
            return _ok(emulator.add_mailbox(address, body.get("displayName"), upn, aliases), 201)
        with store.lock:
            return _ok({"mailboxes": [m.summary() for m in store.mailboxes.values()]})
    mailbox = store.find_mailbox(rest[0])
    if mailbox is None:
        return _error(404, "ErrorInvalidUser", f"The requested user '{rest[0]}' is invalid.")
    if len(rest) == 1:
        return _one_mailbox(emulator, req, mailbox)
    if rest[1] == "seed" and req.method == "POST":
        return _seed(emulator, req, mailbox)
    if rest[1:] == ["meetings"] and req.method == "POST":
        return _receive_meeting(emulator, mailbox, _body(req))
    if rest[1] == "contacts" and len(rest) == 4 and rest[3] == "move" and req.method == "POST":
        return _ok(emulator.store.move_contact(mailbox, rest[2], _body(req)["destinationId"])["graph"])
    if rest[1] == "contactFolders":
        return _folders(emulator, req, mailbox, rest[2:])
    if rest[1] in ("contacts", "events"):
        return _items(emulator, req, mailbox, rest[1], rest[2:])
    return _error(404, "NotFound", f"No control endpoint {req.path}")


def _one_mailbox(emulator: GraphEmulator, req: Request, mailbox) -> Response:
    if req.method == "DELETE":
        emulator.store.remove_mailbox(mailbox)
        return Response(204)
    if req.method == "PATCH":
        body = _body(req)
        if "restEnabled" in body:
            if not isinstance(body["restEnabled"], bool):
                return _error(400, "BadRequest", "restEnabled must be a boolean")
            with emulator.store.lock:
                mailbox.rest_enabled = body["restEnabled"]
                emulator.store.bump()
    return _ok(mailbox.summary())


def _seed(emulator: GraphEmulator, req: Request, mailbox) -> Response:
    body = _body(req)
    numbers = {k: body.get(k, 0) for k in ("contacts", "events", "seed")}
    for name, value in numbers.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 0 or value > MAX_SEED:
            return _error(400, "BadRequest", f"{name} must be an integer between 0 and {MAX_SEED}")
    anchor = dt.date.fromisoformat(body["anchor"]) if body.get("anchor") else None
    result = emulator.seed(mailbox.address, numbers["contacts"], numbers["events"], numbers["seed"], anchor)
    return _ok(result, 201)


def _folders(emulator: GraphEmulator, req: Request, mailbox, rest: list[str]) -> Response:
    """Outlook-side folder actions: a folder anywhere in the tree ("root": a top-level folder
    beside Contacts, which Graph v1.0 cannot create), and deleting one."""
    store = emulator.store
    if rest and req.method == "DELETE":
        store.delete_folder(mailbox, rest[0])
        return Response(204)
    if len(rest) == 2 and rest[1] == "move" and req.method == "POST":
        destination = _body(req)["destinationId"]
        destination = mailbox.root_folder_id if destination == "root" else destination
        folder = store.move_folder(mailbox, rest[0], destination)
        return _ok({k: folder[k] for k in ("id", "displayName", "parentFolderId")})
    if not rest and req.method == "POST":
        body = _body(req)
        parent = body.get("parentFolderId")
        parent = mailbox.root_folder_id if parent == "root" else parent
        folder = store.create_folder(mailbox, str(body["displayName"]), parent)
        return _ok({k: folder[k] for k in ("id", "displayName", "parentFolderId")}, 201)
    if not rest and req.method == "GET":
        with store.lock:
            folders = [{k: f[k] for k in ("id", "displayName", "parentFolderId")} for f in mailbox.folders.values()]
        return _ok({"value": folders})
    return _error(405, "MethodNotAllowed", "GET, POST or DELETE")


def _items(emulator: GraphEmulator, req: Request, mailbox, kind: str, rest: list[str]) -> Response:
    store = emulator.store
    if not rest:
        if req.method == "POST":
            return _create(emulator, mailbox, kind, _body(req))
        with store.lock:
            if kind == "contacts":
                return _ok({"value": [r["graph"] for r in mailbox.contacts.values()]})
            ctx = emulator.render_context(mailbox)
            return _ok({"value": [events.render(r, ctx) for r in mailbox.events.values()]})
    item_id = rest[0]
    if req.method == "DELETE":
        if kind == "contacts":
            store.delete_contact(mailbox, item_id)
        else:
            store.delete_event(mailbox, item_id)
        return Response(204)
    if req.method == "PATCH":
        return _update(emulator, mailbox, kind, item_id, _body(req))
    return _error(405, "MethodNotAllowed", "PATCH or DELETE")


def _create(emulator: GraphEmulator, mailbox, kind: str, body: dict) -> Response:
    store = emulator.store
    if kind == "contacts":
        folder = body.pop("parentFolderId", None)
        return _ok(store.create_contact(mailbox, contacts.validate(body), folder)["graph"], 201)
    with store.lock:
        record, _notes = store.create_event(mailbox, events.validate(body))
        return _ok(events.render(record, emulator.render_context(mailbox)), 201)


def _receive_meeting(emulator: GraphEmulator, mailbox, body: dict) -> Response:
    organizer = body.get("organizer") if isinstance(body.get("organizer"), dict) else {}
    status = body.get("responseStatus") if isinstance(body.get("responseStatus"), dict) else {}
    store = emulator.store
    with store.lock:
        record = store.receive_meeting(
            mailbox, events.validate(body), organizer.get("emailAddress") or {}, status.get("response", "notResponded")
        )
        return _ok(events.render(record, emulator.render_context(mailbox)), 201)


def _update(emulator: GraphEmulator, mailbox, kind: str, item_id: str, body: dict) -> Response:
    store = emulator.store
    if kind == "contacts":
        return _ok(store.update_contact(mailbox, item_id, contacts.validate(body))["graph"])
    with store.lock:
        record, key, _notes = store.update_event(mailbox, item_id, events.validate(body))
        occ = events.find_occurrence(record, key, store.floating) if key else None
        return _ok(events.render(record, emulator.render_context(mailbox), occ))
