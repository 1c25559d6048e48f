"""« Aperçu » of the Exchange dialog: what a first synchronization of a user's mailbox would do,
read before the switches are saved.

The mailbox is only read (every contact folder in full, the calendar's window in full), with the
same mapping and rules as the sync: contacts skipped by R7, linked by address to a contact Prextra
already has (one person, one contact) or created, by the owner R8/R9 would give them; events in
the window, recurring ones left out (R13), private ones as the connection's setting treats them
(R15), meetings organized by others; and the Prextra activities the first push would send. No
cursor is stored and nothing of the CRM is written: the counts live on the MailboxPreview row,
which also carries the progress the dialog shows while a big mailbox is read (exchange/tasks.py).

The numbers are those of the first sync that follows (tests/exchange/test_preview.py), because
the decisions are the sync's own functions: `contact_from_graph`, `DomainIndex.link_for`,
`activity_from_graph` and `will_push`.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable

from django.db.models.functions import Lower
from django.utils import timezone

from accounts.models import User
from crm.models import Activity, Contact, OutlookContact

from .graph import errors
from .graph.client import GraphClient, GraphSettings
from .linking import DomainIndex
from .mapping import PRIVATE_SENSITIVITIES, Cancelled, Skip, activity_from_graph, contact_from_graph
from .models import GraphConnection, MailboxPreview
from .reasons import describe, error_reason
from .sync.activities import will_push, window_for
from .sync.mailbox import find_mailbox, stored_mailbox

Progress = Callable[[int], None]


def run_preview(preview: MailboxPreview, client: GraphClient | None = None) -> MailboxPreview:
    """Read the mailbox of `preview.user` and store what its first sync would do."""
    connection = GraphConnection.current()
    preview.status, preview.failure = MailboxPreview.Status.RUNNING, {}
    preview.save(update_fields=["status", "failure", "updated_at"])
    client = client or GraphClient(GraphSettings.from_connection(connection))

    def progress(count: int) -> None:
        MailboxPreview.objects.filter(pk=preview.pk).update(items_read=count, updated_at=timezone.now())

    try:
        preview.result = mailbox_preview(preview.user, client, connection, progress)
    except Exception as error:  # noqa: BLE001 - reported on the dialog in words, logged with its trace
        import logging

        logging.getLogger(__name__).exception("Preview of %s failed", preview.user.code)
        failure = error.reason if isinstance(error, errors.GraphError) else error_reason(error)
        preview.status, preview.failure = MailboxPreview.Status.FAILED, failure
    else:
        preview.status = MailboxPreview.Status.DONE
    preview.items_read = preview.result.get("read", preview.items_read)
    preview.save(update_fields=["status", "failure", "result", "items_read", "updated_at"])
    return preview


def mailbox_preview(user: User, client: GraphClient, connection: GraphConnection, progress: Progress) -> dict:
    """The counts of a first sync of `user`'s mailbox, as plain data (JSON-ready)."""
    mailbox = stored_mailbox(user) or find_mailbox(client, user.email)["id"]
    reader = _Reader(progress)
    contacts = _contacts(user, client, mailbox, reader)
    events = _events(user, client, connection, mailbox, reader)
    window = window_for(connection)
    pending = Activity.objects.filter(owner=user, needs_push=True).order_by()
    pushed = sum(1 for activity in pending.iterator(chunk_size=1000) if will_push(activity, window))
    return {"read": reader.count, "contacts": contacts, "events": events, "pushed": pushed}


class _Reader:
    """Counts the items read, and says so to the dialog every page."""

    def __init__(self, progress: Progress) -> None:
        self.count, self.progress = 0, progress

    def page(self, items: list) -> list:
        self.count += len(items)
        self.progress(self.count)
        return items


def _contacts(user: User, client: GraphClient, mailbox: str, reader: _Reader) -> dict:
    """Every contact folder read in full, judged as the first contact sync judges them."""
    index = DomainIndex.load()
    linked_here = set(OutlookContact.objects.filter(mailbox=user).values_list("outlook_id", flat=True))
    seen_ids: set[str] = set()
    new_addresses: set[str] = set()
    owners: Counter = Counter()
    skipped: Counter = Counter()
    counts = {"created": 0, "linked": 0, "already": 0}
    for folder in client.contact_folders(mailbox):
        for page in client.folder_contacts_delta(mailbox, folder["id"], ""):
            items = [item for item in reader.page(page.items) if isinstance(item, dict) and "@removed" not in item]
            decided = [(item, contact_from_graph(item)) for item in items]
            addresses = {data.email.strip().lower() for _item, data in decided if not isinstance(data, Skip)}
            existing = set(
                Contact.objects.annotate(address=Lower("email"))
                .filter(address__in=addresses, is_active=True)
                .values_list("address", flat=True)
            )
            for item, data in decided:
                outlook_id = item.get("id")
                if outlook_id in seen_ids:
                    continue  # a page repeated by the delta: the sync keeps the last occurrence
                seen_ids.add(outlook_id)
                if isinstance(data, Skip):
                    skipped[_key(data.reason)] += 1
                    continue
                address = data.email.strip().lower()
                if outlook_id in linked_here:
                    counts["already"] += 1
                elif address in existing or address in new_addresses:
                    counts["linked"] += 1
                else:
                    new_addresses.add(address)
                    counts["created"] += 1
                    link = index.link_for(data.domain)
                    owners["review" if link.needs_review else link.owner_field] += 1
    return {**counts, "owners": dict(owners), "skipped": _counted(skipped)}


def _key(reason: dict) -> str:
    return json.dumps(reason, sort_keys=True)


def _counted(skipped: Counter) -> list[dict]:
    """The skip reasons as stored: codes with their parameters (read in the viewer's language)."""
    return [{"reason": json.loads(key), "count": count} for key, count in skipped.most_common()]


def skip_lines(skipped) -> list[tuple[str, int]]:
    """(sentence, count) for each skip reason of a stored preview; a preview stored before reasons
    were codes holds {sentence: count}."""
    if isinstance(skipped, dict):
        return [(str(text), count) for text, count in skipped.items()]
    return [(describe(line.get("reason")), line.get("count", 0)) for line in skipped or [] if isinstance(line, dict)]


def _events(user: User, client: GraphClient, connection: GraphConnection, mailbox: str, reader: _Reader) -> dict:
    """The calendar window read in full, judged as the first calendar pull judges it."""
    start, end = window_for(connection)
    linked = set(Activity.objects.filter(owner=user, outlook_id__isnull=False).values_list("outlook_id", flat=True))
    last: dict[str, dict] = {}
    for page in client.events_delta(mailbox, start, end, ""):
        for item in reader.page(page.items):
            if isinstance(item, dict) and isinstance(item.get("id"), str):
                last[item["id"]] = item
    counts = Counter()
    skipped: Counter = Counter()
    series = set()  # the recurring series met: the sync journals one skip per series
    for outlook_id, item in last.items():
        if "@removed" in item:
            continue
        data = activity_from_graph(item, user.email, connection.private_events)
        sensitive = isinstance(item.get("sensitivity"), str) and item["sensitivity"] in PRIVATE_SENSITIVITIES
        if isinstance(data, Cancelled):
            counts["cancelled"] += 1
        elif isinstance(data, Skip):
            if data.code == "recurring":
                series.add(item.get("seriesMasterId") if isinstance(item.get("seriesMasterId"), str) else outlook_id)
                continue
            counts["skipped"] += 1
            counts["sensitive"] += sensitive
            skipped[_key(data.reason)] += 1
        elif outlook_id in linked:
            counts["already"] += 1
        else:  # an ActivityData, the only other thing activity_from_graph returns
            counts["created"] += 1
            counts["sensitive"] += sensitive
            counts["private"] += data.is_private
            counts["received"] += bool(data.organizer)
            counts["meetings"] += data.is_meeting and not data.organizer
    counts["recurring"] = len(series)
    return {
        "window": [start.isoformat(), end.isoformat()],
        "private_policy": connection.private_events,
        **{key: counts[key] for key in ("created", "already", "recurring", "cancelled", "skipped", "sensitive")},
        "private": counts["private"],
        "received": counts["received"],
        "meetings": counts["meetings"],
        "reasons": _counted(skipped),
    }
