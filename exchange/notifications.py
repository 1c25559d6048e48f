"""What the notification endpoint does with what Microsoft Graph posts to it (the view is
exchange.views.graph_notifications; the subscriptions are exchange/subscriptions.py).

Graph's rules (change-notifications-delivery-webhooks, docs/graph-notes.md §8):
- Validation: a POST with `?validationToken=…` (on creation, for both the notification and the
  lifecycle URL) must be answered within 10 s with 200, text/plain, the decoded token.
- Notifications: `{"value": [...]}`, answered 2xx within 3 s (202 here) or Graph retries, and
  throttles an endpoint slower than 2.9 s in 10 % of its answers. So the request does no sync
  work: it checks and queues, with one UPDATE and at most one queued task per mailbox and kind.
- `clientState` must be checked: an item whose clientState does not hash to one of our
  subscriptions' (or names another subscription id) is refused, logged and queues nothing. Its
  data is never trusted anyway: it only says "look now", and the delta round reads the mailbox.

A burst for one mailbox queues one sync (tasks.enqueue_notified_sync coalesces); a notification
arriving while that sync runs makes it run once more when it ends (tasks.sync_user), so none is
ever lost between two reads.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field

from django.utils import timezone

from . import subscriptions, tasks
from .models import Subscription

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024  # Graph batches notifications; a thousand of them fit in 1 MiB
MAX_TOKEN_LENGTH = 2048
MAX_CLIENT_STATE = 128  # the subscription resource's limit
LIFECYCLE_EVENTS = ("reauthorizationRequired", "subscriptionRemoved", "missed")


class Malformed(ValueError):
    """The body is not a notification collection."""


@dataclass
class Received:
    """What one POST held: items accepted, refused (forged or unknown), and the syncs queued."""

    accepted: int = 0
    refused: int = 0
    queued: list[tuple[int, str]] = field(default_factory=list)
    lifecycle: list[tuple[int, str]] = field(default_factory=list)


def parse(body: bytes) -> list[dict]:
    """The notification items of a POST body; Malformed for anything else."""
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        raise Malformed("not JSON") from None
    items = payload.get("value") if isinstance(payload, dict) else None
    if not isinstance(items, list):
        raise Malformed("no value array")
    return [item for item in items if isinstance(item, dict)]


def receive(body: bytes) -> Received:
    """Check every item of a notification POST and queue what they ask for."""
    items = parse(body)
    received = Received()
    by_state = _subscriptions_of(items)
    touched: set[int] = set()
    groups: dict[tuple[int, str], None] = {}
    for item in items:
        row = _trusted(item, by_state)
        if row is None:
            received.refused += 1
            continue
        received.accepted += 1
        event = item.get("lifecycleEvent")
        if isinstance(event, str) and event:
            if event in LIFECYCLE_EVENTS:
                received.lifecycle.append((row.pk, event))
            else:
                logger.info("Lifecycle notification %r for subscription %s ignored", event[:40], row.pk)
            continue
        touched.add(row.pk)
        groups[(row.user_id, row.group)] = None
    if touched:
        Subscription.objects.filter(pk__in=touched).update(last_notified_at=timezone.now())
    for user_id, group in groups:
        if tasks.enqueue_notified_sync(user_id, group):
            received.queued.append((user_id, group))
    for pk, event in received.lifecycle:
        tasks.handle_lifecycle.delay(pk, event)
    return received


def _subscriptions_of(items: list[dict]) -> dict[str, Subscription]:
    """Our subscriptions by the clientState the items carry (each hashed once: the rows keep only
    the hash)."""
    hashes = {
        state: subscriptions.hash_client_state(state)
        for state in (item.get("clientState") for item in items)
        if isinstance(state, str) and 0 < len(state) <= MAX_CLIENT_STATE
    }
    if not hashes:
        return {}
    rows = Subscription.objects.filter(client_state_hash__in=set(hashes.values()))
    by_hash = {row.client_state_hash: row for row in rows.only("user_id", "kind", "graph_id", "client_state_hash")}
    return {state: by_hash[digest] for state, digest in hashes.items() if digest in by_hash}


def _trusted(item: dict, by_state: dict[str, Subscription]) -> Subscription | None:
    """The subscription this item is from, or None (logged) when it cannot be ours."""
    state, subscription_id = item.get("clientState"), item.get("subscriptionId")
    row = by_state.get(state) if isinstance(state, str) else None
    # A row without a Graph id is being created: its notifications may precede Graph's answer.
    if row is not None and (not row.graph_id or row.graph_id == subscription_id):
        return row
    shown = subscription_id[:80] if isinstance(subscription_id, str) else type(subscription_id).__name__
    logger.warning("Change notification refused: clientState does not match (subscription %r)", shown)
    return None
