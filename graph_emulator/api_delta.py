"""Serving delta rounds page by page, shared by contacts/delta and calendarView/delta.

Reference: https://learn.microsoft.com/graph/delta-query-overview (nextLink until deltaLink,
`@removed` items, replays allowed) and https://learn.microsoft.com/graph/paging.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from . import odata
from .delta import Round, sync_state_not_found
from .errors import GraphError, bad_request
from .wire import Request, Response

if TYPE_CHECKING:
    from .api import Call

Renderer = Callable[["Call", Round, tuple], dict]


def check_expired_fault(call: Call) -> None:
    """The `delta_expired` fault: 410 SyncStateNotFound for this delta request, or the variant the
    fault names (status, code, message: the 40X forms of the delta overview's "Token duration")."""
    req = call.req
    fault = call.api.faults.take(req.method, req.path, ("delta_expired",), req.in_batch)
    if fault:
        error = sync_state_not_found(call.api.store.delta_generation)
        if fault.status or fault.code or fault.message:
            error = GraphError(fault.status or 410, fault.code or error.code, fault.message or error.message)
        raise error


def reject_options(req: Request, rejected: tuple[str, ...], resource: str) -> None:
    """Query options change tracking does not support are 400 ErrorInvalidUrlQuery."""
    if any(name in req.query for name in rejected):
        raise bad_request(
            "The following parameters are not supported with change tracking over the "
            f"'{resource}' resource: '{', '.join(rejected)}'.",
            "ErrorInvalidUrlQuery",
        )


def apply_round_faults(call: Call, rnd: Round, since: int | None) -> None:
    """delta_duplicate repeats early items on a later page; delta_replay keeps the old sequence;
    delta_lose_removed drops the round's deletions for good (microsoft-graph-docs issue 11728)."""
    faults, req = call.api.faults, call.req
    if faults.take(req.method, req.path, ("delta_lose_removed",), req.in_batch):
        rnd.entries = [entry for entry in rnd.entries if entry[0] != "removed"]
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
    cap = odata.CONTACTS_MAX_PAGE if rnd.kind == "contacts" else odata.MAX_PAGE
    size = odata.max_page_size(prefs, cap) or rnd.page_size
    rnd.page_size = size
    if round_id is None:
        round_id = engine.keep(rnd)
    empty = call.api.faults.take(req.method, req.path, ("delta_empty_page",), req.in_batch)
    chunk = [] if empty else rnd.entries[position : position + _served(call, rnd, position, size)]
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


def _served(call: Call, rnd: Round, position: int, size: int) -> int:
    """How many items this page holds: `size`, but half of it on the first page of a contacts
    round that needs more than one page (`GraphApi.short_pages`, on by default). Graph "may return
    fewer than 200 contacts if it is unable to gather and return them" within an internal time
    limit, even when more remain (learn.microsoft.com/answers/a/2052165): a client must follow
    nextLink, never read a short page as the last one."""
    if call.api.short_pages and rnd.kind == "contacts" and position == 0 and len(rnd.entries) > size:
        return max(1, size // 2)
    return size


def removed(kind: str, item_id: str) -> dict:
    """A deleted item in a delta response: `{"@odata.type", "id", "@removed": {"reason": "deleted"}}`."""
    return {"@odata.type": f"#microsoft.graph.{kind}", "id": item_id, "@removed": {"reason": "deleted"}}
