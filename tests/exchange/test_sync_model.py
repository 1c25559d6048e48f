"""Model-based test of the synchronization (vdirsyncer's approach, with Hypothesis).

Random creates, edits and deletes on both sides, sync runs of each direction, switches toggled
and faults injected — through the real sync functions, the real database and the Graph
emulator over HTTPS. When the faults stop and two quiet syncs have run, the invariants of
docs/reliability-notes.md §2.5 must hold:

Outlook deletions go to Deleted Items (their ids still answer) or are purged (permanentDelete).

I1 the sides agree under the rules; I2 the Outlook ↔ Prextra mapping is one-to-one; I3 no edit
is lost except a conflict loss recorded in the journal; I4 no deleted item comes back; I5 a
quiet sync writes nothing; I6 contacts never cause a Graph write and a switched-off direction
never writes; I7 a side that suddenly empties is not mirrored without confirmation; I8 nothing
from this mailbox lands in another user's data; I9 Prextra never writes to a meeting someone else
organized (received one-to-one or with hidden attendees), even when changed in Prextra behind
the screens' back.

A second machine (SharedAddressMachine) runs two mailboxes whose contacts share a small pool of
addresses, with a contact entered in Prextra now and then: after every sync, one active contact
per address; each Outlook contact of a mailbox that synced cleanly has one link, to the active
contact of its address; a contact is active iff a mailbox links it or it was entered in Prextra;
nothing of other users changes.

A third machine (NotifiedSyncMachine) is the first with change notifications: its mailbox is
subscribed, the emulator posts every change to an HTTPS receiver, and the machine delivers those
notifications to the product's endpoint logic in order, reversed, with one dropped or one doubled,
late (held back, delivered after later syncs) or forged; the syncs they queue run as the worker
would. Delta stays the source of truth: the same invariants hold at the end, and delivering every
notification ever sent once more, after convergence, queues syncs that change nothing (I5).

`PREXTRA_MODEL_EXAMPLES` sets the number of examples (300 by default, half of it for the second
machine, a sixth for the third; the documented deep run used 10,000).
"""

from __future__ import annotations

import contextlib
import json
import os
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from unittest import mock

import pytest
from django.core.cache import cache
from django.db.models import Count
from django.test import override_settings
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, consumes, initialize, precondition, rule

from accounts.models import ExchangeProfile, User
from crm.models import EXCHANGE_GROUP_CODE, Activity, Contact, ContactGroup, OutlookContact
from exchange import notifications, subscriptions, tasks
from exchange.graph.client import GraphClient, GraphSettings
from exchange.models import GraphConnection, JournalEntry, Subscription, SyncRun, SyncState
from exchange.sync.activities import (
    TRANSACTION_PROPERTY,
    confirm_pending_activity_deletions,
    sync_activities,
    transaction_id_of,
)
from exchange.sync.contacts import confirm_pending_deletions, sync_contacts
from graph_emulator import tls
from graph_emulator.errors import GraphError
from tests.graph_emulator.receiver import Receiver

EXAMPLES = int(os.environ.get("PREXTRA_MODEL_EXAMPLES", "300"))
FAULTS = [
    ("throttle", {"retry_after": 1}),
    ("unavailable", {}),
    ("gateway_timeout", {}),
    ("drop", {}),
    ("revoke_tokens", {}),
    ("delta_replay", {}),
    ("delta_duplicate", {}),
    ("delta_empty_page", {}),
    ("timeout_after_write", {"method": "POST"}),
    ("error", {"status": 412, "code": "ErrorIrresolvableConflict", "method": "POST", "in_batch": True}),
    ("error", {"status": 404, "code": "ErrorItemNotFound", "path": "delta"}),
    ("expire", {}),
    ("delta_lose_removed", {"path": "calendarView"}),
    ("lost_create", {}),
    ("error", {"status": 403, "code": "ErrorAccessDenied", "method": "DELETE", "in_batch": True}),
    ("error", {"status": 400, "code": "ErrorInvalidRequest", "method": "PATCH", "in_batch": True}),
]
SUBJECTS = st.sampled_from(["Rencontre", "Appel", "Visite", "Suivi", "Dîner", "Démo", "Salon", "Revue"])
NAMES = st.sampled_from(["Roy", "Côté", "Gagnon", "Tremblay", "Lavoie", "Bouchard", "Pelletier"])


def _when(day: int, hour: int) -> tuple[str, str]:
    start = datetime(2026, 12, 1, tzinfo=UTC) + timedelta(days=day, hours=hour)
    return start.strftime("%Y-%m-%dT%H:%M:%S"), (start + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S")


class SyncMachine(RuleBasedStateMachine):
    emulator = None  # set by the test

    contacts = Bundle("contacts")
    folders = Bundle("folders")
    events = Bundle("events")
    activities = Bundle("activities")
    meetings = Bundle("meetings")

    @initialize()
    def setup(self):
        self.address = f"m{uuid.uuid4().hex[:10]}@prextra-demo.ca"
        self.emulator.add_mailbox(self.address)
        self.user = User.objects.create_user(f"M{uuid.uuid4().hex[:8]}".upper(), "x", name="Modèle", email=self.address)
        self.profile = ExchangeProfile.objects.create(
            user=self.user, sync_contacts_in=True, sync_activities_in=True, sync_activities_out=True
        )
        self.client = GraphClient(GraphSettings.from_connection(GraphConnection.current()), sleep=lambda seconds: None)
        self.others = (Contact.objects.exclude(representative=self.user).count(),
                       Activity.objects.exclude(owner=self.user).count())  # fmt: skip
        self.log_start = len(self.emulator.requests_log())
        self.deleted_outlook_events: set[str] = set()
        self.deleted_activities: set[int] = set()
        self.received: set[str] = set()  # meetings someone else organized
        self.tampered: set[str] = set()  # … that Prextra changed anyway (never sent)
        self.serial = 0

    @property
    def mailbox(self):
        return self.emulator.mailbox(self.address)

    # --- Outlook side ---------------------------------------------------------------------
    @rule(target=contacts, name=NAMES, valid=st.booleans())
    def outlook_adds_contact(self, name, valid):
        self.serial += 1
        payload = {"givenName": "Luc" if valid else "", "surname": name,
                   "emailAddresses": [{"address": f"c{self.serial}.{self.user.code.lower()}@finloc.com"}]}  # fmt: skip
        return self.emulator.store.create_contact(self.mailbox, payload)["graph"]["id"]

    @rule(contact=contacts, title=SUBJECTS)
    def outlook_edits_contact(self, contact, title):
        if contact in self.mailbox.contacts:
            self.emulator.store.update_contact(self.mailbox, contact, {"jobTitle": title})

    @rule(contact=consumes(contacts))
    def outlook_deletes_contact(self, contact):
        if contact in self.mailbox.contacts:
            self.emulator.store.delete_contact(self.mailbox, contact)

    @rule(target=folders, name=NAMES, where=st.sampled_from(["in Contacts", "beside Contacts", "nested"]))
    def outlook_creates_folder(self, name, where):
        self.serial += 1
        mailbox = self.mailbox
        nested = [f for f in mailbox.folders if f != mailbox.default_folder_id]
        parent = {"in Contacts": None, "beside Contacts": mailbox.root_folder_id}.get(where)
        if where == "nested" and nested:
            parent = nested[-1]
        return self.emulator.store.create_folder(mailbox, f"{name} {self.serial}", parent)["id"]

    @rule(contact=contacts, which=st.integers(0, 7), fresh=st.booleans())
    def outlook_moves_contact_to_folder(self, contact, which, fresh):
        """A move between folders (to a new folder, or any existing one, Contacts included) keeps
        the id: the same Prextra contact, never a deactivation nor a duplicate."""
        mailbox = self.mailbox
        if contact not in mailbox.contacts:
            return
        known = list(mailbox.folders)
        if fresh:
            self.serial += 1
            parent = known[which % len(known)] if which % 2 else mailbox.root_folder_id
            known.append(self.emulator.store.create_folder(mailbox, f"Dossier {self.serial}", parent)["id"])
        target = known[-1] if fresh else known[which % len(known)]
        self.emulator.store.move_contact(mailbox, contact, target)

    @rule(folder=consumes(folders))
    def outlook_deletes_folder(self, folder):
        if folder in self.mailbox.folders:
            self.emulator.store.delete_folder(self.mailbox, folder)

    @rule(target=events, subject=SUBJECTS, day=st.integers(0, 20), hour=st.integers(8, 17))
    def outlook_adds_event(self, subject, day, hour):
        start, end = _when(day, hour)
        payload = {"subject": subject, "start": {"dateTime": start, "timeZone": "UTC"},
                   "end": {"dateTime": end, "timeZone": "UTC"}}  # fmt: skip
        return self.emulator.store.create_event(self.mailbox, payload)[0]["id"]

    @rule(event=events, subject=SUBJECTS)
    def outlook_edits_event(self, event, subject):
        if event in self.mailbox.events:
            self.emulator.store.update_event(self.mailbox, event, {"subject": subject})

    @rule(event=events)
    def outlook_deletes_event(self, event):
        # As in Outlook: to Deleted Items, where its id still answers; deleting it there purges it.
        if event in self.mailbox.events or event in self.mailbox.deleted_events:
            self.emulator.store.delete_event(self.mailbox, event)
            self.deleted_outlook_events.add(event)

    @rule(event=consumes(events))
    def outlook_purges_event(self, event):
        # permanentDelete: the event leaves the mailbox (a GET is then 404).
        if event in self.mailbox.events or event in self.mailbox.deleted_events:
            self.emulator.store.purge_event(self.mailbox, event)
            self.deleted_outlook_events.add(event)

    @rule(target=meetings, subject=SUBJECTS, day=st.integers(0, 20), hour=st.integers(8, 17), hidden=st.booleans())
    def outlook_receives_a_meeting(self, subject, day, hour, hidden):
        """An invitation from another organizer: one-to-one, or with its attendees hidden."""
        start, end = _when(day, hour)
        payload = {"subject": subject, "start": {"dateTime": start, "timeZone": "UTC"},
                   "end": {"dateTime": end, "timeZone": "UTC"}}  # fmt: skip
        if hidden:
            payload.update(hideAttendees=True, attendees=[{"emailAddress": {"address": "luc.roy@finloc.com"}}])
        organizer = {"name": "Julie Fortin", "address": "julie.fortin@finloc.com"}
        meeting = self.emulator.store.receive_meeting(self.mailbox, payload, organizer)["id"]
        self.received.add(meeting)
        return meeting

    @rule(meeting=meetings, subject=SUBJECTS, hours=st.integers(-3, 3))
    def organizer_changes_the_meeting(self, meeting, subject, hours):
        if meeting in self.mailbox.events:
            record = self.mailbox.events[meeting]
            start, end = (record[name] + timedelta(hours=hours) for name in ("start", "end"))
            times = {name: {"dateTime": value.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"}
                     for name, value in (("start", start), ("end", end))}  # fmt: skip
            self.emulator.store.update_event(self.mailbox, meeting, {"subject": subject, **times})

    @rule(meeting=consumes(meetings))
    def organizer_cancels_the_meeting(self, meeting):
        if meeting in self.mailbox.events:
            self.emulator.store.delete_event(self.mailbox, meeting)
            self.deleted_outlook_events.add(meeting)

    @rule(meeting=meetings, subject=SUBJECTS, delete=st.booleans())
    def prextra_changes_a_received_meeting(self, meeting, subject, delete):
        """Through the ORM (an admin, a shell): the screens refuse it; the push must still not write.
        A meeting not imported yet is synchronized first, so that this path is drawn often."""
        mine = Activity.objects.filter(owner=self.user, outlook_id=meeting, is_deleted=False)
        if not mine.exists() and meeting in self.mailbox.events:
            sync_activities(self.user, client=self.client)
        found = mine.first()
        if found is None:
            return
        self.tampered.add(meeting)
        if delete:
            found.is_deleted, found.deleted_at = True, datetime.now(UTC)
            self.deleted_activities.add(found.pk)
        else:
            found.subject = f"{subject} (Prextra)"
        found.save()

    # --- Prextra side ---------------------------------------------------------------------
    @rule(target=activities, subject=SUBJECTS, day=st.integers(0, 20), hour=st.integers(8, 17))
    def prextra_adds_activity(self, subject, day, hour):
        start = datetime.fromisoformat(_when(day, hour)[0]).replace(tzinfo=UTC)
        activity = Activity.objects.create(
            owner=self.user, subject=subject, start=start, end=start + timedelta(hours=1)
        )
        return activity.pk

    @rule(target=activities, subject=SUBJECTS, earlier=SUBJECTS, day=st.integers(0, 20), hour=st.integers(8, 17))
    def prextra_adds_activity_whose_create_reply_was_lost(self, subject, earlier, day, hour):
        """A create reached Outlook with earlier values and its reply was lost: the pull must link the
        event by its transactionId, and a push repeating the create gets 400
        ErrorDuplicateTransactionId and must find and link it (never a second event)."""
        activity = Activity.objects.get(pk=self.prextra_adds_activity(subject, day, hour))
        txn = transaction_id_of(activity)
        start, end = (moment.strftime("%Y-%m-%dT%H:%M:%S") for moment in (activity.start, activity.end))
        payload = {"subject": earlier, "start": {"dateTime": start, "timeZone": "UTC"},
                   "end": {"dateTime": end, "timeZone": "UTC"}, "transactionId": txn,
                   "singleValueExtendedProperties": [{"id": TRANSACTION_PROPERTY, "value": txn}]}  # fmt: skip
        self.emulator.store.create_event(self.mailbox, payload)
        return activity.pk

    @rule(activity=activities, subject=SUBJECTS)
    def prextra_edits_activity(self, activity, subject):
        found = Activity.objects.filter(pk=activity, is_deleted=False).first()
        if found is not None:
            found.subject = subject
            found.save()

    @rule(activity=consumes(activities))
    def prextra_deletes_activity(self, activity):
        found = Activity.objects.filter(pk=activity, is_deleted=False).first()
        if found is not None:
            found.is_deleted, found.deleted_at = True, datetime.now(UTC)
            found.save()
            self.deleted_activities.add(activity)

    # --- the sync, switches and faults ----------------------------------------------------
    @rule()
    def sync_the_contacts(self):
        sync_contacts(self.user, client=self.client)

    @rule()
    def sync_the_activities(self):
        sync_activities(self.user, client=self.client)

    @rule()
    def push_without_a_pull(self):
        """A push with no pull before it (the pull switched off): a create repeated with other values
        than an earlier one that reached Outlook meets 400 ErrorDuplicateTransactionId."""
        pull = self.profile.sync_activities_in
        self.profile.sync_activities_in = False
        self.profile.save()
        sync_activities(self.user, client=self.client)
        self.profile.sync_activities_in = pull
        self.profile.save()

    @rule(switch=st.sampled_from(["sync_contacts_in", "sync_activities_in", "sync_activities_out"]))
    def toggle_a_switch(self, switch):
        setattr(self.profile, switch, not getattr(self.profile, switch))
        self.profile.save()
        if not self.profile.sync_activities_out:
            self._outlook_writes_while_push_off = len(self.emulator.requests_log())

    @precondition(lambda self: not self.emulator.faults.listing())
    @rule(fault=st.sampled_from(FAULTS))
    def inject_a_fault(self, fault):
        kind, options = fault
        if kind == "expire":
            self.emulator.expire_delta_tokens()
        elif kind == "lost_create":
            # A batch (of creates, say) is applied but its reply is lost, and every retry fails: the
            # run ends in error with events in Outlook that Prextra does not know it created.
            self.emulator.inject_fault("timeout_after_write", method="POST", path=r"\$batch", count=1, seconds=0.05)
            retries = self.client.settings.max_retries
            self.emulator.inject_fault("unavailable", method="POST", path=r"\$batch", count=retries)
        else:
            self.emulator.inject_fault(kind, **{"count": 1, **options})

    # --- the end: faults stop, two quiet syncs, then the invariants ------------------------
    def teardown(self):
        self.emulator.clear_faults()
        for switch in ("sync_contacts_in", "sync_activities_in", "sync_activities_out"):
            setattr(self.profile, switch, True)
        self.profile.save()
        # reconciled_at: the periodic full round comes (it catches a removal that delta lost:
        # microsoft-graph-docs issue 11728).
        SyncState.objects.filter(user=self.user).update(not_before=None, failed_attempts=0, reconciled_at=None)
        for _round in range(2):
            self._sync_all()
        self._check_invariants()

    def _sync_all(self):
        sync_contacts(self.user, client=self.client)
        sync_activities(self.user, client=self.client)
        for state in SyncState.objects.filter(user=self.user, pending_confirmation=True):
            # I7: the brake held a mass deletion; an administrator confirms it here.
            if state.direction == "contacts_in":
                confirm_pending_deletions(state)
            else:
                confirm_pending_activity_deletions(state)
            self._sync_all()

    def _check_invariants(self):
        outlook_contacts = {cid for cid, record in self.mailbox.contacts.items() if record["graph"].get("givenName")}
        active = list(
            OutlookContact.objects.filter(mailbox=self.user, contact__is_active=True).values_list(
                "outlook_id", flat=True
            )
        )
        assert set(active) == outlook_contacts  # I1 contacts: every Outlook item links an active contact
        assert len(active) == len(set(active))  # I2
        addresses = [email.lower() for email in Contact.objects.filter(is_active=True).values_list("email", flat=True)]
        assert len(addresses) == len(set(addresses))  # I2: one active contact per address
        events = dict(self.mailbox.events.items())
        alive = list(Activity.objects.filter(owner=self.user, is_deleted=False, sync_excluded=False))
        linked = [activity.outlook_id for activity in alive]
        # A deletion Outlook refused for good (403): both sides keep what they hold, still linked.
        kept = set(
            Activity.objects.filter(
                owner=self.user, is_deleted=True, outlook_id__isnull=False, needs_push=False
            ).values_list("outlook_id", flat=True)
        )
        assert None not in linked, "an alive activity was never pushed"  # I1
        deleted_in_prextra = set(
            Activity.objects.filter(owner=self.user, is_deleted=True, outlook_id__in=self.tampered).values_list(
                "outlook_id", flat=True
            )
        )  # someone else's meetings deleted in Prextra stay in Outlook (I9)
        kept -= deleted_in_prextra  # what is left: deletions Outlook refused
        assert len(linked) == len(set(linked)) and set(linked) == set(events) - kept - deleted_in_prextra  # I1, I2
        refused = {entry.activity_id for entry in JournalEntry.objects.filter(user=self.user, action="failed")}
        assert {a.pk for a in Activity.objects.filter(outlook_id__in=kept, owner=self.user)} <= refused  # I3
        for activity in alive:  # I1, I3: same subject both sides, unless a refusal is in the journal
            if activity.outlook_id in self.tampered:
                continue  # a received meeting's local change stays local (I9)
            if activity.sync_fingerprint() != activity.sync_hash and not activity.needs_push:
                assert activity.pk in refused, "a change was dropped without a word"
                continue
            assert events[activity.outlook_id]["fields"]["subject"] == activity.subject
        writes = [e for e in self.emulator.requests_log(self.log_start) if e.get("method") in {"PATCH", "DELETE"}]
        assert not [e for e in writes if any(meeting in e["path"] for meeting in self.received)]  # I9
        assert not (set(linked) & self.deleted_outlook_events)  # I4
        assert not Activity.objects.filter(pk__in=self.deleted_activities, is_deleted=False).exists()  # I4
        journal, start = JournalEntry.objects.count(), len(self.emulator.requests_log())
        sync_contacts(self.user, client=self.client)
        runs = sync_activities(self.user, client=self.client) or []
        assert all((run.created, run.updated, run.deleted) == (0, 0, 0) for run in runs)  # I5
        assert JournalEntry.objects.count() == journal  # I5
        writes = [e for e in self.emulator.requests_log(start) if e["kind"] == "graph" and e.get("method") != "GET"]
        assert [e for e in writes if "/token" not in e["path"]] == []  # I5
        contact_writes = [e for e in self.emulator.requests_log(self.log_start)
                          if "/contacts" in e["path"] and e.get("method") in {"POST", "PATCH", "DELETE"}]  # fmt: skip
        assert contact_writes == []  # I6
        assert not any(
            e.get("invitations") or e.get("cancellations") for e in self.emulator.requests_log(self.log_start)
        )
        others = (Contact.objects.exclude(representative=self.user).count(),
                  Activity.objects.exclude(owner=self.user).count())  # fmt: skip
        assert others == self.others  # I8


@pytest.mark.slow
@pytest.mark.django_db
def test_sync_invariants_hold_under_random_operations_and_faults(connection, graph_emulator):
    SyncMachine.emulator = graph_emulator
    machine = SyncMachine.TestCase
    machine.settings = settings(
        max_examples=EXAMPLES,
        stateful_step_count=12,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        database=None,
    )
    machine().runTest()


# --- two mailboxes sharing addresses: one person, one contact ------------------------------------

POOL = 4  # addresses shared by the two mailboxes, unique to each example
BOXES = st.sampled_from([0, 1])
FIRST_NAMES = st.sampled_from(["Luc", "Luc", "Luc", ""])  # "": no first name, skipped (R7)
# The faults a contact sync can meet (it only reads: no $batch, no calendarView).
CONTACT_FAULTS = [
    fault
    for fault in FAULTS
    if fault[0] != "lost_create" and not fault[1].get("in_batch") and fault[1].get("path") != "calendarView"
]


class SharedAddressMachine(RuleBasedStateMachine):
    """Two sales representatives whose Outlook contacts draw their addresses from one small pool:
    adds, title edits, address changes and deletions in either mailbox, a contact entered in
    Prextra, syncs of either mailbox in any order, faults. The rules of "one person, one contact"
    (README) must hold after every sync, and after two quiet rounds at the end."""

    emulator = None  # set by the test

    items = Bundle("items")  # (mailbox index, Outlook id)

    @initialize()
    def setup(self):
        self.tag = uuid.uuid4().hex[:10]
        self.users, self.addresses = [], []
        for letter in "AB":
            address = f"{letter.lower()}{self.tag}@prextra-demo.ca"
            self.emulator.add_mailbox(address)
            user = User.objects.create_user(f"{letter}{self.tag[:8]}".upper(), "x", name="Modèle", email=address)
            ExchangeProfile.objects.create(user=user, sync_contacts_in=True)
            self.users.append(user)
            self.addresses.append(address)
        self.client = GraphClient(GraphSettings.from_connection(GraphConnection.current()), sleep=lambda seconds: None)
        # A token before any fault: the emulator answers a faulted token request in Graph's error
        # shape, not OAuth's, and msal's telemetry then fails every later token request of the
        # process (TypeError in msal/telemetry.py). Real tokens expire rarely in an example anyway.
        self.client.token()
        self.group = ContactGroup.objects.get(code=EXCHANGE_GROUP_CODE)
        self.others = self._outside()
        self.log_start = len(self.emulator.requests_log())
        self.serial = 0

    def _mailbox(self, box: int):
        return self.emulator.mailbox(self.addresses[box])

    def _address(self, slot: int, shout: bool) -> str:
        """A pool address (slot < POOL) or a fresh one; `shout`: in capitals (case is ignored)."""
        if slot >= POOL:
            self.serial += 1
            address = f"f{self.serial}.{self.tag}@finloc.com"
        else:
            address = f"p{slot}.{self.tag}@finloc.com"
        return address.upper() if shout else address

    # --- Outlook side ---------------------------------------------------------------------
    @rule(target=items, box=BOXES, first=FIRST_NAMES, last=NAMES, slot=st.integers(0, POOL - 1), shout=st.booleans())
    def outlook_adds_contact(self, box, first, last, slot, shout):
        payload = {"givenName": first, "surname": last, "emailAddresses": [{"address": self._address(slot, shout)}]}
        return box, self.emulator.store.create_contact(self._mailbox(box), payload)["graph"]["id"]

    @rule(item=items, title=SUBJECTS)
    def outlook_edits_contact(self, item, title):
        box, outlook_id = item
        if outlook_id in self._mailbox(box).contacts:
            self.emulator.store.update_contact(self._mailbox(box), outlook_id, {"jobTitle": title})

    @rule(item=items, slot=st.integers(0, POOL), shout=st.booleans())
    def outlook_changes_address(self, item, slot, shout):
        """To another address of the pool, or (slot POOL) to an address nobody has."""
        box, outlook_id = item
        if outlook_id in self._mailbox(box).contacts:
            patch = {"emailAddresses": [{"address": self._address(slot, shout)}]}
            self.emulator.store.update_contact(self._mailbox(box), outlook_id, patch)

    @rule(item=consumes(items))
    def outlook_deletes_contact(self, item):
        box, outlook_id = item
        if outlook_id in self._mailbox(box).contacts:
            self.emulator.store.delete_contact(self._mailbox(box), outlook_id)

    # --- Prextra side ---------------------------------------------------------------------
    @rule(slot=st.integers(0, POOL - 1), last=NAMES)
    def prextra_enters_contact(self, slot, last):
        """Entered in Prextra (source manual) with a pool address nobody active has yet."""
        address = self._address(slot, False)
        if not Contact.objects.filter(email__iexact=address, is_active=True).exists():
            Contact.objects.create(first_name="Ana", last_name=last, email=address, group=self.group)

    # --- the syncs and faults -------------------------------------------------------------
    @rule(box=BOXES)
    def sync_a_mailbox(self, box):
        clean = not self.emulator.faults.listing()
        run = sync_contacts(self.users[box], client=self.client)
        self._check_contacts()
        if clean and run is not None and run.result == SyncRun.Result.SUCCESS:
            self._check_mailbox(box)

    @precondition(lambda self: not self.emulator.faults.listing())
    @rule(fault=st.sampled_from(CONTACT_FAULTS))
    def inject_a_fault(self, fault):
        kind, options = fault
        if kind == "expire":
            self.emulator.expire_delta_tokens()
        else:
            self.emulator.inject_fault(kind, **{"count": 1, **options})

    # --- the end: faults stop, two quiet rounds, then the invariants ------------------------
    def teardown(self):
        self.emulator.clear_faults()
        SyncState.objects.filter(user__in=self.users).update(not_before=None, failed_attempts=0)
        for _round in range(2):
            for box, user in enumerate(self.users):
                run = sync_contacts(user, client=self.client)
                for state in SyncState.objects.filter(user=user, pending_confirmation=True):
                    confirm_pending_deletions(state)  # I7: an administrator confirms the held removals
                    run = sync_contacts(user, client=self.client)
                assert run.result == SyncRun.Result.SUCCESS, run.error
                self._check_mailbox(box)
        self._check_contacts()
        for box in range(2):
            self._check_mailbox(box)
        assert self._outside() == self.others  # I8
        contact_writes = [e for e in self.emulator.requests_log(self.log_start)
                          if "/contacts" in e["path"] and e.get("method") in {"POST", "PATCH", "DELETE"}]  # fmt: skip
        assert contact_writes == []  # I6

    def _mine(self):
        return Contact.objects.filter(email__icontains=self.tag)

    def _outside(self):
        """What belongs to other examples and users: their contacts and their links."""
        contacts = Contact.objects.exclude(email__icontains=self.tag).order_by("pk")
        links = OutlookContact.objects.exclude(mailbox__in=self.users).order_by("pk")
        return (list(contacts.values_list("pk", "email", "is_active", "title", "updated_at")),
                list(links.values_list("pk", "contact_id", "mailbox_id", "outlook_id", "sync_hash")))  # fmt: skip

    def _check_contacts(self):
        """One active contact per address; a contact is active iff a mailbox links it or it was
        entered in Prextra (so no link points to an inactive contact)."""
        contacts = list(self._mine().annotate(links=Count("outlook_items")))
        addresses = [contact.email.lower() for contact in contacts if contact.is_active]
        assert len(addresses) == len(set(addresses)), "two active contacts share an address"
        for contact in contacts:
            expected = contact.links > 0 or contact.source != Contact.Source.EXCHANGE
            assert contact.is_active == expected, (contact.email, contact.is_active, contact.links, contact.source)

    def _check_mailbox(self, box: int):
        """Once the mailbox synced cleanly: each of its Outlook contacts with a first name, a last
        name and an email has exactly one link, to the active contact of its address; nothing else
        of this mailbox is linked."""
        records = {oid: record["graph"] for oid, record in self._mailbox(box).contacts.items()}
        valid = {oid for oid, graph in records.items() if graph.get("givenName") and graph.get("surname")}
        links = list(OutlookContact.objects.filter(mailbox=self.users[box]).select_related("contact"))
        assert sorted(link.outlook_id for link in links) == sorted(valid)
        for link in links:
            graph, contact = records[link.outlook_id], link.contact
            assert contact.is_active and contact.email.lower() == graph["emailAddresses"][0]["address"].lower()


@pytest.mark.slow
@pytest.mark.django_db
def test_one_contact_per_address_holds_across_two_mailboxes(connection, graph_emulator):
    SharedAddressMachine.emulator = graph_emulator
    machine = SharedAddressMachine.TestCase
    machine.settings = settings(
        max_examples=max(1, EXAMPLES // 2),
        stateful_step_count=30,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        database=None,
    )
    machine().runTest()


# --- change notifications: lost, doubled, late, reordered or forged, they change only latency ----


class NotifiedSyncMachine(SyncMachine):
    """SyncMachine with its mailbox subscribed to change notifications (exchange/subscriptions.py).
    The emulator posts to `receiver`; rules deliver what arrived to `notifications.receive` (the
    endpoint's logic) in various ways, and run the syncs it queued."""

    receiver = None  # set by the test
    queued: list = []  # the sync_user / handle_lifecycle calls the endpoint made (patched delay)
    accepted = 0  # notification items the endpoint accepted, over every example
    notified_runs = 0  # syncs those notifications ran

    @initialize()
    def setup(self):
        super().setup()
        self.delivered = len(self.receiver.posts)  # receiver posts handed to the endpoint so far
        self.first = self.delivered  # this example's first post
        self.held: list[dict] = []  # bodies delivered late
        type(self).queued.clear()
        # Switched on: the first syncs find the mailbox, then it is subscribed (as the beat's pass does).
        sync_contacts(self.user, client=self.client)
        sync_activities(self.user, client=self.client)
        subscriptions.maintain(self.user.pk, self.client)
        assert Subscription.objects.filter(user=self.user, status="active").count() == 2

    def _arrived(self) -> list[dict]:
        time.sleep(self.emulator.notifier.delay + 0.05)
        bodies = [body for _path, body in self.receiver.posts[self.delivered :]]
        self.delivered += len(bodies)
        return bodies

    @classmethod
    def _receive(cls, body: dict) -> None:
        cls.accepted += notifications.receive(json.dumps(body).encode()).accepted

    @rule()
    def subscriptions_are_kept(self):
        subscriptions.maintain(self.user.pk, self.client)

    @rule(how=st.sampled_from(["in order", "reversed", "first dropped", "first doubled", "first late"]))
    def graph_notifications_arrive(self, how):
        bodies = self._arrived()
        if how == "reversed":
            bodies.reverse()
        elif how == "first dropped":
            bodies = bodies[1:]
        elif how == "first doubled":
            bodies = bodies[:1] + bodies
        elif how == "first late" and bodies:
            self.held.append(bodies.pop(0))
        for body in bodies:
            self._receive(body)

    @precondition(lambda self: self.held)
    @rule()
    def a_late_notification_arrives(self):
        self._receive(self.held.pop(0))

    @rule()
    def a_forged_notification_arrives(self):
        rows = list(Subscription.objects.filter(user=self.user).values_list("graph_id", flat=True))
        before = len(self.queued)
        for graph_id in rows:
            self._receive({"value": [{"subscriptionId": graph_id, "clientState": "guessed", "changeType": "created"}]})
        assert len(self.queued) == before

    @precondition(lambda self: Subscription.objects.filter(user=self.user).exclude(graph_id="").exists())
    @rule()
    def graph_says_notifications_were_missed(self):
        graph_id = (
            Subscription.objects.filter(user=self.user).exclude(graph_id="").values_list("graph_id", flat=True)[0]
        )
        with contextlib.suppress(KeyError):  # expired or removed meanwhile
            self.emulator.send_lifecycle(graph_id, "missed")

    @rule()
    def the_worker_runs_what_was_queued(self):
        self._run_queued()

    def _run_queued(self):
        while self.queued:
            name, args = self.queued.pop(0)
            if name == "handle_lifecycle":
                tasks.handle_lifecycle.run(*args)
                continue
            user_id, group, trigger = args
            assert trigger == "notified"
            if user_id != self.user.pk:
                # A notification of an earlier example's mailbox, delivered late (Graph's are, too):
                # the endpoint rightly queued its sync; that mailbox is gone from this example.
                continue
            type(self).notified_runs += 1
            if group == "contacts_in":
                sync_contacts(self.user, trigger=trigger, client=self.client)
            else:
                sync_activities(self.user, trigger=trigger, client=self.client)

    def teardown(self):
        self.emulator.clear_faults()
        for body in self._arrived() + self.held:
            self._receive(body)
        self._run_queued()
        super().teardown()
        # Every notification ever sent, once more and late: the syncs they queue change nothing.
        journal = JournalEntry.objects.count()
        for _path, body in list(self.receiver.posts[self.first : self.delivered]):
            self._receive(body)
        cache.clear()  # as if each burst's sync had started: the next one queues again
        moment = datetime.now(UTC)
        self._run_queued()
        assert JournalEntry.objects.count() == journal  # I5 under late and doubled notifications
        later = SyncRun.objects.filter(user=self.user, started_at__gte=moment)
        assert all((run.created, run.updated, run.deleted) == (0, 0, 0) for run in later)
        mine = Subscription.objects.filter(user=self.user).exclude(graph_id="")
        for graph_id in mine.values_list("graph_id", flat=True):
            with contextlib.suppress(GraphError):
                self.emulator.book.remove(graph_id)  # the next example's mailbox is another
        self.emulator.notifier.clear()  # nor its notifications still to be delivered


@pytest.mark.slow
@pytest.mark.django_db
def test_notifications_lost_doubled_late_or_forged_change_nothing_but_latency(connection, graph_emulator):
    folder = Path(graph_emulator.ca_file).parent
    delay, graph_emulator.notifier.delay = graph_emulator.notifier.delay, 0.05
    queued = NotifiedSyncMachine.queued
    with (
        Receiver(folder / tls.CERT_FILE, folder / tls.KEY_FILE) as receiver,
        mock.patch.object(tasks.sync_user, "delay", lambda *args: queued.append(("sync_user", args))),
        mock.patch.object(tasks.handle_lifecycle, "delay", lambda *args: queued.append(("handle_lifecycle", args))),
    ):
        NotifiedSyncMachine.emulator, NotifiedSyncMachine.receiver = graph_emulator, receiver
        machine = NotifiedSyncMachine.TestCase
        machine.settings = settings(
            max_examples=max(1, EXAMPLES // 6),
            stateful_step_count=14,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
            database=None,
        )
        try:
            with override_settings(PREXTRA_PUBLIC_URL=receiver.url("")):
                machine().runTest()
            flowed = NotifiedSyncMachine.accepted, NotifiedSyncMachine.notified_runs
            print(f"notifications accepted: {flowed[0]}, syncs they ran: {flowed[1]}")
            if EXAMPLES >= 40:  # notifications did flow (a machine that never subscribed proves nothing)
                assert flowed[0] > 0 and flowed[1] > 0
        finally:
            graph_emulator.notifier.delay = delay
            graph_emulator.book.clear()
            graph_emulator.notifier.clear()
