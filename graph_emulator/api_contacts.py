"""Graph contacts and contact folders: list, get, create, update, delete and delta.

References: https://learn.microsoft.com/graph/api/user-list-contacts,
https://learn.microsoft.com/graph/api/user-post-contacts, https://learn.microsoft.com/graph/api/contact-get,
https://learn.microsoft.com/graph/api/contact-update, https://learn.microsoft.com/graph/api/contact-delete,
https://learn.microsoft.com/graph/api/contact-delta,
https://learn.microsoft.com/graph/api/user-list-contactfolders (children of the default folder),
https://learn.microsoft.com/graph/api/contactfolder-list-childfolders and
https://learn.microsoft.com/graph/api/contactfolder-delta.
"""

from __future__ import annotations

from itertools import islice
from typing import TYPE_CHECKING

from . import api, api_delta, contacts, events, ids, odata
from .delta import Round
from .errors import bad_request, item_not_found
from .wire import Response

if TYPE_CHECKING:
    from .api import Call

WELL_KNOWN_FOLDER = "contacts"
DELTA_REJECTED = ("$filter", "$orderby", "$expand", "$search", "$top")


def route(call: Call) -> Response:
    """Dispatch `/contacts…` and `/contactFolders…` under a mailbox."""
    seg = call.segments
    if seg[0] == "contacts":
        return _contacts(call, call.mailbox.default_folder_id, seg[1:], "contacts")
    if len(seg) == 1:
        return _folders(call, call.mailbox.default_folder_id, "contactFolders")
    if seg[1] == "delta" and len(seg) == 2:
        api.require(call.req, "GET")
        return _folder_delta(call)
    folder_id = resolve_folder(call, seg[1])
    rest, context = seg[2:], f"contactFolders('{seg[1]}')"
    while len(rest) >= 2 and rest[0] == "childFolders":  # …/childFolders/{id}/… names the child itself
        folder_id = _child(call, folder_id, rest[1])
        rest, context = rest[2:], f"contactFolders('{rest[1]}')"
    if not rest:
        return _folder(call, folder_id)
    if rest[0] == "childFolders" and len(rest) == 1:
        return _folders(call, folder_id, f"{context}/childFolders")
    if rest[0] == "contacts":
        return _contacts(call, folder_id, rest[1:], f"{context}/contacts")
    raise bad_request(f"Resource not found for the segment '{rest[0]}'.")


def _child(call: Call, parent_id: str, child_key: str) -> str:
    child_id = resolve_folder(call, child_key)
    if call.mailbox.folders[child_id]["parentFolderId"] != parent_id:
        raise item_not_found()
    return child_id


def _folder(call: Call, folder_id: str) -> Response:
    """GET or DELETE one folder (https://learn.microsoft.com/graph/api/contactfolder-delete:
    the folder goes with its contacts and child folders; its delta then answers 404)."""
    api.require(call.req, "GET", "DELETE")
    if call.req.method == "DELETE":
        call.api.store.delete_folder(call.mailbox, folder_id)
        return Response(204)
    return Response(200, _folder_json(call, call.mailbox.folders[folder_id], True))


def resolve_folder(call: Call, folder_key: str) -> str:
    """A folder id, or the well-known name `contacts` for the default folder."""
    if folder_key.lower() == WELL_KNOWN_FOLDER:
        return call.mailbox.default_folder_id
    if folder_key in call.mailbox.folders:
        return folder_key
    if not ids.looks_like_id(folder_key):
        raise bad_request("Id is malformed.", "ErrorInvalidIdMalformed")
    raise item_not_found()


def _contacts(call: Call, folder_id: str, rest: list[str], context: str) -> Response:
    if not rest:
        api.require(call.req, "GET", "POST")
        if call.req.method == "POST":
            return _create(call, folder_id, context)
        return _list(call, folder_id, context)
    if rest[0] == "delta" and len(rest) == 1:
        api.require(call.req, "GET")
        return _delta(call, folder_id)
    if len(rest) > 1:
        raise bad_request(f"Resource not found for the segment '{rest[1]}'.")
    return _item(call, folder_id, rest[0], context)


def _item(call: Call, folder_id: str, item_id: str, context: str) -> Response:
    api.require(call.req, "GET", "PATCH", "DELETE")
    store, mailbox, req = call.api.store, call.mailbox, call.req
    if not ids.looks_like_id(item_id):
        raise bad_request("Id is malformed.", "ErrorInvalidIdMalformed")
    folder = None if folder_id == mailbox.default_folder_id and context == "contacts" else folder_id
    if req.method == "DELETE":
        store.get_contact(mailbox, item_id, folder)
        store.delete_contact(mailbox, item_id, req.header("if-match"))
        return Response(204)
    if req.method == "PATCH":
        fields = contacts.validate(api.json_body(req))
        with store.lock:
            store.get_contact(mailbox, item_id, folder)
            record = store.update_contact(mailbox, item_id, fields, req.header("if-match"))
        return Response(200, _entity(call, record, context))
    with store.lock:
        record = store.get_contact(mailbox, item_id, folder)
    return Response(200, _entity(call, record, context))


def _entity(call: Call, record: dict, context: str) -> dict:
    chosen = odata.select(call.req.query, contacts.SELECTABLE, contacts.ENTITY)
    body = {"@odata.context": f"{call.context_base}/{context}/$entity"}
    body.update(render(call, record, chosen))
    return body


def render(call: Call, record: dict, chosen: list[str] | None) -> dict:
    """A contact for the wire, with $select and $expand=singleValueExtendedProperties applied."""
    item = odata.apply_select(record["graph"], chosen)
    wanted, prop_id = odata.parse_expand(call.req.query)
    if wanted:
        item = dict(item)
        item["singleValueExtendedProperties"] = _props(record, prop_id)
    return item


def _props(record: dict, prop_id: str | None) -> list[dict]:
    return events.extended_properties(record, prop_id)


def _create(call: Call, folder_id: str, context: str) -> Response:
    fields = contacts.validate(api.json_body(call.req))
    record = call.api.store.create_contact(call.mailbox, fields, folder_id)
    body = {"@odata.context": f"{call.context_base}/{context}/$entity"}
    body.update(record["graph"])
    location = f"{call.req.base}/{api.VERSION}/users/{call.mailbox.id}/contacts/{record['graph']['id']}"
    return Response(201, body, {"Location": location})


def _matches(record: dict, flt: tuple | None) -> bool:
    if flt is None:
        return True
    kind, first, second = flt
    if kind == "email":
        wanted = first.lower()
        return any((e.get("address") or "").lower() == wanted for e in record["graph"]["emailAddresses"])
    value = (record.get("props") or {}).get(first)
    return value is not None and value.lower() == (second or "").lower()


def _list(call: Call, folder_id: str, context: str) -> Response:
    req = call.req
    chosen = odata.select(req.query, contacts.SELECTABLE, contacts.ENTITY)
    flt = odata.parse_filter(req.query)
    odata.parse_expand(req.query)
    size = odata.top(req.query) or odata.max_page_size(call.prefs(), odata.CONTACTS_MAX_PAGE) or odata.DEFAULT_PAGE
    start = odata.skip(req.query)
    with call.api.store.lock:
        if flt is None:
            page = _folder_listing(call, folder_id)[start : start + size + 1]
        else:
            matching = (r for r in call.mailbox.contacts.values() if r["folder"] == folder_id and _matches(r, flt))
            page = list(islice(matching, start, start + size + 1))
        values = [render(call, r, chosen) for r in page[:size]]
    body = {"@odata.context": f"{call.context_base}/{context}" + _select_suffix(chosen)}
    if len(page) > size:
        params = {k: v for k, v in req.query.items() if k in ("$select", "$filter", "$expand")}
        params.update({"$top": size, "$skip": start + size})
        body["@odata.nextLink"] = odata.link(req.base, req.raw_path, params)
    body["value"] = values
    return Response(200, body)


def _folder_listing(call: Call, folder_id: str) -> list[dict]:
    """The folder's contacts in order, cached until the next write, so $skip paging stays O(page)."""
    key = (call.mailbox.id, folder_id)
    cached = call.api.list_cache.get(key)
    if cached and cached[0] == call.api.store.seq:
        return cached[1]
    listing = [r for r in call.mailbox.contacts.values() if r["folder"] == folder_id]
    call.api.list_cache[key] = (call.api.store.seq, listing)
    return listing


def _select_suffix(chosen: list[str] | None) -> str:
    return f"({','.join(chosen)})" if chosen else ""


def _folder_json(call: Call, folder: dict, with_context: bool) -> dict:
    body = {"@odata.context": f"{call.context_base}/contactFolders/$entity"} if with_context else {}
    body.update(id=folder["id"], displayName=folder["displayName"], parentFolderId=folder["parentFolderId"])
    return body


def _folders(call: Call, parent_id: str, context: str) -> Response:
    """List or create the child folders of `parent_id`.

    `GET /users/{id}/contactFolders` lists the folders *in* the default Contacts folder, without
    the default folder itself (user-list-contactfolders: "the contact folder collection in the
    default Contacts folder"; microsoft-graph-docs issue 6327 shows items whose parentFolderId is
    the Contacts folder; corso pull request 1174: the default folder "isn't provided as part of the
    contacts folders get request"). Deeper folders appear only under `…/childFolders`
    (contactfolder-list-childfolders) and other top-level folders only in contactFolders/delta.
    """
    api.require(call.req, "GET", "POST")
    mailbox, store = call.mailbox, call.api.store
    if call.req.method == "POST":
        body = api.json_body(call.req)
        name = body.get("displayName")
        if not isinstance(name, str) or not name.strip():
            raise bad_request("The displayName of a folder is required.", "ErrorInvalidRequest")
        folder = store.create_folder(mailbox, name, parent_id)
        return Response(201, _folder_json(call, folder, True))
    size = odata.top(call.req.query) or odata.DEFAULT_PAGE
    start = odata.skip(call.req.query)
    with store.lock:
        children = [f for f in mailbox.folders.values() if f["parentFolderId"] == parent_id]
    body = {"@odata.context": f"{call.context_base}/{context}"}
    if len(children) > start + size:
        params = {"$top": size, "$skip": start + size}
        body["@odata.nextLink"] = odata.link(call.req.base, call.req.raw_path, params)
    body["value"] = [_folder_json(call, f, False) for f in children[start : start + size]]
    return Response(200, body)


def _folder_delta(call: Call) -> Response:
    """GET contactFolders/delta: every contact folder of the mailbox, flat, at any depth, then
    changes; deleted folders @removed (https://learn.microsoft.com/graph/api/contactfolder-delta:
    "contact folders that have been added, deleted, or removed from the user's mailbox")."""
    req, engine, store = call.req, call.api.delta, call.api.store
    api_delta.check_expired_fault(call)
    if "$skiptoken" in req.query:
        round_id, rnd, position = engine.read_skip_token(req.query["$skiptoken"], call.mailbox, "contactFolders")
        return api_delta.page(call, rnd, round_id, position, _folder_entry)
    with store.lock:
        since = None
        if "$deltatoken" in req.query:
            since = engine.read_delta_token(req.query["$deltatoken"], call.mailbox, "contactFolders")["q"]
        seen = store.visible_seq()
        rnd = Round(call.mailbox.id, "contactFolders", None, None, None, seen, store.delta_generation)
        rnd.entries = engine.folder_entries(call.mailbox, since, seen)
    return api_delta.page(call, rnd, None, 0, _folder_entry)


def _folder_entry(call: Call, rnd: Round, entry: tuple) -> dict:
    folder = call.mailbox.folders.get(entry[1])
    if entry[0] == "item" and folder is not None:
        return _folder_json(call, folder, False)
    return api_delta.removed("contactFolder", entry[1])


def _delta(call: Call, folder_id: str) -> Response:
    """GET …/contacts/delta: full round first, then changes; @removed for deletions."""
    req, engine = call.req, call.api.delta
    api_delta.check_expired_fault(call)
    if "$skiptoken" in req.query:
        round_id, rnd, position = engine.read_skip_token(req.query["$skiptoken"], call.mailbox, "contacts")
        return api_delta.page(call, rnd, round_id, position, render_entry)
    api_delta.reject_options(req, DELTA_REJECTED, "Contacts")
    store = call.api.store
    with store.lock:
        if "$deltatoken" in req.query:
            state = engine.read_delta_token(req.query["$deltatoken"], call.mailbox, "contacts")
            folder_id, chosen, since = state["f"], state["s"], state["q"]
        else:
            chosen = odata.select(req.query, contacts.SELECTABLE, contacts.ENTITY)
            since = None
        seen = store.visible_seq()
        rnd = Round(call.mailbox.id, "contacts", folder_id, chosen, None, seen, store.delta_generation)
        rnd.entries = engine.contact_entries(call.mailbox, folder_id, since, seen)
    api_delta.apply_round_faults(call, rnd, since)
    return api_delta.page(call, rnd, None, 0, render_entry)


def render_entry(call: Call, rnd: Round, entry: tuple) -> dict:
    """A contact delta item, read from the current state (deleted since → @removed)."""
    if entry[0] == "item":
        record = call.mailbox.contacts.get(entry[1])
        if record is not None and record["folder"] == rnd.folder:
            return odata.apply_select(record["graph"], rnd.select)
    return api_delta.removed("contact", entry[-1])
