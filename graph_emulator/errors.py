"""Graph- and Entra-shaped error values raised inside the emulator.

Reference: https://learn.microsoft.com/graph/errors (error resource type) and
https://learn.microsoft.com/entra/identity-platform/reference-error-codes (AADSTS errors).
"""

from __future__ import annotations

import datetime as dt
import uuid

NOT_FOUND_MESSAGE = "The specified object was not found in the store."


class GraphError(Exception):
    """A Graph error answer: HTTP status, `error.code`, `error.message` and extra headers."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})


def bad_request(message: str, code: str = "BadRequest") -> GraphError:
    """400 with Graph's generic code (or the one given)."""
    return GraphError(400, code, message)


def body_read_error(message: str) -> GraphError:
    """400 RequestBodyRead, Graph's code for a body that does not match the entity type."""
    return GraphError(400, "RequestBodyRead", message)


def item_not_found() -> GraphError:
    """404 ErrorItemNotFound, Outlook's answer for an unknown item id."""
    return GraphError(404, "ErrorItemNotFound", NOT_FOUND_MESSAGE)


def graph_error_body(code: str, message: str, request_id: str, client_request_id: str) -> dict:
    """Build `{"error":{"code","message","innerError":{date,request-id,client-request-id}}}`."""
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return {
        "error": {
            "code": code,
            "message": message,
            "innerError": {
                "date": now,
                "request-id": request_id,
                "client-request-id": client_request_id,
            },
        }
    }


class AadError(Exception):
    """An Entra ID (AAD) token-endpoint error: `{"error","error_description","error_codes",…}`."""

    def __init__(self, status: int, error: str, aadsts: int, description: str) -> None:
        super().__init__(f"{error} AADSTS{aadsts}")
        self.status = status
        self.error = error
        self.aadsts = aadsts
        self.description = description

    def body(self, correlation_id: str | None = None) -> dict:
        """Return the JSON body Entra sends, with trace and correlation ids."""
        now = dt.datetime.now(dt.UTC)
        trace_id = str(uuid.uuid4())
        correlation = correlation_id or str(uuid.uuid4())
        stamp = now.strftime("%Y-%m-%d %H:%M:%SZ")
        return {
            "error": self.error,
            "error_description": (
                f"AADSTS{self.aadsts}: {self.description} Trace ID: {trace_id} "
                f"Correlation ID: {correlation} Timestamp: {stamp}"
            ),
            "error_codes": [self.aadsts],
            "timestamp": stamp,
            "trace_id": trace_id,
            "correlation_id": correlation,
            "error_uri": f"https://login.microsoftonline.com/error?code={self.aadsts}",
        }
