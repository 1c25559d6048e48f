"""JSON batching: up to 20 requests in one POST /$batch, with dependsOn and per-request status.

Reference: https://learn.microsoft.com/graph/json-batching. URLs are relative to the version
root (`/users/…` or `users/…`); an absolute URL fails the whole batch with 400 "Invalid batch
payload format.", Graph's answer (microsoft-graph-docs-contrib issue 8576; "URIs must be
relative", microsoft-graph-docs issue 6535). Properties of a request item that Graph does not
know are ignored, as Graph does: msgraph-sdk-python-core sent `depends_on` and Graph ran the
batch without sequencing it (msgraph-sdk-python-core pull request 996). Inner requests run with
the outer request's authentication. A request whose dependency failed gets
424 Failed Dependency. One inner request can be throttled on its own (429 + Retry-After in
its `headers`).
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from .errors import GraphError, bad_request, graph_error_body
from .wire import Request, Response

if TYPE_CHECKING:
    from .api import GraphApi

MAX_REQUESTS = 20
WRITE_METHODS = {"POST", "PATCH", "PUT"}


def run(api: GraphApi, req: Request) -> Response:
    """Validate the batch, run its requests in dependency order, return all responses."""
    items = _parse(req)
    results: dict[str, dict] = {}
    for item in _ordered(items):
        results[item["id"].lower()] = _run_one(api, req, item, results)
    responses = [results[item["id"].lower()] for item in items]
    return Response(200, {"responses": responses}, content_type="application/json")


def _parse(req: Request) -> list[dict]:
    from .api import json_body

    body = json_body(req)
    items = body.get("requests")
    if not isinstance(items, list) or not items:
        raise bad_request("Invalid batch payload format.")
    if len(items) > MAX_REQUESTS:
        raise bad_request(f"The number of batch requests exceeds the limit of {MAX_REQUESTS}.")
    seen = set()
    for item in items:
        _check_item(item)
        if item["id"].lower() in seen:
            raise bad_request(f"Batch request ids must be unique: '{item['id']}'.")
        seen.add(item["id"].lower())
    for item in items:
        for dep in item.get("dependsOn") or []:
            if dep.lower() not in seen or dep.lower() == item["id"].lower():
                raise bad_request(f"Request dependsOn an unknown request id: '{dep}'.")
    return items


def _check_item(item: object) -> None:
    if not isinstance(item, dict):
        raise bad_request("Invalid batch payload format.")
    for name in ("id", "method", "url"):
        if not isinstance(item.get(name), str) or not item[name]:
            raise bad_request(f"Invalid batch payload format: '{name}' is required.")
    if urlsplit(item["url"]).scheme or item["url"].startswith("//"):
        raise bad_request("Invalid batch payload format.")
    if "headers" in item and not isinstance(item["headers"], dict):
        raise bad_request("Invalid batch payload format: 'headers' must be an object.")
    deps = item.get("dependsOn")
    if deps is not None and (not isinstance(deps, list) or not all(isinstance(d, str) for d in deps)):
        raise bad_request("Invalid batch payload format: 'dependsOn' must be a list of ids.")


def _ordered(items: list[dict]) -> list[dict]:
    """Requests in an order that respects dependsOn (cycles are a 400 for the whole batch)."""
    done: set[str] = set()
    ordered: list[dict] = []
    pending = list(items)
    while pending:
        ready = [i for i in pending if all(d.lower() in done for d in i.get("dependsOn") or [])]
        if not ready:
            raise bad_request("The dependsOn chain of the batch contains a cycle.")
        for item in ready:
            ordered.append(item)
            done.add(item["id"].lower())
            pending.remove(item)
    return ordered


def _run_one(api: GraphApi, outer: Request, item: dict, results: dict[str, dict]) -> dict:
    inner = _inner_request(outer, item)
    failed = [d for d in item.get("dependsOn") or [] if results[d.lower()]["status"] >= 400]
    if failed:
        error = GraphError(424, "FailedDependency", "The request has a failed dependency.")
        response = api.error_response(inner, error)
    elif isinstance(inner, Response):
        response = inner
    else:
        response = _execute(api, inner)
    api.log_inner(inner if isinstance(inner, Request) else outer, item, response)
    return _as_item(item["id"], response)


def _execute(api: GraphApi, inner: Request) -> Response:
    fault = api.faults.take(inner.method, inner.path, ("throttle", "unavailable", "gateway_timeout", "error"), True)
    if fault:
        return api.error_response(inner, fault.error())
    if urlsplit(inner.path).path.rstrip("/").endswith("$batch"):
        return api.error_response(inner, bad_request("A batch cannot contain another batch."))
    return api.handle(inner)


def _inner_request(outer: Request, item: dict) -> Request | Response:
    method = item["method"].upper()
    headers = {k.lower(): str(v) for k, v in (item.get("headers") or {}).items()}
    raw_path, _, query = item["url"].lstrip("/").partition("?")
    request = Request(
        method=method,
        path="/v1.0/" + unquote(raw_path),
        raw_path="/v1.0/" + raw_path,
        query=_query(query),
        headers=headers,
        body=b"",
        base=outer.base,
        client=outer.client,
        in_batch=True,
        prefer_values=[headers["prefer"]] if "prefer" in headers else [],
        request_id=str(uuid.uuid4()),
        client_request_id=headers.get("client-request-id") or outer.client_request_id,
        roles=outer.roles,
    )
    if "body" in item and item["body"] is not None:
        if "content-type" not in headers:
            message = f"Write request id : {item['id']} does not contain Content-Type header or body."
            body = graph_error_body("BadRequest", message, request.request_id, request.client_request_id)
            return Response(400, body, content_type="application/json")
        request.body = _body_bytes(item["body"])
    return request


def _body_bytes(body: object) -> bytes:
    if isinstance(body, str):
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            return body.encode()
    return json.dumps(body).encode()


def _query(text: str) -> dict[str, str]:
    from .server import parse_query

    return parse_query(text)


def _as_item(item_id: str, response: Response) -> dict:
    headers = {"Content-Type": "application/json"} if response.body is not None else {}
    headers.update(response.headers)
    out: dict = {"id": item_id, "status": response.status, "headers": headers}
    if response.body is not None:
        out["body"] = response.body if isinstance(response.body, dict | list) else response.payload().decode()
    return out
