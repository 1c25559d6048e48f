"""Plain request/response values passed between the HTTP server and the API handlers."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

GRAPH_JSON = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"


@dataclass
class Request:
    """One request: decoded path, raw path, lower-cased query keys and header names."""

    method: str
    path: str
    raw_path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    base: str
    client: str = "127.0.0.1"
    in_batch: bool = False
    prefer_values: list[str] = field(default_factory=list)
    request_id: str = ""
    client_request_id: str = ""
    roles: tuple[str, ...] | None = None  # the token's `roles` claim, once checked (None: not checked)

    def header(self, name: str) -> str | None:
        """A request header by case-insensitive name."""
        return self.headers.get(name.lower())


@dataclass
class Response:
    """What a handler answers; `notes` carries invitations/cancellations for the request log."""

    status: int
    body: object = None
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str | None = None
    notes: dict | None = None
    mailbox: str | None = None
    cut: bool = False
    hang_after: float | None = None

    def payload(self) -> bytes:
        """The encoded body (JSON for dicts and lists)."""
        if self.body is None:
            return b""
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode("utf-8")
        return json.dumps(self.body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    def media_type(self) -> str:
        """The Content-Type header to send."""
        if self.content_type:
            return self.content_type
        return GRAPH_JSON
