"""Outgoing HTTPS: the validation handshake of a new subscription, and the delivery of change and
lifecycle notifications from a background thread (never from the request that made the change).

What Graph does (https://learn.microsoft.com/graph/change-notifications-delivery-webhooks and its
include change-notifications-delivery-notificationurl-validation.md):
- Validation: a POST to `{notificationUrl}?validationToken={opaque}` (and to the
  lifecycleNotificationUrl when set), `Content-Type: text/plain; charset=utf-8`; the endpoint must
  answer within 10 seconds with 200, `text/plain` and the URL-decoded token, else no subscription.
  The token is opaque; the emulator sends the text Graph is seen to use ("Validation: Testing client
  application reachability for subscription Request-Id: …", Q&A 2146042), which needs URL-decoding.
  Failures: 400 InvalidRequest "Subscription validation request timed out."
  (msgraph-sdk-dotnet issue 2805; microsoftgraph/nodejs-webhooks-sample issue 350),
  "Subscription validation request failed. Notification endpoint must respond with 200 OK to
  validation request." (Q&A 416427; phpout.com shows the same message with code ValidationError),
  "Subscription validation request failed. Response must exactly match validationToken query
  parameter." (microsoftgraph/java-spring-webhooks-sample issue 82).
- Delivery: a POST of `{"value": [...]}`; several notifications, of several subscriptions, may
  share one POST. The endpoint must answer 2xx within 3 seconds ("Notifications are published
  using an HTTP client with a 3-second timeout"); otherwise Graph retries "multiple times, for up
  to 4 hours", then discards the notification; slow endpoints are throttled (10-minute delays).
  The emulator retries `retry_delays` times (1, 2 and 4 s by default), then drops the batch.

Outgoing calls trust the system store plus the emulator's own CA plus an optional CA file (the
product's test or demo endpoint), and ignore proxy settings.
"""

from __future__ import annotations

import http.client
import json
import logging
import secrets
import ssl
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from .errors import GraphError
from .faults import FaultBook
from .reqlog import RequestLog
from .store import Change
from .subscriptions import Subscription, SubscriptionBook

log = logging.getLogger(__name__)

VALIDATION_TIMEOUT = 10.0
DELIVERY_TIMEOUT = 3.0
RETRY_DELAYS = (1.0, 2.0, 4.0)
MAX_BATCH = 100  # Graph documents no batch size; the emulator's choice
DUPLICATE_GAP = 0.5
MAX_ANSWER = 64 * 1024
USER_AGENT = "Microsoft-Graph-Change-Notifications/emulator"


def client_context(own_ca: str | None, extra_ca: str | None = None) -> ssl.SSLContext:
    """The TLS context of outgoing calls: the system store, the emulator's CA, `extra_ca`."""
    context = ssl.create_default_context()
    context.minimum_version = ssl.TLSVersion.TLSv1_2  # latestSupportedTlsVersion defaults to v1_2
    for path in (own_ca, extra_ca):
        if path:
            context.load_verify_locations(cafile=path)
    return context


@dataclass
class Answer:
    """What an endpoint answered (status None: no answer; `timed_out` when it was too slow)."""

    status: int | None = None
    content_type: str = ""
    body: bytes = b""
    error: str | None = None
    timed_out: bool = False


def post(context: ssl.SSLContext, url: str, body: bytes, content_type: str, timeout: float) -> Answer:
    """POST `body` to an https URL; never raises."""
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    conn = http.client.HTTPSConnection(parts.hostname or "", parts.port or 443, context=context, timeout=timeout)
    try:
        conn.request("POST", target, body=body, headers={"Content-Type": content_type, "User-Agent": USER_AGENT})
        response = conn.getresponse()
        data = response.read(MAX_ANSWER)
        return Answer(response.status, response.getheader("Content-Type") or "", data)
    except TimeoutError:
        return Answer(error="timed out", timed_out=True)
    except (OSError, http.client.HTTPException, ValueError) as exc:
        return Answer(error=f"{type(exc).__name__}: {exc}")
    finally:
        conn.close()


def _failed(message: str) -> GraphError:
    return GraphError(400, "InvalidRequest", message)


@dataclass
class Delivery:
    """One POST to come: its notifications, when it leaves, how many times it was tried."""

    due: float
    url: str
    items: list[dict]
    lifecycle: bool = False
    open: bool = True  # later changes for the same URL may still join it
    attempt: int = 0


class Notifier:
    """Validates notification URLs and delivers notifications after `delay` seconds, batched per URL."""

    def __init__(self, book: SubscriptionBook, faults: FaultBook, reqlog: RequestLog, tenant_id: str, delay: float):
        self.book = book
        self.faults = faults
        self.reqlog = reqlog
        self.tenant_id = tenant_id
        self.delay = delay
        self.context: ssl.SSLContext | None = None
        self.validation_timeout = VALIDATION_TIMEOUT
        self.timeout = DELIVERY_TIMEOUT
        self.retry_delays: tuple[float, ...] = RETRY_DELAYS
        self.max_batch = MAX_BATCH
        self.dropped = 0  # batches given up after their retries
        self.queue: list[Delivery] = []
        self.cond = threading.Condition()
        self.stopping = False
        self.thread: threading.Thread | None = None
        self.now: Callable[[], float] = time.monotonic

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self, context: ssl.SSLContext) -> None:
        """Begin delivering (`context`: see client_context)."""
        self.context = context
        self.stopping = False
        self.thread = threading.Thread(target=self._loop, name="graph-emulator-notifier", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        """Stop the thread; notifications still queued are not sent."""
        with self.cond:
            self.stopping = True
            self.cond.notify_all()
        if self.thread:
            self.thread.join(timeout=10)
            self.thread = None

    def clear(self) -> None:
        """Forget the queued notifications (reset)."""
        with self.cond:
            self.queue.clear()

    # -- validation --------------------------------------------------------------------------

    def validate(self, url: str) -> None:
        """The validation handshake of `url`; 400 InvalidRequest with Graph's message when it fails."""
        token = f"Validation: Testing client application reachability for subscription Request-Id: {uuid.uuid4()}"
        target = f"{url}{'&' if '?' in url else '?'}validationToken={quote(token)}"
        answer = post(self._context(), target, b"", "text/plain; charset=utf-8", self.validation_timeout)
        self._log("validation", target, answer, None)
        if answer.timed_out:
            raise _failed("Subscription validation request timed out.")
        media = answer.content_type.split(";", 1)[0].strip().lower()
        if answer.status != 200 or media != "text/plain":
            raise _failed(
                "Subscription validation request failed. Notification endpoint must respond with 200 OK to "
                "validation request."
            )
        if answer.body.decode("utf-8", "replace") != token:
            raise _failed(
                "Subscription validation request failed. Response must exactly match validationToken query parameter."
            )

    # -- scheduling --------------------------------------------------------------------------

    def changed(self, change: Change) -> None:
        """Store callback: queue a notification for each subscription that reports `change`."""
        for sub in self.book.matching(change):
            self.schedule(sub, sub.notification(change, self.tenant_id))

    def schedule(self, sub: Subscription, item: dict) -> None:
        """Queue one change notification, through the notify_* faults."""
        resources = (sub.resource, item["resource"])
        if self.faults.take_notification("notify_drop", sub.id, resources):
            return
        delayed = self.faults.take_notification("notify_delay", sub.id, resources)
        extra = delayed.seconds if delayed else 0.0
        if self.faults.take_notification("notify_wrong_client_state", sub.id, resources):
            item = dict(item, clientState=f"wrong-{secrets.token_hex(8)}")
        duplicate = self.faults.take_notification("notify_duplicate", sub.id, resources)
        with self.cond:
            self._enqueue(sub.notification_url, item, extra)
            if duplicate:
                self._enqueue(sub.notification_url, dict(item), extra + DUPLICATE_GAP, alone=True)
            self.cond.notify_all()

    def lifecycle(self, sub: Subscription, event: str) -> dict | None:
        """Queue a lifecycle notification to the subscription's lifecycleNotificationUrl; None
        without one ("Existing subscriptions without a lifecycleNotificationUrl property don't
        receive the lifecycle notifications": change-notifications-lifecycle-events)."""
        if not sub.lifecycle_url:
            return None
        item = sub.lifecycle(event, self.tenant_id)
        with self.cond:
            self._enqueue(sub.lifecycle_url, item, 0.0, lifecycle=True)
            self.cond.notify_all()
        return item

    def _enqueue(self, url: str, item: dict, extra: float, alone: bool = False, lifecycle: bool = False) -> None:
        """Join the open POST to `url` (not for delayed or lone items), or open a new one."""
        if not extra and not alone:
            for delivery in self.queue:
                joins = delivery.open and delivery.url == url and delivery.lifecycle == lifecycle
                if joins and len(delivery.items) < self.max_batch:
                    delivery.items.append(item)
                    return
        opened = not (extra or alone)
        self.queue.append(Delivery(self.now() + self.delay + extra, url, [item], lifecycle, opened))

    # -- delivery ----------------------------------------------------------------------------

    def _loop(self) -> None:
        while True:
            with self.cond:
                due = self._wait_for_due()
                if due is None:
                    return
            for delivery in due:
                self._deliver(delivery)

    def _wait_for_due(self) -> list[Delivery] | None:
        while not self.stopping:
            now = self.now()
            due = sorted((d for d in self.queue if d.due <= now), key=lambda d: d.due)
            if due:
                for delivery in due:
                    self.queue.remove(delivery)
                    delivery.open = False
                return due
            wait = min((d.due for d in self.queue), default=now + 60) - now
            self.cond.wait(timeout=max(wait, 0.01))
        return None

    def _deliver(self, delivery: Delivery) -> None:
        payload = {"value": delivery.items}
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        answer = post(self._context(), delivery.url, body, "application/json; charset=utf-8", self.timeout)
        self._log("notification", delivery.url, answer, payload, delivery)
        if answer.status is not None and 200 <= answer.status < 300:
            return
        if delivery.attempt < len(self.retry_delays):
            delivery.due = self.now() + self.retry_delays[delivery.attempt]
            delivery.attempt += 1
            with self.cond:
                self.queue.append(delivery)
                self.cond.notify_all()
            return
        self.dropped += 1
        log.info("dropped a notification batch for %s after %d attempts", delivery.url, delivery.attempt + 1)

    def _context(self) -> ssl.SSLContext:
        if self.context is None:
            self.context = client_context(None)
        return self.context

    def _log(self, kind: str, url: str, answer: Answer, payload, delivery: Delivery | None = None) -> None:
        parts = urlsplit(url)
        self.reqlog.add(
            {
                "kind": kind,
                "method": "POST",
                "path": parts.path,
                "query": {},
                "status": answer.status,
                "mailbox": None,
                "invitations": [],
                "cancellations": [],
                "inBatch": False,
                "clientRequestId": None,
                "body": payload,
                "target": url,
                "error": answer.error,
                "attempt": delivery.attempt + 1 if delivery else 1,
                "lifecycle": bool(delivery and delivery.lifecycle),
            }
        )
