"""Two-way activity synchronization between a user's Outlook calendar and the CRM calendar (R12–R16).

State per linked pair (vdirsyncer's status model): the Outlook id, its last-seen changeKey, and
the synchronized fields as both sides last agreed on them (`Activity.sync_agreed`, hashed in
`sync_hash`). Change detection compares hashes, never timestamps: Exchange bumps
lastModifiedDateTime when an item is merely opened.

Every Graph URL names the mailbox by its object id (sync.mailbox: resolved once from « Courriel »,
again when Graph no longer knows it). A missing permission, or an address no mailbox has, fails
the run in words; a Retry-After longer than the client waits defers both directions until then.

Exchange → Prextra (`pull`): calendarView/delta over a sliding window; the delta link is stored
only after the whole round is committed; 410, or a 4xx saying syncStateNotFound, syncStateInvalid,
resyncRequired or InvalidDeltaToken (errors.DELTA_RESTART_CODES) → a full round without
duplicates. Outlook edits go through a three-way merge against the agreed state: a field changed
on one side only takes that side's value; a field changed on both sides is won by the
connection's `conflict_winner` (Outlook by default) and the losing value is journaled as a
conflict an administrator can restore; a meeting someone else organized takes its organizer's
version. Notes and documents are never touched (R12). Recurring
events are never imported (R13); an imported single event that becomes a series is unlinked and
excluded, never duplicated.
Deletions and cancellations soft-delete. An event the view dropped is judged from itself (a GET):
a deleted event sits in Deleted Items and still answers 200, so a single event whose own times
still overlap the window has left the calendar and is deleted here; one rescheduled outside the
window gets its new times. Every `PREXTRA_RECONCILE_INTERVAL` seconds the pull also runs a full
round of the window, which catches a deletion calendarView/delta never reported.

Prextra → Exchange (`push`): activities whose synchronized fields differ from the agreed state
(`needs_push`, kept by Activity.save) are created, patched or deleted in Outlook in $batch
requests of 20. Never attendees: no invitation or cancellation can reach a customer; events
with attendees (meetings) and events someone else organized (`isOrganizer` false, even with no
attendee but the mailbox) are managed in Outlook and never patched or deleted from Prextra.
A PATCH names only the properties whose Prextra field changed since the agreed state, so what
the user set in Outlook and Prextra does not hold (showAs, sensitivity, locations, categories,
body) stays as it is; a create sends the whole event.
Creates carry a transactionId derived from the activity, so a retry after a time-out never makes
a second event; when the reply of a create is lost for good, the pull recognizes the event by that
transactionId and links it, and a later create that Graph refuses as a duplicate (the activity
changed meanwhile) finds the event by the extended property set with it. 412 → re-read, merge,
and send again on the next run (unless it became a meeting); 404 → deleted in Outlook. Each item
of a batch is settled in its own savepoint, and each batch's journal is written with it. A
permanent refusal (400, 403…) is journaled once and not sent again until the activity changes;
a DELETE answered 404 or 410 means already gone. An activity Outlook does not hold yet that lies
outside the window (sync.window) stays pending until the window reaches it; the first round that
holds it since it was last saved journals the day it will be sent (or that it never will be).

Both directions of one user run under one lock, so a push never races a full pull round.
"""

from __future__ import annotations

import logging
import re
from contextlib import nullcontext
from datetime import date, datetime, timedelta
from urllib.parse import quote

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import ExchangeProfile, User
from crm.models import Activity, Contact, sync_fingerprint

from ..graph import errors
from ..graph.client import BATCH_LIMIT, GraphClient, GraphSettings
from ..graph.permissions import MissingPermissionError
from ..mapping import (
    ActivityData,
    Cancelled,
    Skip,
    activity_from_graph,
    activity_label,
    activity_patch,
    activity_to_graph,
)
from ..models import AUTOMATIC_TRIGGERS, LANES, Direction, GraphConnection, JournalEntry, SyncRun, SyncState
from ..reasons import error_reason, reason
from . import bulk, rounds
from .runs import (
    RunJournal,
    finish_success,
    locked,
    new_run,
    perform,
    persist,
    state_for,
    sync_refusal,
)
from .window import enters_window_on, overlaps_window, window_for

logger = logging.getLogger(__name__)

FIELDS = Activity.SYNCED_FIELDS
RECURRING = {"seriesMaster", "occurrence", "exception"}
WINDOW_SLACK = timedelta(days=7)
# A named single-value extended property set on each event Prextra creates, valued with its
# transactionId (https://learn.microsoft.com/graph/api/resources/extended-properties-overview:
# "String {GUID} Name …", the GUID being this product's own property set). Graph documents a $filter
# on it (api/singlevaluelegacyextendedproperty-get) but none on transactionId itself, so it is how a
# create refused as a duplicate finds its event; the pull reads transactionId, which calendarView/delta
# returns (api/event-delta's example) while it cannot $expand extended properties.
TRANSACTION_PROPERTY = "String {6d5c3a8e-2f41-4b9a-9e07-3c1f5a7d2b64} Name PrextraTransactionId"
TRANSACTION_ID = re.compile(r"^prextra-(\d+)-(\d+)$")
# Per-item answers of a $batch that may pass on their own: the next run sends the item again.
TRANSIENT_ITEM_STATUSES = {401, 408, 409, 412, 423, 424, 429}


def sync_activities(user: User, *, trigger: str = SyncRun.Trigger.SCHEDULE, client: GraphClient | None = None):
    """Run the switched-on activity directions of `user`: pull, then push. The runs, or None.

    Raises runs.SyncBusy when another worker holds this user's activity sync.
    """
    connection = GraphConnection.current()
    directions = [
        direction
        for direction in (Direction.ACTIVITIES_IN, Direction.ACTIVITIES_OUT)
        if not sync_refusal(user, direction, connection)
    ]
    if not directions:
        return None
    pull_state = state_for(user, Direction.ACTIVITIES_IN)
    push_state = state_for(user, Direction.ACTIVITIES_OUT)
    client = client or GraphClient(GraphSettings.from_connection(connection))
    runs = []
    with locked(pull_state):
        if Direction.ACTIVITIES_IN in directions and not pull_state.pending_confirmation:
            runs.append(_record(user, pull_state, Direction.ACTIVITIES_IN, trigger, client, connection, Pull))
        if Direction.ACTIVITIES_OUT in directions:
            push_state.refresh_from_db()
            runs.append(_record(user, push_state, Direction.ACTIVITIES_OUT, trigger, client, connection, Push))
    return [run for run in runs if run is not None]


def _record(user, state, direction, trigger, client, connection, worker_class):
    """One direction's run: recorded, its failures turned into state and backoff."""
    if direction == Direction.ACTIVITIES_OUT and not Activity.objects.filter(owner=user, needs_push=True).exists():
        # Idle push: nothing to send, no Graph request; the stamps move as for any quiet run.
        finish_success(state, None, force_stamps=trigger not in AUTOMATIC_TRIGGERS)
        return None
    run = new_run(user, direction, trigger)
    return perform(state, run, client, lambda box: worker_class(user, state, run, client, connection, box).execute())


def merge(agreed: dict, prextra: dict, outlook: dict, winner: str) -> tuple[dict, dict]:
    """Three-way merge per field against the agreed state; (merged values, conflicts).

    conflicts maps a field changed differently on both sides to [winning value, losing value].
    """
    merged, conflicts = {}, {}
    for name in agreed.keys() | prextra.keys() | outlook.keys():
        base, mine, theirs = agreed.get(name), prextra.get(name), outlook.get(name)
        if theirs in (base, mine):
            merged[name] = mine
        elif mine == base:
            merged[name] = theirs
        else:
            merged[name] = theirs if winner == "outlook" else mine
            conflicts[name] = [merged[name], mine if winner == "outlook" else theirs]
    return merged, conflicts


def _apply_values(activity: Activity, values: dict) -> None:
    activity.subject, activity.location = values["subject"], values["location"]
    activity.start = datetime.fromisoformat(values["start"].replace("Z", "+00:00"))
    activity.end = datetime.fromisoformat(values["end"].replace("Z", "+00:00"))
    activity.all_day, activity.is_private = values["all_day"], values["is_private"]


def _agree(activity: Activity, outlook_values: dict, change_key: str) -> None:
    """Outlook now holds `outlook_values`: that is the agreed state; push what still differs."""
    activity.sync_agreed = outlook_values
    activity.sync_hash = sync_fingerprint(outlook_values)
    activity.outlook_change_key = change_key[:255]
    activity.needs_push = activity.compute_needs_push()


def transaction_id_of(activity: Activity) -> str:
    """The transactionId of the activity's create: the same for every retry of it, one per activity."""
    return f"prextra-{activity.pk}-{int(activity.created_at.timestamp())}"


def created_here(user: User, transaction_ids) -> dict[str, Activity]:
    """{transactionId: activity} for the activities of `user` that these transactionIds created and
    that were never linked (never agreed with Outlook): their create reached Outlook, its reply not."""
    pks = {int(match.group(1)) for txn in transaction_ids if (match := TRANSACTION_ID.match(str(txn or "")))}
    if not pks:
        return {}
    found = Activity.objects.filter(owner=user, pk__in=pks, outlook_id__isnull=True, sync_excluded=False).order_by()
    return {transaction_id_of(activity): activity for activity in found if not activity.sync_agreed}


def link_created_event(activity: Activity, event_id: str, outlook_values: dict, change_key: str, journal) -> None:
    """Link the event Prextra created for `activity` (never import it a second time): Outlook holds
    `outlook_values`; what Prextra changed since is pushed next (a deleted activity: the event too)."""
    activity.outlook_id = event_id
    _agree(activity, outlook_values, change_key)
    activity.save()
    journal.add(
        JournalEntry.Action.LINKED,
        label=activity.subject,
        outlook_id=event_id,
        reason=reason("found_by_transaction"),
        activity=activity,
    )


def merge_outlook_version(activity, data: ActivityData, change_key: str, connection, journal, label: str) -> None:
    """Three-way merge of Outlook's version into `activity`, saved; conflicts journaled with the
    losing value (restorable). Outlook's version becomes the agreed state; what Prextra keeps
    differently is pushed next. Whether it is a meeting, and whose, is taken from Outlook first
    (the pull and the push's 412 re-read alike): a meeting is then never patched, and someone
    else's takes its organizer's version."""
    outlook_values = data.sync_values()
    activity.outlook_is_meeting, activity.outlook_organizer = data.is_meeting, data.organizer
    if data.organizer:
        _apply_values(activity, outlook_values)
    merged, conflicts = merge(activity.sync_agreed or outlook_values, activity.sync_values(), outlook_values,
                              connection.conflict_winner)  # fmt: skip
    _apply_values(activity, merged)
    _agree(activity, outlook_values, change_key)
    activity.save()
    for name, (winning, losing) in conflicts.items():
        journal.add(
            JournalEntry.Action.CONFLICT,
            label=label,
            outlook_id=activity.outlook_id or "",
            reason=reason("conflict", field=name, winner=connection.conflict_winner),
            changes={name: [losing, winning]},
            activity=activity,
        )


class Pull:
    """One calendarView/delta round of one mailbox (`mailbox`: its object id), applied to the
    user's CRM calendar. Mapping still compares organizers with the user's SMTP address."""

    def __init__(self, user, state, run, client, connection, mailbox: str):
        self.user, self.state, self.run, self.client, self.connection = user, state, run, client, connection
        self.mailbox = mailbox
        self.journal = RunJournal(run)
        self.removed: list[str] = []
        self.live: set[str] = set()  # what the round last showed in the calendar
        self.seen: set[str] | None = None
        self.reconciling = False
        self.existing: dict[str, Activity] = {}
        self.ours: dict[str, Activity] = {}
        self.created: list[Activity] = []
        self.series: dict[str, tuple[str, int]] = {}  # recurring series met: master id → (label, occurrences)
        self.window = window_for(connection)

    def execute(self) -> None:
        delta_link = self.state.delta_link
        stale = self.state.window_start is None or self.state.window_start < self.window[0] - WINDOW_SLACK
        if stale or (self.state.window_end and self.state.window_end > self.window[1] + WINDOW_SLACK):
            delta_link = ""  # the window slid too far: start a new round with today's window
        link = rounds.read_round(self._consume, delta_link, self._forget_removals)
        if self.seen is None and self._reconciliation_due():
            # Public reports say a deletion sometimes never shows in calendarView/delta
            # (microsoft-graph-docs issue 11728): a full round of the window, compared with what
            # Prextra holds linked, catches it.
            self.reconciling = True
            link = self._consume("")
        self._journal_series()
        stamp = {"reconciled_at": timezone.now()} if self.seen is not None else {}
        halted = self._apply_removals()
        finish_success(
            self.state,
            self.run,
            delta_link=link,
            window_start=self.window[0],
            window_end=self.window[1],
            **stamp,
            **halted,
        )

    def _reconciliation_due(self) -> bool:
        last = self.state.reconciled_at
        return last is None or timezone.now() - last >= timedelta(seconds=settings.PREXTRA_RECONCILE_INTERVAL)

    def _forget_removals(self) -> None:
        logger.info("Calendar delta link of %s expired: full resync", self.user.code)
        self.removed = []

    def _consume(self, delta_link: str) -> str:
        self.seen = None if delta_link else set()
        pages = self.client.events_delta(self.mailbox, self.window[0], self.window[1], delta_link)
        return rounds.consume_pages(pages, lambda page: self._process_page(page.items))

    def _process_page(self, items: list) -> None:
        by_id = rounds.last_occurrence_by_id(items, self.journal)
        masters = {item.get("seriesMasterId") for item in by_id.values() if isinstance(item.get("seriesMasterId"), str)}
        wanted = list(by_id) + sorted(masters)
        # No ordering: with the default one (start), SQLite walks the owner's whole calendar instead
        # of the (owner, outlook_id) index.
        mine = Activity.objects.filter(owner=self.user).order_by()
        existing = {a.outlook_id: a for a in mine.filter(outlook_id__in=wanted)}
        decoded = {
            outlook_id: activity_from_graph(item, self.user.email, self.connection.private_events)
            for outlook_id, item in by_id.items()
            if "@removed" not in item
        }
        contacts = self._contacts_by_email(decoded.values())
        self.existing = existing
        self.ours = self._created_here(by_id, existing)
        with transaction.atomic():
            for outlook_id, item in by_id.items():
                # Only items already linked (or of a linked series, or created by Prextra) write here:
                # they get a savepoint of their own; new events are only collected, and inserted together below.
                writes = outlook_id in existing or outlook_id in self.ours or item.get("seriesMasterId") in existing
                savepoint = transaction.atomic() if writes else nullcontext()
                with rounds.one_item(self.journal, outlook_id, outlook_id=outlook_id), savepoint:
                    self._decide(outlook_id, item, decoded.get(outlook_id), existing.get(outlook_id), contacts)
            self._insert_created()
            self.journal.flush()

    def _insert_created(self) -> None:
        """The page's new activities in one INSERT; one by one, each in its savepoint, if refused."""
        created, self.created = self.created, []
        try:
            with transaction.atomic():
                bulk.insert(created)
                bulk.assign_pks(created, Activity.objects.filter(owner=self.user).order_by(), "outlook_id")
        except IntegrityError:
            for activity in created:
                activity.pk, activity._state.adding = None, True  # the refused INSERT was rolled back
                try:
                    with transaction.atomic():
                        activity.save()
                except IntegrityError as exc:
                    logger.warning("Event %s of %s refused by the database", activity.outlook_id, self.user.code)
                    self.run.created -= 1
                    self.run.failed += 1
                    self.journal.entries = [entry for entry in self.journal.entries if entry.activity is not activity]
                    self.journal.add(
                        JournalEntry.Action.FAILED, outlook_id=activity.outlook_id, reason=error_reason(exc)
                    )

    def _contacts_by_email(self, decoded) -> dict[str, int]:
        """R16: Prextra contacts of the attendees' addresses, in one query per page."""
        emails = {e.lower() for data in decoded if isinstance(data, ActivityData) for e in data.attendee_emails}
        if not emails:
            return {}
        found = {}
        for contact_id, email in (
            Contact.objects.annotate(address=Lower("email"))  # the contact_email_idx expression
            .filter(address__in=emails, is_active=True)
            .order_by("pk")
            .values_list("pk", "address")
        ):
            found.setdefault(email, contact_id)
        return found

    def _decide(self, outlook_id, item, data, activity, contacts) -> None:
        if "@removed" in item:
            self.removed.append(outlook_id)
            self.live.discard(outlook_id)
            return
        if self.seen is not None:
            self.seen.add(outlook_id)
        if isinstance(data, Cancelled):
            self.removed.append(outlook_id)
            self.live.discard(outlook_id)
            return
        self.live.add(outlook_id)
        if isinstance(data, Skip):
            master = item.get("seriesMasterId")
            # An occurrence of a series whose master we imported as a single event: unlink it.
            self._skip(outlook_id, data, activity or (self.existing.get(master) if master else None), item)
            return
        change_key = item.get("changeKey") if isinstance(item.get("changeKey"), str) else ""
        contact_id = next((contacts[e.lower()] for e in data.attendee_emails if e.lower() in contacts), None)
        ours = self.ours.get(outlook_id) if activity is None else None
        if ours is not None and ours.outlook_id is None:
            ours.outlook_is_meeting = data.is_meeting
            link_created_event(ours, outlook_id, data.sync_values(), change_key, self.journal)
        elif activity is None:
            self._create(outlook_id, data, change_key, contact_id)
        else:
            self._update(activity, data, change_key, contact_id)

    def _created_here(self, by_id: dict, existing: dict) -> dict[str, Activity]:
        """{outlook id: activity} for the page's unlinked events that Prextra created (by transactionId)."""
        txns = {item.get("transactionId"): oid for oid, item in by_id.items() if oid not in existing}
        return {txns[txn]: activity for txn, activity in created_here(self.user, txns).items()}

    def _skip(self, outlook_id: str, skip: Skip, activity: Activity | None, item: dict) -> None:
        unlink = activity is not None and activity.outlook_id and item.get("type") in RECURRING
        if self.reconciling and not unlink:
            return  # the delta round journaled it when it changed; a reconciliation writes nothing
        master = item.get("seriesMasterId")
        if skip.code == "recurring" and not unlink:
            # One line per series, not per occurrence (`_journal_series`).
            series = master if isinstance(master, str) and master else outlook_id
            label, count = self.series.get(series, (skip.label, 0))
            self.series[series] = (label, count + (series != outlook_id))
            return
        if unlink:
            # An imported single event became a series: unlink it, never duplicate it (R13).
            self.run.skipped += 1
            former_id = activity.outlook_id
            activity.outlook_id, activity.sync_excluded = None, True
            activity.save()
            self.journal.add(
                JournalEntry.Action.UNLINKED,
                label=activity.subject,
                outlook_id=former_id,
                reason=reason("became_recurring"),
                activity=activity,
            )
            return
        self.journal.skip(label=skip.label, outlook_id=outlook_id, reason=skip.reason)

    def _journal_series(self) -> None:
        """One skip per recurring series the round met (R13), with its occurrences in the window;
        the series' id is the master's, so a later round that meets it again repeats nothing."""
        for series, (label, count) in sorted(self.series.items()):
            self.journal.skip(label=label, outlook_id=series, reason=reason("recurring_series", count=count))
        self.series = {}
        self.journal.flush()

    def _create(self, outlook_id: str, data: ActivityData, change_key: str, contact_id) -> None:
        activity = Activity(
            owner=self.user,
            contact_id=contact_id,
            source=Activity.Source.OUTLOOK,
            outlook_id=outlook_id,
            outlook_is_meeting=data.is_meeting,
            outlook_organizer=data.organizer,
            **_values_kwargs(data),
        )
        _agree(activity, data.sync_values(), change_key)  # sets needs_push, as Activity.save would
        self.created.append(activity)  # inserted with the rest of the page (_insert_created)
        self.run.created += 1
        why = reason("imported_private" if data.is_private else "imported_public")  # R15: public unless private
        self.journal.add(
            JournalEntry.Action.CREATED, label=data.label, outlook_id=outlook_id, reason=why, activity=activity
        )
        self._journal_truncation(data, activity)

    def _update(self, activity: Activity, data: ActivityData, change_key: str, contact_id) -> None:
        outlook_values = data.sync_values()
        if activity.is_deleted:
            # Deleted in Prextra, edited in Outlook: the deletion wins (nothing deleted comes
            # back); the push sends it to Outlook with the new change key.
            Activity.objects.filter(pk=activity.pk).update(outlook_change_key=change_key[:255])
            self.journal.add(
                JournalEntry.Action.SKIPPED,
                label=data.label,
                outlook_id=activity.outlook_id,
                reason=reason("deleted_in_prextra"),
                activity=activity,
            )
            return
        if sync_fingerprint(outlook_values) == activity.sync_hash:
            seen = {"outlook_is_meeting": data.is_meeting, "outlook_organizer": data.organizer}
            if change_key and change_key != activity.outlook_change_key:
                seen["outlook_change_key"] = change_key[:255]
            if any(getattr(activity, name) != value for name, value in seen.items()):
                # A meeting's organizer or attendees are kept even when no synchronized field moved.
                Activity.objects.filter(pk=activity.pk).update(**seen)
            return  # our own write seen again, or an Outlook change of fields we do not sync
        before = activity.sync_values()
        if contact_id and activity.contact_id is None:
            activity.contact_id = contact_id
        merge_outlook_version(activity, data, change_key, self.connection, self.journal, data.label)
        after = activity.sync_values()
        self.run.updated += 1
        self.journal.add(
            JournalEntry.Action.UPDATED,
            label=data.label,
            outlook_id=activity.outlook_id,
            reason=reason("modified"),
            changes={name: [before[name], after[name]] for name in FIELDS if before[name] != after[name]},
            activity=activity,
        )
        self._journal_truncation(data, activity)

    def _journal_truncation(self, data: ActivityData, activity: Activity) -> None:
        if data.truncated:
            self.journal.add(
                JournalEntry.Action.TRUNCATED,
                label=data.label,
                outlook_id=activity.outlook_id or "",
                reason=reason("truncated", fields=list(data.truncated)),
                activity=activity,
            )

    def _apply_removals(self) -> dict:
        """Soft-delete what left Outlook's calendar or was cancelled there, judged event by event
        (`_really_gone`); an @removed the round later contradicted is ignored. Mass deletions wait
        for an administrator."""
        linked = Activity.objects.filter(owner=self.user, outlook_id__isnull=False, is_deleted=False)
        in_window = dict(linked.overlapping(*self.window).values_list("outlook_id", "pk"))
        candidates = {outlook_id for outlook_id in self.removed if outlook_id in in_window} - self.live
        if self.seen is not None:
            candidates |= set(in_window) - self.seen
        gone = [in_window[outlook_id] for outlook_id in sorted(candidates) if self._really_gone(outlook_id)]
        self.journal.flush()
        held = rounds.brake(
            self.run,
            gone,
            len(in_window),
            "brake_activities",
        )
        if not held:
            self.run.deleted += soft_delete_activities(gone, self.run)
        return held

    def _really_gone(self, outlook_id: str) -> bool:
        """Whether an event the view dropped has left Outlook's calendar, decided from the event.

        A GET that answers 200 proves nothing: a deleted event sits in Deleted Items with its
        immutable id (event-delete, event-permanentdelete; docs/graph-notes.md §11). So: 404 or cancelled
        → gone; a single event whose own times still overlap the window has left the calendar
        (deleted, or moved to another calendar) → gone; one whose times are now outside the window
        was rescheduled there (event-delta reports it @removed) → its new times are merged, kept.
        An event that became a series is unlinked (R13)."""
        try:
            event = self.client.get_event(self.mailbox, outlook_id)
        except errors.ItemNotFoundError:
            return True
        data = activity_from_graph(event, self.user.email, self.connection.private_events)
        if isinstance(data, Cancelled):
            return True
        activity = Activity.objects.filter(owner=self.user, outlook_id=outlook_id).first()
        if isinstance(data, Skip):
            if activity is not None:
                self._skip(outlook_id, data, activity, event)
            return False
        if data.start < self.window[1] and data.end > self.window[0]:  # as Activity.overlapping
            return True
        if activity is not None:
            change_key = event.get("changeKey") if isinstance(event.get("changeKey"), str) else ""
            with transaction.atomic():
                self._update(activity, data, change_key, None)
        return False


def _values_kwargs(data: ActivityData) -> dict:
    return {
        "subject": data.subject,
        "location": data.location,
        "start": data.start,
        "end": data.end,
        "all_day": data.all_day,
        "is_private": data.is_private,
    }


def soft_delete_activities(pks: list[int], run: SyncRun | None, user_id: int | None = None) -> int:
    """Remove these activities from the calendars, recoverably; they are unlinked from Outlook."""
    activities = list(Activity.objects.filter(pk__in=pks, is_deleted=False))
    now = timezone.now()
    entries = []
    for activity in activities:
        entries.append(
            JournalEntry(
                run=run,
                user_id=user_id or activity.owner_id,
                direction=Direction.ACTIVITIES_IN,
                action=JournalEntry.Action.DELETED,
                item_label=activity.subject[:255],
                outlook_id=activity.outlook_id or "",
                reasons=[reason("removed_in_outlook")],
                activity=activity,
            )
        )
        activity.is_deleted, activity.deleted_at, activity.outlook_id = True, now, None
        activity.save()
    JournalEntry.objects.bulk_create(entries)
    return len(activities)


def nothing_to_push(activity: Activity) -> bool:
    """A deletion of what Outlook never had, or an activity excluded from the sync (R13)."""
    return bool(activity.is_deleted and not activity.outlook_id or activity.sync_excluded)


def is_meeting_of_outlook(activity: Activity) -> bool:
    """Someone else's meeting belongs to its organizer; one's own with attendees would mail them:
    neither is sent from Prextra."""
    return bool(activity.outlook_organizer or activity.outlook_is_meeting)


def in_push_window(activity: Activity, window: tuple[datetime, datetime]) -> bool:
    """Outside the synchronized window, a new activity stays pending until it enters it (sync.window)."""
    return bool(activity.outlook_id) or overlaps_window(activity.start, activity.end, window)


def outside_window_reason(day: date | None) -> dict:
    """The journal's reason for an activity held outside the synchronized window: sent on `day`,
    or (None) never, having ended before the window."""
    if day is None:
        return reason("behind_window")
    return reason("outside_window", day=day.isoformat())


def will_push(activity: Activity, window: tuple[datetime, datetime]) -> bool:
    """Whether the next push sends `activity` (needs_push set): the rules of Push._prepare."""
    return (
        activity.needs_push
        and not nothing_to_push(activity)
        and not is_meeting_of_outlook(activity)
        and in_push_window(activity, window)
    )


def held_outside_window(activities, now: datetime | None = None) -> dict[int, date | None]:
    """Which of these activities Outlook does not hold yet (crm.signals.Unsent) the push keeps back
    because they lie outside the synchronized window: {pk: the local day it enters the window and
    is sent, or None: it ended before the window and never will be}. Only for owners whose
    activities are sent (runs.sync_refusal's rule, asked of every owner in one query, as
    scheduling.due_syncs does); nothing for the others, which nothing is sent for."""
    connection = GraphConnection.current() if activities else None
    if connection is None:
        return {}
    now = now or timezone.now()
    window, today = window_for(connection, now), timezone.localdate(now)
    outside = [activity for activity in activities if not overlaps_window(activity.start, activity.end, window)]
    if not outside:
        return {}
    owners = {activity.owner_id for activity in outside}
    switched_on = {LANES[Direction.ACTIVITIES_OUT].switch: True}
    profiles = ExchangeProfile.objects.filter(user__in=User.objects.synchronizable(), user_id__in=owners, **switched_on)
    sending = set(profiles.values_list("user_id", flat=True))
    return {
        activity.pk: enters_window_on(activity.start, activity.end, connection, today)
        for activity in outside
        if activity.owner_id in sending
    }


class Push:
    """Send the user's changed activities to Outlook in batches of 20 (to `mailbox`, its object id)."""

    def __init__(self, user, state, run, client, connection, mailbox: str):
        self.user, self.state, self.run, self.client, self.connection = user, state, run, client, connection
        self.journal = RunJournal(run)
        now = timezone.now()
        self.window, self.today = window_for(connection, now), timezone.localdate(now)
        self.mailbox = mailbox
        self.base = f"{GraphClient.mailbox_path(mailbox)}/events"
        self.held: list[Activity] = []  # outside the window: pending until they enter it

    def execute(self) -> None:
        pending = list(
            Activity.objects.filter(owner=self.user, needs_push=True).select_related("contact").order_by("pk")
        )
        work = [activity for activity in pending if self._prepare(activity)]
        self._journal_held()
        for start in range(0, len(work), BATCH_LIMIT):
            self._send(work[start : start + BATCH_LIMIT])
        self.journal.flush()  # what _prepare journaled when nothing was sent
        finish_success(self.state, self.run)

    def _prepare(self, activity: Activity) -> bool:
        """Whether the activity needs a Graph request; settle the ones that do not."""
        if nothing_to_push(activity):
            Activity.objects.filter(pk=activity.pk).update(needs_push=False)
            return False
        if is_meeting_of_outlook(activity):
            # Someone else's meeting belongs to its organizer; one's own with attendees would mail
            # them: neither is patched nor deleted from Prextra.
            Activity.objects.filter(pk=activity.pk).update(needs_push=False)
            self.run.skipped += 1
            self.journal.add(
                JournalEntry.Action.SKIPPED,
                label=activity.subject,
                outlook_id=activity.outlook_id or "",
                reason=reason("received_meeting", organizer=activity.outlook_organizer)
                if activity.outlook_organizer
                else reason("meeting_with_attendees"),
                activity=activity,
            )
            return False
        if not in_push_window(activity, self.window):
            self.held.append(activity)
            return False
        return True

    def _journal_held(self) -> None:
        """Say once why an activity outside the window is not sent: the first round that holds it
        since it was last saved (created, moved) journals when it will be, the next ones nothing.
        One query for all of them, none when there are none."""
        if not self.held:
            return
        said = dict(
            JournalEntry.objects.filter(
                activity__in=self.held, direction=Direction.ACTIVITIES_OUT, action=JournalEntry.Action.SKIPPED
            )
            .order_by()
            .values("activity_id")
            .annotate(last=Max("at"))
            .values_list("activity_id", "last")
        )
        for activity in self.held:
            if activity.pk in said and said[activity.pk] >= activity.updated_at:
                continue
            self.run.skipped += 1
            # Held, so either behind the window (never sent) or ahead of it (sent on that day).
            day = enters_window_on(activity.start, activity.end, self.connection, self.today)
            self._log(JournalEntry.Action.SKIPPED, activity, outside_window_reason(day))

    def _request(self, activity: Activity) -> dict:
        request_id = str(activity.pk)
        if activity.is_deleted:
            return {"id": request_id, "method": "DELETE", "url": f"{self.base}/{quote(activity.outlook_id, safe='')}"}
        headers = {"Content-Type": "application/json", "Prefer": 'IdType="ImmutableId", outlook.timezone="UTC"'}
        if activity.outlook_id:
            # Only what changed since the agreed state: the rest may hold the user's Outlook choices.
            body = activity_patch(activity.sync_agreed or {}, activity.sync_values())
            if activity.outlook_change_key:
                headers["If-Match"] = f'W/"{activity.outlook_change_key}"'
            url = f"{self.base}/{quote(activity.outlook_id, safe='')}"
            return {"id": request_id, "method": "PATCH", "url": url, "headers": headers, "body": body}
        body = activity_to_graph(activity.sync_values(), activity.contact.full_name if activity.contact else "")
        body["transactionId"] = transaction_id_of(activity)
        body["singleValueExtendedProperties"] = [{"id": TRANSACTION_PROPERTY, "value": body["transactionId"]}]
        return {"id": request_id, "method": "POST", "url": self.base, "headers": headers, "body": body}

    def _send(self, activities: list[Activity]) -> None:
        requests_ = {str(activity.pk): self._request(activity) for activity in activities}
        responses = self.client.batch(list(requests_.values()))
        self._raise_for_mailbox(responses)
        for activity in activities:
            response = responses.get(str(activity.pk), {})
            # One savepoint per item: a failure undoes its own writes, never the other items'
            # results (their events exist in Outlook now, whatever happens to this one).
            guard = rounds.one_item(self.journal, f"activity {activity.pk}", label=activity.subject, undo=True)
            with guard, transaction.atomic():
                self._settle(activity, requests_[str(activity.pk)]["method"], response)
        # Written with each batch: a later batch that fails the run (a long Retry-After, an unknown
        # mailbox) must not lose the journal of the events this one already wrote in Outlook.
        self.journal.flush()
        self.client.check_hold()  # an item throttled for longer than the client waits defers the run

    def _raise_for_mailbox(self, responses: dict[str, dict]) -> None:
        """An answer about the mailbox rather than the item fails the run, in words, before any
        item is settled: an unknown user's 404 must not read as "deleted in Outlook", and a
        missing Calendars.ReadWrite must not be retried item by item on every run."""
        for response in responses.values():
            body = response.get("body") if isinstance(response.get("body"), dict) else {}
            error = body.get("error") if isinstance(body.get("error"), dict) else {}
            status = response.get("status")
            if not isinstance(status, int) or status < 400:
                continue
            failure = errors.from_response(status, str(error.get("code", "")), str(error.get("message", "")))
            failure = self.client.explained(failure, self.base)
            if isinstance(failure, errors.MailboxNotFoundError | MissingPermissionError):
                raise failure

    def _settle(self, activity: Activity, method: str, response: dict) -> None:
        status = response.get("status")
        body = response.get("body") if isinstance(response.get("body"), dict) else {}
        error = body.get("error") if isinstance(body.get("error"), dict) else {}
        if method == "DELETE" and status in {204, 404, 410}:  # 404, 410: already gone
            Activity.objects.filter(pk=activity.pk).update(outlook_id=None, needs_push=False, sync_hash="")
            self.run.deleted += 1
            self._log(JournalEntry.Action.DELETED, activity, _("Supprimé dans Outlook."))
        elif status in {200, 201} and isinstance(body.get("id"), str):
            values = activity.sync_values()
            Activity.objects.filter(pk=activity.pk).update(
                outlook_id=body["id"],
                outlook_change_key=str(body.get("changeKey", ""))[:255],
                sync_agreed=values,
                sync_hash=sync_fingerprint(values),
                needs_push=False,
            )
            created = method == "POST"
            self.run.created += created
            self.run.updated += not created
            action = JournalEntry.Action.CREATED if created else JournalEntry.Action.UPDATED
            self._log(action, activity, _("Envoyé à Outlook (sans participants)."))
        elif status == 404:
            # Gone from Outlook while changed in Prextra: deleted there, so removed here too.
            persist(self.run)  # its journal entry is written at once, with the run it belongs to
            soft_delete_activities([activity.pk], self.run, self.user.pk)
        elif status == 412 and activity.outlook_id:
            self._refresh_after_conflict(activity)
        elif method == "POST" and status == 400 and error.get("code") == "ErrorDuplicateTransactionId":
            self._link_earlier_create(activity)
        else:
            self._refused(activity, method, status, error)

    def _refused(self, activity: Activity, method: str, status, error: dict) -> None:
        """A refusal that may pass is sent again on the next run; a permanent one is journaled once and
        not sent again until the activity changes (its next save marks it to push)."""
        self.run.failed += 1
        values = {"status": status, "code": error.get("code", ""), "message": str(error.get("message", ""))[:300]}
        if status is None or not isinstance(status, int) or status >= 500 or status in TRANSIENT_ITEM_STATUSES:
            self._log(JournalEntry.Action.FAILED, activity, reason("outlook_refused_retry", **values))
            return
        Activity.objects.filter(pk=activity.pk).update(needs_push=False)
        code = "outlook_refused_delete" if method == "DELETE" else "outlook_refused"
        self._log(JournalEntry.Action.FAILED, activity, reason(code, **values))

    def _link_earlier_create(self, activity: Activity) -> None:
        """400 ErrorDuplicateTransactionId: an earlier create of this activity reached Outlook (its reply
        was lost) with values it has changed since. Find that event by the extended property it carries
        and link it; what differs is patched on the next run."""
        txn = transaction_id_of(activity)
        found = self.client.find_events_by_property(self.mailbox, TRANSACTION_PROPERTY, txn)
        event = next((event for event in found if isinstance(event.get("id"), str)), None)
        data = activity_from_graph(event, self.user.email, self.connection.private_events) if event else None
        if not isinstance(data, ActivityData):
            # Not found (an event created before the property was set): the pull links it by its
            # transactionId when it sees it; until the activity changes, it is not sent again.
            self._refused(activity, "POST", 400, {"code": "ErrorDuplicateTransactionId", "message": txn})
            return
        activity.outlook_is_meeting = data.is_meeting
        link_created_event(activity, event["id"], data.sync_values(), str(event.get("changeKey", "")), self.journal)

    def _refresh_after_conflict(self, activity: Activity) -> None:
        """412: Outlook changed the event since we read it. Merge its version now; the merged
        result is sent on the next run (with the new change key)."""
        event = self.client.get_event(self.mailbox, activity.outlook_id)
        data = activity_from_graph(event, self.user.email, self.connection.private_events)
        if not isinstance(data, ActivityData):
            return
        change_key = str(event.get("changeKey", ""))
        merge_outlook_version(activity, data, change_key, self.connection, self.journal, activity.subject)

    def _log(self, action: str, activity: Activity, why: dict) -> None:
        self.journal.add(
            action,
            label=activity_label(activity.subject, activity.start),
            outlook_id=activity.outlook_id or "",
            reason=why,
            activity=activity,
        )


def confirm_pending_activity_deletions(state: SyncState) -> int:
    count = soft_delete_activities(list(state.pending_deletions), None, state.user_id)
    rounds.release_brake(state)
    return count


def restore_losing_value(entry: JournalEntry) -> Activity:
    """Put back the value a conflict discarded; the change then syncs like any Prextra edit."""
    activity = entry.activity
    (name, (losing, _winning)), *_rest = entry.changes.items()
    values = activity.sync_values()
    values[name] = losing
    _apply_values(activity, values)
    activity.save()
    return activity
