"""Fault injection: make chosen requests fail the ways Graph and networks do fail.

Kinds (each matched by method, path regex and a count):
- `throttle`: 429 ApplicationThrottled with Retry-After (also for one request inside $batch),
  per https://learn.microsoft.com/graph/throttling.
- `unavailable`: 503 ServiceUnavailable (with Retry-After when given); `gateway_timeout`: 504.
- `error`: any status/code/message.
- `delay`: wait `seconds`, then serve normally.
- `drop`: serve, but cut the connection halfway through the response body.
- `timeout_after_write`: apply the request, then wait `seconds` and close without answering
  (the client sees a timeout while the write did happen: an ambiguous outcome).
- `revoke_tokens`: revoke every access token issued so far, then serve (so: 401).
- `delta_expired`: the delta request is answered "start over": 410 SyncStateNotFound by default
  (what Outlook is seen to send: microsoft-graph-docs issues 2350, 2877), or any variant given
  with `status`/`code`/`message` (400 syncStateInvalid, 404 syncStateNotFound, 410
  resyncRequired…): "a 40X-series error with error codes such as syncStateNotFound"
  (https://learn.microsoft.com/graph/delta-query-overview, "Token duration").
- `delta_duplicate`: repeat some items of the round on a later page (delta-query-overview:
  "the same resource may be returned more than once").
- `delta_replay`: the round's deltaLink does not advance, so the next round replays it.
- `delta_empty_page`: a page with no items and a nextLink (observed in calendarView delta).
- `delta_lose_removed`: the round leaves out its `@removed` items and its deltaLink still moves
  past them, so those deletions are never reported: what microsoft-graph-docs issue 11728 (and
  #5301) report for calendarView/delta ("The deleted calendar events are not retrieved").

Change-notification kinds, matched by `subscription` (its id) and/or `path` (a regex searched in
the subscription's resource, e.g. `users/…/events`, and in the notification's resource,
`Users/{id}/Events/{id}`); `count` counts notifications. Graph itself guarantees none of this:
notifications can be lost, repeated or late (https://learn.microsoft.com/graph/change-notifications-delivery-webhooks:
retried "for up to 4 hours", then discarded; throttled endpoints get them "10 minutes" late), and a
rogue sender can forge one, which is why the client checks clientState (same page, "Validate the
clientState property"):
- `notify_drop`: the notification is never sent.
- `notify_duplicate`: it is sent twice, the copy in a POST of its own.
- `notify_delay`: it leaves `seconds` later than it would have.
- `notify_wrong_client_state`: it carries a clientState other than the subscription's.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field

from .errors import GraphError

KINDS = (
    "throttle",
    "unavailable",
    "gateway_timeout",
    "error",
    "delay",
    "drop",
    "timeout_after_write",
    "revoke_tokens",
    "delta_expired",
    "delta_duplicate",
    "delta_replay",
    "delta_empty_page",
    "delta_lose_removed",
    "notify_drop",
    "notify_duplicate",
    "notify_delay",
    "notify_wrong_client_state",
)
NOTIFY_KINDS = ("notify_drop", "notify_duplicate", "notify_delay", "notify_wrong_client_state")
FIELDS = {
    "kind",
    "method",
    "path",
    "count",
    "retry_after",
    "seconds",
    "status",
    "code",
    "message",
    "in_batch",
    "subscription",
}


@dataclass
class Fault:
    """One armed fault; `count` None means until cleared."""

    id: int
    kind: str
    method: str | None = None
    path: str | None = None
    count: int | None = 1
    retry_after: int | None = None
    seconds: float = 0.0
    status: int | None = None
    code: str | None = None
    message: str | None = None
    in_batch: bool | None = None
    subscription: str | None = None
    hits: int = 0
    pattern: re.Pattern | None = field(default=None, repr=False)

    def public(self) -> dict:
        """The fault as the control API lists it."""
        return {k: v for k, v in self.__dict__.items() if k != "pattern"}

    def error(self) -> GraphError:
        """The error answer of an error-producing kind."""
        retry = {"Retry-After": str(self.retry_after)} if self.retry_after is not None else {}
        if self.kind == "throttle":
            retry.setdefault("Retry-After", "1")
            return GraphError(
                429,
                self.code or "ApplicationThrottled",
                self.message or "Application is over its MailboxConcurrency limit.",
                retry,
            )
        if self.kind == "unavailable":
            return GraphError(503, "ServiceUnavailable", self.message or "Service Unavailable", retry)
        if self.kind == "gateway_timeout":
            return GraphError(504, "GatewayTimeout", self.message or "Gateway Timeout", retry)
        return GraphError(self.status or 500, self.code or "generalException", self.message or "Injected fault.", retry)


def validate_spec(spec: object) -> dict:
    """Check a fault description from the control API; raise ValueError with the reason."""
    if not isinstance(spec, dict):
        raise ValueError("A fault is a JSON object.")
    unknown = set(spec) - FIELDS
    if unknown:
        raise ValueError(f"Unknown fault fields: {sorted(unknown)}")
    if spec.get("kind") not in KINDS:
        raise ValueError(f"kind must be one of {list(KINDS)}")
    if spec.get("path") is not None:
        try:
            re.compile(spec["path"])
        except (re.error, TypeError) as exc:
            raise ValueError(f"path is not a valid regular expression: {exc}") from exc
    for name in ("count", "retry_after", "status"):
        value = spec.get(name)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            raise ValueError(f"{name} must be an integer")
    if spec.get("subscription") is not None and not isinstance(spec["subscription"], str):
        raise ValueError("subscription must be a subscription id")
    if spec.get("subscription") and spec["kind"] not in NOTIFY_KINDS:
        raise ValueError("subscription only applies to the notify_* kinds")
    seconds = spec.get("seconds", 0)
    if not isinstance(seconds, int | float) or isinstance(seconds, bool) or seconds < 0:
        raise ValueError("seconds must be a non-negative number")
    return spec


class FaultBook:
    """The armed faults, matched in the order they were added."""

    def __init__(self) -> None:
        self.faults: list[Fault] = []
        self.lock = threading.Lock()
        self.next_id = 1

    def add(self, spec: dict) -> Fault:
        """Arm a fault from a validated spec."""
        spec = validate_spec(spec)
        with self.lock:
            fault = Fault(id=self.next_id, **spec)
            fault.pattern = re.compile(fault.path) if fault.path else None
            self.next_id += 1
            self.faults.append(fault)
            return fault

    def take(self, method: str, path: str, kinds: tuple[str, ...], in_batch: bool) -> Fault | None:
        """Consume one use of the first armed fault of `kinds` matching this request."""
        with self.lock:
            for fault in self.faults:
                if fault.kind not in kinds or not self._matches(fault, method, path, in_batch):
                    continue
                return self._use(fault)
        return None

    def take_notification(self, kind: str, subscription_id: str, resources: tuple[str, ...]) -> Fault | None:
        """Consume one use of the first armed notification fault of `kind` for this subscription
        whose `path` (when set) is found in one of `resources`."""
        with self.lock:
            for fault in self.faults:
                if fault.kind != kind or (fault.subscription and fault.subscription != subscription_id):
                    continue
                if fault.pattern is None or any(fault.pattern.search(r) for r in resources):
                    return self._use(fault)
        return None

    def _use(self, fault: Fault) -> Fault:
        fault.hits += 1
        if fault.count is not None:
            fault.count -= 1
            if fault.count <= 0:
                self.faults.remove(fault)
        return fault

    @staticmethod
    def _matches(fault: Fault, method: str, path: str, in_batch: bool) -> bool:
        if fault.method and fault.method.upper() != method.upper():
            return False
        if fault.in_batch is not None and fault.in_batch != in_batch:
            return False
        return fault.pattern is None or fault.pattern.search(path) is not None

    def clear(self) -> None:
        """Disarm every fault."""
        with self.lock:
            self.faults.clear()

    def listing(self) -> list[dict]:
        """The armed faults."""
        with self.lock:
            return [f.public() for f in self.faults]
