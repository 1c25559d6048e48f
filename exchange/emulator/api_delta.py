"""Serving delta rounds page by page, shared by contacts/delta and calendarView/delta.

Reference: https://learn.microsoft.com/graph/delta-query-overview (nextLink until deltaLink,
`@removed` items, replays allowed) and https://learn.microsoft.com/graph/paging.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from . import odata
from .delta import Round, sync_state_not_found
from .errors import bad_request
from .wire import Request, Response

if TYPE_CHECKING:
    from .api import Call

Renderer = Callable[["Call", Round, tuple], dict]


def check_expired_fault(call: Call) -> None:
    """The `delta_expired` fault: 410 SyncStateNotFound for this delta request."""
    req = call.req
    if call.api.faults.take(req.method, req.path, ("delta_expired",), req.in_batch):
        raise sync_state_not_found(call.api.store.delta_generation)


def reject_options(req: Request, rejected: tuple[str, ...], resource: str) -> None:
    """Query options change tracking does not support are 400 ErrorInvalidUrlQuery."""
    if any(name in req.query for name in rejected):
        raise bad_request(
            "The following parameters are not supported with change tracking over the "
            f"'{resource}' resource: '{', '.join(rejected)}'.",
            "ErrorInvalidUrlQuery",
        )


def apply_round_faults(call: Call, rnd: Round, since: int | None) -> None:
    """delta_duplicate repeats early items on a later page; delta_replay keeps the old sequence."""
    faults, req = call.api.faults, call.req
    if faults.take(req.method, req.path, ("delta_duplicate",), req.in_batch):
        rnd.entries = rnd.entries + rnd.entries[:3]
    if faults.take(req.method, req.path, ("delta_replay",), req.in_batch):
        rnd.high = since or 0


def page(
    call: Call,
    rnd: Round,
    round_id: str | None,
    position: int,
    render_entry: Renderer,
    applied: list[str] | None = None,
) -> Response:
    """One page of a round: items, then a nextLink ($skiptoken) or the deltaLink ($deltatoken)."""
    req, engine = call.req, call.api.delta
    prefs = call.prefs()
    size = odata.max_page_size(prefs) or rnd.page_size
    rnd.page_size = size
    if round_id is None:
        round_id = engine.keep(rnd)
    empty = call.api.faults.take(req.method, req.path, ("delta_empty_page",), req.in_batch)
    chunk = [] if empty else rnd.entries[position : position + size]
    with call.api.store.lock:
        values = [render_entry(call, rnd, entry) for entry in chunk]
    after = position + len(chunk)
    kind = {"contacts": "contact", "contactFolders": "contactFolder"}.get(rnd.kind, "event")
    body: dict = {"@odata.context": f"{req.base}/v1.0/$metadata#Collection({kind})", "value": values}
    if after < len(rnd.entries) or empty:
        token = engine.skip_token(round_id, after)
        body["@odata.nextLink"] = odata.link(req.base, req.raw_path, {"$skiptoken": token})
    else:
        token = engine.delta_token(rnd, rnd.high)
        body["@odata.deltaLink"] = odata.link(req.base, req.raw_path, {"$deltatoken": token})
    headers = ["odata.track-changes"]
    if "odata.maxpagesize" in prefs:
        headers.append(f"odata.maxpagesize={size}")
    headers += applied or []
    return Response(200, body, {"Preference-Applied": ", ".join(headers)})


def removed(kind: str, item_id: str) -> dict:
    """A deleted item in a delta response: `{"@odata.type", "id", "@removed": {"reason": "deleted"}}`."""
    return {"@odata.type": f"#microsoft.graph.{kind}", "id": item_id, "@removed": {"reason": "deleted"}}
