"""Graph events, calendars, calendarView and calendarView/delta for one mailbox.

References: https://learn.microsoft.com/graph/api/user-list-events (singles and series masters),
https://learn.microsoft.com/graph/api/user-post-events, https://learn.microsoft.com/graph/api/event-get,
https://learn.microsoft.com/graph/api/event-update, https://learn.microsoft.com/graph/api/event-delete,
https://learn.microsoft.com/graph/api/event-permanentdelete,
https://learn.microsoft.com/graph/api/user-list-calendarview (window required, occurrences
expanded), https://learn.microsoft.com/graph/api/event-delta and
https://learn.microsoft.com/graph/delta-query-events.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import api, api_delta, events, ids, odata, tz
from .delta import Round
from .errors import GraphError, bad_request
from .wire import Response

if TYPE_CHECKING:
    from .api import Call

WINDOW_MESSAGE = (
    "This request requires a time window specified by the query string parameters StartDateTime and EndDateTime."
)
DELTA_REJECTED = ("$orderby", "$filter", "$select", "$expand", "$search", "$top")
UNSUPPORTED_DELTA = "Unsupported request: Change tracking is not supported against 'microsoft.graph.event'."


def route(call: Call) -> Response:
    """Dispatch `/events…`, `/calendar…`, `/calendars…` and `/calendarView…`."""
    seg = call.segments
    if seg[0] == "events":
        return _events(call, seg[1:])
    if seg[0] == "calendarView":
        return _calendar_view(call, seg[1:], allow_delta=True)
    if seg[0] == "calendar":
        return _calendar(call, seg[1:])
    if len(seg) == 1:
        api.require(call.req, "GET")
        body = {"@odata.context": f"{call.context_base}/calendars", "value": [_calendar_json(call)]}
        return Response(200, body)
    if seg[1] != call.mailbox.calendar_id:
        if not ids.looks_like_id(seg[1]):
            raise bad_request("Id is malformed.", "ErrorInvalidIdMalformed")
        raise GraphError(404, "ErrorItemNotFound", "The specified object was not found in the store.")
    return _calendar(call, seg[2:])


def _calendar(call: Call, rest: list[str]) -> Response:
    if not rest:
        api.require(call.req, "GET")
        body = {"@odata.context": f"{call.context_base}/calendar/$entity"}
        body.update(_calendar_json(call))
        return Response(200, body)
    if rest[0] == "events":
        return _events(call, rest[1:])
    if rest[0] == "calendarView":
        return _calendar_view(call, rest[1:], allow_delta=False)
    raise bad_request(f"Resource not found for the segment '{rest[0]}'.")


def _calendar_json(call: Call) -> dict:
    owner = {"name": call.mailbox.display_name, "address": call.mailbox.address}
    return {
        "id": call.mailbox.calendar_id,
        "name": "Calendar",
        "color": "auto",
        "hexColor": "",
        "isDefaultCalendar": True,
        "changeKey": "fJKVL07sbkmIfHqjbDnRgQAAAAACGA==",
        "canShare": True,
        "canViewPrivateItems": True,
        "canEdit": True,
        "allowedOnlineMeetingProviders": ["teamsForBusiness"],
        "defaultOnlineMeetingProvider": "teamsForBusiness",
        "isTallyingResponses": True,
        "isRemovable": False,
        "owner": owner,
    }


def render_context(call: Call) -> events.RenderContext:
    """Rendering options from `Prefer: outlook.timezone` and `outlook.body-content-type`."""
    prefs = call.prefs()
    name = prefs.get("outlook.timezone") or "UTC"
    zone = tz.resolve_zone(name)
    if zone is None:
        name, zone = "UTC", tz.UTC
    return events.RenderContext(
        zone_name=name,
        zone=zone,
        body_text=prefs.get("outlook.body-content-type", "").lower() == "text",
        owner_name=call.mailbox.display_name,
        owner_address=call.mailbox.address,
    )


def _applied(call: Call, ctx: events.RenderContext) -> list[str]:
    prefs = call.prefs()
    applied = []
    if "outlook.timezone" in prefs:
        applied.append(f'outlook.timezone="{ctx.zone_name}"')
    if "outlook.body-content-type" in prefs:
        applied.append(f'outlook.body-content-type="{"text" if ctx.body_text else "html"}"')
    if "idtype" in prefs:
        applied.append('IdType="ImmutableId"')
    return applied


def _respond(call: Call, status: int, body: dict, ctx: events.RenderContext, extra=None) -> Response:
    headers = dict(extra or {})
    applied = _applied(call, ctx)
    if applied:
        headers["Preference-Applied"] = ", ".join(applied)
    return Response(status, body, headers)


def _events(call: Call, rest: list[str]) -> Response:
    if not rest:
        api.require(call.req, "GET", "POST")
        return _create(call) if call.req.method == "POST" else _list(call)
    if rest[0] == "delta":
        raise bad_request(UNSUPPORTED_DELTA)
    if len(rest) == 2 and rest[1] == "instances":
        api.require(call.req, "GET")
        return _instances(call, rest[0])
    if len(rest) == 2 and rest[1] == "permanentDelete":
        return _permanent_delete(call, rest[0])
    if len(rest) > 1:
        raise bad_request(f"Resource not found for the segment '{rest[1]}'.")
    return _item(call, rest[0])


def render(call: Call, record: dict, ctx: events.RenderContext, occ=None, chosen=None) -> dict:
    """An event for the wire with $select and $expand=singleValueExtendedProperties applied."""
    item = odata.apply_select(events.render(record, ctx, occ), chosen)
    wanted, prop_id = odata.parse_expand(call.req.query)
    if wanted:
        item["singleValueExtendedProperties"] = events.extended_properties(record, prop_id)
    return item


def _entity_body(call: Call, record: dict, ctx, key: str | None, chosen=None) -> dict:
    occ = events.find_occurrence(record, key, call.api.store.floating) if key else None
    body = {"@odata.context": f"{call.context_base}/events/$entity"}
    body.update(render(call, record, ctx, occ, chosen))
    return body


def _create(call: Call) -> Response:
    fields = events.validate(api.json_body(call.req))
    ctx = render_context(call)
    with call.api.store.lock:
        record, notes = call.api.store.create_event(call.mailbox, fields)
        body = _entity_body(call, record, ctx, None)
    location = f"{call.req.base}/{api.VERSION}/users/{call.mailbox.id}/events/{record['id']}"
    response = _respond(call, 201, body, ctx, {"Location": location})
    response.notes = notes
    return response


def _item(call: Call, item_id: str) -> Response:
    api.require(call.req, "GET", "PATCH", "DELETE")
    req, store, ctx = call.req, call.api.store, render_context(call)
    if not ids.looks_like_id(item_id):
        raise bad_request("Id is malformed.", "ErrorInvalidIdMalformed")
    if req.method == "DELETE":
        notes = store.delete_event(call.mailbox, item_id, req.header("if-match"))
        return Response(204, notes=notes)
    if req.method == "PATCH":
        fields = events.validate(api.json_body(req))
        with store.lock:
            record, key, notes = store.update_event(call.mailbox, item_id, fields, req.header("if-match"))
            body = _entity_body(call, record, ctx, key)
        response = _respond(call, 200, body, ctx)
        response.notes = notes
        return response
    chosen = odata.select(req.query, events.SELECTABLE, events.ENTITY)
    with store.lock:
        record, key = store.resolve_event(call.mailbox, item_id)
        body = _entity_body(call, record, ctx, key, chosen)
    return _respond(call, 200, body, ctx)


def _permanent_delete(call: Call, item_id: str) -> Response:
    """POST /events/{id}/permanentDelete: 204, and the event is purged (event-permanentdelete)."""
    api.require(call.req, "POST")
    if not ids.looks_like_id(item_id):
        raise bad_request("Id is malformed.", "ErrorInvalidIdMalformed")
    return Response(204, notes=call.api.store.purge_event(call.mailbox, item_id))


def _page_params(call: Call, size: int, start: int, keep: tuple[str, ...]) -> dict:
    params = {k: v for k, v in call.req.query.items() if k in keep}
    params.update({"$top": size, "$skip": start + size})
    return params


def _list(call: Call) -> Response:
    """GET /events: single instances and series masters, never occurrences."""
    req, ctx = call.req, render_context(call)
    chosen = odata.select(req.query, events.SELECTABLE, events.ENTITY)
    flt = odata.parse_filter(req.query)
    if flt and flt[0] != "property":
        raise bad_request("The query filter is not supported.", "ErrorInvalidUrlQueryFilter")
    odata.parse_expand(req.query)
    size = odata.top(req.query) or odata.max_page_size(call.prefs()) or odata.DEFAULT_PAGE
    start = odata.skip(req.query)
    with call.api.store.lock:
        records = [r for r in call.mailbox.events.values() if _has_property(r, flt)]
        values = [render(call, r, ctx, None, chosen) for r in records[start : start + size]]
    body = {"@odata.context": f"{call.context_base}/events"}
    if start + size < len(records):
        keep = ("$select", "$filter", "$expand")
        body["@odata.nextLink"] = odata.link(req.base, req.raw_path, _page_params(call, size, start, keep))
    body["value"] = values
    return _respond(call, 200, body, ctx)


def _has_property(record: dict, flt: tuple | None) -> bool:
    if flt is None:
        return True
    value = (record.get("props") or {}).get(flt[1])
    return value is not None and value.lower() == (flt[2] or "").lower()


def parse_window(call: Call) -> tuple:
    """startDateTime/endDateTime (both required, offset honoured, UTC when none)."""
    query = call.req.query
    if not query.get("startdatetime") or not query.get("enddatetime"):
        raise bad_request(WINDOW_MESSAGE, "ErrorInvalidParameter")
    try:
        start = tz.parse_window_bound(query["startdatetime"])
        end = tz.parse_window_bound(query["enddatetime"])
    except ValueError:
        raise bad_request(WINDOW_MESSAGE, "ErrorInvalidParameter") from None
    if end <= start:
        raise bad_request("The EndDateTime must be later than the StartDateTime.", "ErrorInvalidParameter")
    return start, end


def _instances_in(call: Call, window: tuple, records) -> list:
    floating = call.api.store.floating
    found = []
    for record in records:
        for occ in events.expand(events.shape(record), window, floating):
            found.append((occ.start, record, occ if occ.key else None))
    found.sort(key=lambda item: item[0])
    return found


def _calendar_view(call: Call, rest: list[str], allow_delta: bool) -> Response:
    if rest == ["delta"] and allow_delta:
        api.require(call.req, "GET")
        return _delta(call)
    if rest:
        raise bad_request(f"Resource not found for the segment '{rest[0]}'.")
    api.require(call.req, "GET")
    return _view_page(call, list(call.mailbox.events.values()), "calendarView")


def _view_page(call: Call, records: list[dict], context: str) -> Response:
    req, ctx = call.req, render_context(call)
    window = parse_window(call)
    chosen = odata.select(req.query, events.SELECTABLE, events.ENTITY)
    descending = _order(req.query)
    if "$filter" in req.query:
        raise bad_request("The query filter is not supported.", "ErrorInvalidUrlQueryFilter")
    size = odata.top(req.query) or odata.max_page_size(call.prefs()) or odata.DEFAULT_PAGE
    start = odata.skip(req.query)
    with call.api.store.lock:
        found = _instances_in(call, window, records)
        if descending:
            found.reverse()
        values = [render(call, r, ctx, occ, chosen) for _s, r, occ in found[start : start + size]]
    body = {"@odata.context": f"{call.context_base}/{context}"}
    if start + size < len(found):
        keep = ("startdatetime", "enddatetime", "$select", "$orderby", "$expand")
        params = _page_params(call, size, start, keep)
        params["startDateTime"] = params.pop("startdatetime")
        params["endDateTime"] = params.pop("enddatetime")
        body["@odata.nextLink"] = odata.link(req.base, req.raw_path, params)
    body["value"] = values
    return _respond(call, 200, body, ctx)


def _order(query: dict) -> bool:
    raw = (query.get("$orderby") or "").strip()
    if not raw:
        return False
    name, _, direction = raw.partition(" ")
    if name.lower() not in ("start/datetime", "start"):
        raise bad_request(f"The $orderby '{raw}' is not supported.", "ErrorInvalidUrlQuery")
    return direction.strip().lower() == "desc"


def _instances(call: Call, item_id: str) -> Response:
    with call.api.store.lock:
        record, key = call.api.store.resolve_event(call.mailbox, item_id)
    if key is not None:
        raise bad_request("The instances of an occurrence cannot be listed.", "ErrorInvalidRequest")
    return _view_page(call, [record], f"events('{item_id}')/instances")


def _delta(call: Call) -> Response:
    """GET /calendarView/delta: window on the first call only, encoded in the tokens."""
    req, engine, store = call.req, call.api.delta, call.api.store
    ctx = render_context(call)
    api_delta.check_expired_fault(call)
    if "$skiptoken" in req.query:
        round_id, rnd, position = engine.read_skip_token(req.query["$skiptoken"], call.mailbox, "events")
        return api_delta.page(call, rnd, round_id, position, render_delta_entry, _applied(call, ctx))
    api_delta.reject_options(req, DELTA_REJECTED, "Events")
    with store.lock:
        if "$deltatoken" in req.query:
            state = engine.read_delta_token(req.query["$deltatoken"], call.mailbox, "events")
            window, since = state["w"], state["q"]
        else:
            window, since = parse_window(call), None
        seen = store.visible_seq()
        rnd = Round(call.mailbox.id, "events", None, None, window, seen, store.delta_generation)
        rnd.entries = engine.event_entries(call.mailbox, window, since, seen)
    api_delta.apply_round_faults(call, rnd, since)
    return api_delta.page(call, rnd, None, 0, render_delta_entry, _applied(call, ctx))


def render_delta_entry(call: Call, rnd: Round, entry: tuple) -> dict:
    """An event delta item from the current state; gone or out of the window → @removed."""
    ctx = render_context(call)
    floating = call.api.store.floating
    record = call.mailbox.events.get(entry[1])
    single = entry[0] == "single" and record is not None and record["recurrence"] is None
    if single and events.expand(events.shape(record), rnd.window, floating):
        return events.render(record, ctx)
    if entry[0] == "occ" and record is not None:
        occ = events.find_occurrence(record, entry[2], floating)
        if occ and events.overlaps(occ, *rnd.window):
            return events.render(record, ctx, occ)
        return api_delta.removed("event", ids.occurrence_id(entry[1], entry[2]))
    return api_delta.removed("event", entry[1])
