"""The emulator's single source of truth: mailboxes, contacts, events and their change log.

Every write (Graph, control API, Outlook page, seeding) goes through this module, so each one
gets a new change sequence number, a new changeKey/ETag and a lastModifiedDateTime, and delta
queries see it. Items that leave a folder or the calendar leave tombstones so delta can report
`@removed`. A deleted event goes to the mailbox's Deleted Items (`Mailbox.deleted_events`), where
its id still answers; only permanentDelete (or a second delete) purges it.

Each contact or event change is also told to `on_item_change` (a `Change`), which the
subscriptions use for change notifications (subscriptions.py): every path through the store
notifies, whatever made the change.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import random
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from . import contacts, events, ids, tz
from .errors import GraphError, bad_request, item_not_found

HISTORY_LIMIT = 30
MAX_SEQ_TIMES = 100_000  # change times kept for the delta lag (older changes count as old enough)
CONFLICT_MESSAGE = (
    "The send or update operation could not be performed because the change key passed in "
    "the request does not match the current change key for the item."
)
DUPLICATE_TRANSACTION_MESSAGE = (
    "Your request can't be completed. The TransactionId specified in the request has already been "
    "used to create a different event."
)


@dataclass(frozen=True)
class Change:
    """One change to a contact or an event, as change notifications report it.

    `kind` is "contacts" or "events"; `change_type` "created", "updated" or "deleted"; `folder`
    the contact folder it happened in; `scope` says which subscriptions see it: "all", "folder"
    (only those on that contact folder) or "mailbox" (only those on `users/{id}/contacts`), so a
    contact moved between folders is deleted/created for the folders and updated for the mailbox.
    """

    mailbox_id: str
    kind: str
    item_id: str
    change_type: str
    change_key: str
    folder: str | None = None
    scope: str = "all"


@dataclass
class Mailbox:
    """One Exchange mailbox: its user (object id, userPrincipalName, primary SMTP address `address`
    and SMTP aliases), one contact folder tree and one calendar.

    The UPN is the sign-in name and often differs from the primary SMTP address (an internal
    `…onmicrosoft.com` domain): Graph addresses a user by object id or UPN only
    (https://learn.microsoft.com/graph/api/user-get, "GET /users/{id | userPrincipalName}";
    camerondwyer.com 2023-07-07 shows `/users/{primary SMTP}` failing when it is not the UPN).
    """

    id: str
    address: str
    display_name: str
    upn: str = ""
    aliases: list[str] = field(default_factory=list)
    rest_enabled: bool = True
    root_folder_id: str = ""
    default_folder_id: str = ""
    calendar_id: str = ""
    deleted_items_id: str = ""
    folders: dict[str, dict] = field(default_factory=dict)
    contacts: dict[str, dict] = field(default_factory=dict)
    events: dict[str, dict] = field(default_factory=dict)
    deleted_events: dict[str, dict] = field(default_factory=dict)  # the Deleted Items folder
    tombstones: dict[str, dict] = field(default_factory=dict)
    transactions: dict[str, str] = field(default_factory=dict)

    def summary(self) -> dict:
        """What the control API shows for a mailbox."""
        return {
            "id": self.id,
            "address": self.address,
            "userPrincipalName": self.upn,
            "aliases": list(self.aliases),
            "displayName": self.display_name,
            "restEnabled": self.rest_enabled,
            "contacts": len(self.contacts),
            "events": len(self.events),
            "deletedEvents": len(self.deleted_events),
            "defaultContactFolderId": self.default_folder_id,
            "calendarId": self.calendar_id,
        }


def now_text() -> str:
    """Graph's timestamp for createdDateTime/lastModifiedDateTime."""
    return tz.format_utc(dt.datetime.now(dt.UTC))


def check_if_match(if_match: str | None, change_key: str) -> None:
    """412 ErrorIrresolvableConflict when If-Match names another change key (event-update doc)."""
    if not if_match or if_match.strip() == "*":
        return
    given = if_match.strip()
    if given.startswith("W/"):
        given = given[2:]
    if given.strip('"') != change_key:
        raise GraphError(412, "ErrorIrresolvableConflict", CONFLICT_MESSAGE)


class Store:
    """All mailboxes plus the counters that make change tracking and tokens work."""

    def __init__(self, floating_zone: str = "America/Toronto") -> None:
        self.lock = threading.RLock()
        self.rng = random.Random(os.urandom(16))  # nosec B311 # emulated item ids and change keys, not secrets
        self.seq = 0
        self.mailboxes: dict[str, Mailbox] = {}
        self.by_address: dict[str, str] = {}  # every address (SMTP, aliases, UPN) → id: control API, tests
        self.by_upn: dict[str, str] = {}  # userPrincipalName → id: the only name Graph resolves
        self.upn_domain = "prextra-demo.onmicrosoft.com"
        self.secret = os.urandom(32).hex()
        self.token_generation = 0
        self.delta_generation = 0
        self.floating = tz.resolve_zone(floating_zone)
        self.on_change: Callable[[], None] | None = None
        self.on_item_change: Callable[[Change], None] | None = None
        # Graph: "Expect varying delays between the time a change is made to a resource instance
        # ... and the time the tracked change is reflected in a delta query response"
        # (concepts/delta-query-overview.md, Processing delays). A change reaches delta rounds
        # `delta_lag` seconds after it was made (0: at once); its notification leaves on its own
        # clock (Notifier.delay), so a notification may come before the delta shows the change.
        self.delta_lag = 0.0
        self.seq_times: deque[tuple[int, float]] = deque(maxlen=MAX_SEQ_TIMES)

    # -- bookkeeping -------------------------------------------------------------------------

    def bump(self) -> int:
        """Advance and return the change sequence; tell the saver something changed."""
        self.seq += 1
        self.seq_times.append((self.seq, time.monotonic()))
        if self.on_change:
            self.on_change()
        return self.seq

    def visible_seq(self) -> int:
        """The last change sequence delta rounds see now: every change older than `delta_lag`
        (the current sequence without a lag). Call under the lock."""
        if self.delta_lag <= 0:
            return self.seq
        cutoff = time.monotonic() - self.delta_lag
        for seq, at in reversed(self.seq_times):
            if at <= cutoff:
                return seq
        return self.seq_times[0][0] - 1 if self.seq_times else self.seq

    def notify(self, mailbox: Mailbox, kind: str, item_id: str, change_type: str, change_key: str, **extra) -> None:
        """Tell the subscriptions about one change (called under the store lock; must be quick)."""
        if self.on_item_change:
            self.on_item_change(Change(mailbox.id, kind, item_id, change_type, change_key, **extra))

    def _meta(self, rng: random.Random | None = None) -> tuple[int, str, str]:
        seq = self.bump()
        return seq, ids.new_change_key(rng or self.rng, seq), now_text()

    # -- mailboxes ---------------------------------------------------------------------------

    def add_mailbox(
        self,
        address: str,
        display_name: str | None = None,
        upn: str | None = None,
        aliases: list[str] | tuple[str, ...] = (),
    ) -> Mailbox:
        """Create the mailbox for `address` (idempotent) with its default folder and calendar.

        Without `upn`, the UPN is `{local part}@{upn_domain}`, distinct from the SMTP address as
        in the many tenants whose sign-in domain is the initial `…onmicrosoft.com` one.
        """
        with self.lock:
            existing = self.find_mailbox(address)
            if existing:
                return existing
            local = address.split("@", 1)[0]
            name = display_name or local.replace(".", " ").title()
            mailbox = Mailbox(id=str(uuid.uuid4()), address=address, display_name=name)
            mailbox.upn = upn or self._free_upn(local)
            mailbox.aliases = [alias for alias in aliases if alias.lower() != address.lower()]
            mailbox.root_folder_id = ids.new_item_id(self.rng)
            mailbox.default_folder_id = ids.new_item_id(self.rng)
            mailbox.calendar_id = ids.new_item_id(self.rng)
            mailbox.folders[mailbox.default_folder_id] = {
                "id": mailbox.default_folder_id,
                "displayName": "Contacts",
                "parentFolderId": mailbox.root_folder_id,
            }
            self.index(mailbox)
            self.bump()
            return mailbox

    def _free_upn(self, local: str) -> str:
        upn, number = f"{local}@{self.upn_domain}", 1
        while upn.lower() in self.by_upn:
            number += 1
            upn = f"{local}{number}@{self.upn_domain}"
        return upn

    def index(self, mailbox: Mailbox) -> None:
        """Register a mailbox under its id, UPN and every address (a state file of an older
        emulator has no UPN: its SMTP address serves, as it did then)."""
        mailbox.upn = mailbox.upn or mailbox.address
        self.mailboxes[mailbox.id] = mailbox
        self.by_upn[mailbox.upn.lower()] = mailbox.id
        for name in (mailbox.address, mailbox.upn, *mailbox.aliases):
            self.by_address[name.lower()] = mailbox.id

    def find_mailbox(self, key: str) -> Mailbox | None:
        """A mailbox by user id, UPN, primary SMTP address or alias, case-insensitively.

        For the control API, the Outlook page and tests; Graph URLs resolve through `find_user`."""
        mailbox = self.mailboxes.get(key.lower()) or self.mailboxes.get(key)
        if mailbox:
            return mailbox
        mailbox_id = self.by_address.get(key.lower())
        return self.mailboxes.get(mailbox_id) if mailbox_id else None

    def find_user(self, key: str) -> Mailbox | None:
        """The mailbox `/users/{key}` names in Graph: by object id or userPrincipalName only
        (user-get: "GET /users/{id | userPrincipalName}"); an SMTP address or an alias that is
        not the UPN is unknown there, as in Exchange Online."""
        mailbox = self.mailboxes.get(key.lower()) or self.mailboxes.get(key)
        if mailbox:
            return mailbox
        mailbox_id = self.by_upn.get(key.lower())
        return self.mailboxes.get(mailbox_id) if mailbox_id else None

    def users_matching(self, predicate: Callable[[Mailbox], bool]) -> list[Mailbox]:
        """The mailboxes whose user satisfies `predicate` (for `GET /users?$filter=`)."""
        with self.lock:
            return [mailbox for mailbox in self.mailboxes.values() if predicate(mailbox)]

    def remove_mailbox(self, mailbox: Mailbox) -> None:
        """Forget a mailbox and everything in it."""
        with self.lock:
            self.mailboxes.pop(mailbox.id, None)
            self.by_upn.pop(mailbox.upn.lower(), None)
            for name in (mailbox.address, mailbox.upn, *mailbox.aliases):
                self.by_address.pop(name.lower(), None)
            self.bump()

    def forget_mailboxes(self) -> None:
        """Drop every mailbox (reset)."""
        with self.lock:
            self.mailboxes.clear()
            self.by_address.clear()
            self.by_upn.clear()
            self.bump()

    # -- contacts ----------------------------------------------------------------------------

    def create_contact(self, mailbox: Mailbox, fields: dict, folder_id: str | None = None, rng=None) -> dict:
        """Create a contact in `folder_id` (default folder when None); return its record."""
        with self.lock:
            folder_id = folder_id or mailbox.default_folder_id
            if folder_id not in mailbox.folders:
                raise item_not_found()
            seq, change_key, now = self._meta(rng)
            item_id = ids.new_item_id(rng or self.rng)
            meta = {
                "id": item_id,
                "createdDateTime": now,
                "lastModifiedDateTime": now,
                "changeKey": change_key,
                "parentFolderId": folder_id,
            }
            record = {"seq": seq, "folder": folder_id, "graph": contacts.build(fields, meta)}
            _store_props(record, fields)
            mailbox.contacts[item_id] = record
            self.notify(mailbox, "contacts", item_id, "created", change_key, folder=folder_id)
            return record

    def get_contact(self, mailbox: Mailbox, item_id: str, folder_id: str | None = None) -> dict:
        """The contact record, or 404 ErrorItemNotFound (also when in another folder)."""
        record = mailbox.contacts.get(item_id)
        if record is None or (folder_id and record["folder"] != folder_id):
            raise item_not_found()
        return record

    def update_contact(self, mailbox: Mailbox, item_id: str, patch: dict, if_match: str | None = None) -> dict:
        """Apply a PATCH; new changeKey, ETag and lastModifiedDateTime."""
        with self.lock:
            record = self.get_contact(mailbox, item_id)
            old = record["graph"]
            check_if_match(if_match, old["changeKey"])
            seq, change_key, now = self._meta()
            fields = contacts.patched_fields(old, patch)
            meta = {
                "id": item_id,
                "createdDateTime": old["createdDateTime"],
                "lastModifiedDateTime": now,
                "changeKey": change_key,
                "parentFolderId": record["folder"],
            }
            new = {"seq": seq, "folder": record["folder"], "graph": contacts.build(fields, meta)}
            new["props"] = dict(record.get("props") or {})
            _store_props(new, patch)
            mailbox.contacts[item_id] = new
            self.notify(mailbox, "contacts", item_id, "updated", change_key, folder=record["folder"])
            return new

    def delete_contact(self, mailbox: Mailbox, item_id: str, if_match: str | None = None) -> None:
        """Delete a contact and leave a tombstone for delta."""
        with self.lock:
            record = self.get_contact(mailbox, item_id)
            check_if_match(if_match, record["graph"]["changeKey"])
            del mailbox.contacts[item_id]
            mailbox.tombstones[item_id] = {
                "id": item_id,
                "kind": "contact",
                "seq": self.bump(),
                "folder": record["folder"],
            }
            self.notify(mailbox, "contacts", item_id, "deleted", record["graph"]["changeKey"], folder=record["folder"])

    # -- contact folders ---------------------------------------------------------------------
    # Outlook files contacts in a tree of folders: the default "Contacts" folder, its child folders
    # at any depth, and other top-level contact folders under the mailbox root
    # (https://learn.microsoft.com/graph/api/contactfolder-post-childfolders; corso issue 3550 shows
    # /contacts/delta misses a contact in /contacts/first/second/third/fourth).

    def create_folder(self, mailbox: Mailbox, name: str, parent_id: str | None = None) -> dict:
        """A new contact folder under `parent_id` (the default folder when None; the mailbox root
        for another top-level folder); 409 ErrorFolderExists for a sibling of the same name."""
        with self.lock:
            parent_id = parent_id or mailbox.default_folder_id
            if parent_id != mailbox.root_folder_id and parent_id not in mailbox.folders:
                raise item_not_found()
            siblings = (f for f in mailbox.folders.values() if f["parentFolderId"] == parent_id)
            if any(f["displayName"].lower() == name.lower() for f in siblings):
                raise GraphError(409, "ErrorFolderExists", "A folder with the specified name already exists.")
            folder = {"id": ids.new_item_id(self.rng), "displayName": name, "parentFolderId": parent_id}
            folder["seq"] = self.bump()
            mailbox.folders[folder["id"]] = folder
            return folder

    def folder_subtree(self, mailbox: Mailbox, folder_id: str) -> list[str]:
        """`folder_id` and every folder below it, at any depth."""
        found, pending = [], [folder_id]
        while pending:
            current = pending.pop()
            found.append(current)
            pending += [f["id"] for f in mailbox.folders.values() if f["parentFolderId"] == current]
        return found

    def delete_folder(self, mailbox: Mailbox, folder_id: str) -> None:
        """Delete a folder with its subfolders and their contacts (tombstones for delta); its
        delta then answers 404 ErrorItemNotFound, as any request naming a folder that is gone.

        contactfolder-delete: "Delete contactFolder other than the default contactFolder"; the
        answer for the default one is EWS's ErrorDeleteDistinguishedFolder (status inferred: 403).
        Deleting a folder in Outlook moves it to Deleted Items instead: `move_folder`."""
        with self.lock:
            if folder_id == mailbox.default_folder_id:
                raise GraphError(403, "ErrorDeleteDistinguishedFolder", "Distinguished folders cannot be deleted.")
            if folder_id not in mailbox.folders:
                raise item_not_found()
            for current in self.folder_subtree(mailbox, folder_id):
                for item_id in [i for i, r in mailbox.contacts.items() if r["folder"] == current]:
                    self.delete_contact(mailbox, item_id)
                del mailbox.folders[current]
                mailbox.tombstones[f"folder|{current}"] = {"id": current, "kind": "folder", "seq": self.bump()}

    def move_folder(self, mailbox: Mailbox, folder_id: str, parent_id: str) -> dict:
        """Move a folder with its contents, as Outlook does; `parent_id` "deleteditems" is what
        deleting a folder in Outlook does: it goes to Deleted Items (a mail folder, not a contact
        folder) with its contacts, ids unchanged, and its delta still answers."""
        with self.lock:
            if parent_id == "deleteditems":
                mailbox.deleted_items_id = mailbox.deleted_items_id or ids.new_item_id(self.rng)
                parent_id = mailbox.deleted_items_id
            known = {mailbox.root_folder_id, mailbox.deleted_items_id, *mailbox.folders}
            if folder_id not in mailbox.folders or parent_id not in known:
                raise item_not_found()
            if folder_id == mailbox.default_folder_id or parent_id in self.folder_subtree(mailbox, folder_id):
                raise bad_request("The folder cannot be moved there.", "ErrorMoveCopyFailed")
            folder = mailbox.folders[folder_id]
            folder.update(parentFolderId=parent_id, seq=self.bump())
            return folder

    def move_contact(self, mailbox: Mailbox, item_id: str, folder_id: str) -> dict:
        """Move a contact to another folder, as Outlook does (v1.0 has no move for contacts).

        With immutable ids the id stays (https://learn.microsoft.com/graph/outlook-immutable-id);
        the old folder's delta reports it @removed, the new folder's delta as new."""
        with self.lock:
            record = self.get_contact(mailbox, item_id)
            if folder_id not in mailbox.folders:
                raise item_not_found()
            old_folder = record["folder"]
            if old_folder == folder_id:
                return record
            seq, change_key, now = self._meta()
            graph = dict(record["graph"], changeKey=change_key, lastModifiedDateTime=now, parentFolderId=folder_id)
            graph["@odata.etag"] = f'W/"{change_key}"'
            record.update(seq=seq, folder=folder_id, graph=graph)
            mailbox.tombstones[f"{item_id}|{old_folder}"] = {
                "id": item_id,
                "kind": "contact",
                "seq": self.bump(),
                "folder": old_folder,
            }
            # A move leaves one folder and enters another (microsoft-graph-docs-contrib issue 686:
            # moving a message "triggers created"); for the whole mailbox it is an update.
            self.notify(mailbox, "contacts", item_id, "deleted", change_key, folder=old_folder, scope="folder")
            self.notify(mailbox, "contacts", item_id, "created", change_key, folder=folder_id, scope="folder")
            self.notify(mailbox, "contacts", item_id, "updated", change_key, folder=folder_id, scope="mailbox")
            return record

    # -- events ------------------------------------------------------------------------------

    def create_event(self, mailbox: Mailbox, fields: dict, rng=None) -> tuple[dict, dict]:
        """Create an event; a known transactionId returns the existing event, or refuses another body.

        Graph keeps the transactionId of the event it created (api/resources/event: "to avoid
        redundant POST operations in case of client retries"): the same request again answers 201
        with the existing event, while the same transactionId with another body is refused with
        400 ErrorDuplicateTransactionId (blog.rykoma.net/2020/10/05/1559; public client code that
        handles it: "The TransactionId specified in the request has already been used to create a
        different event."). Graph documents no time limit; the emulator keeps them for ever.
        Returns (record, notifications) where notifications lists invitations sent.
        """
        with self.lock:
            txn = fields.get("transactionId")
            if txn and mailbox.transactions.get(txn) in mailbox.events:
                existing = mailbox.events[mailbox.transactions[txn]]
                if existing.get("transactionBody") not in (None, _body_fingerprint(fields)):
                    raise GraphError(400, "ErrorDuplicateTransactionId", DUPLICATE_TRANSACTION_MESSAGE)
                return existing, _notes()
            rng = rng or self.rng
            record = events.new_record(ids.new_item_id(rng), ids.new_ical_uid(rng))
            events.set_times(record, fields)
            events.set_recurrence(record, fields.get("recurrence"))
            events.apply_fields(record, fields)
            seq, change_key, now = self._meta(rng)
            record.update(seq=seq, changeKey=change_key, createdDateTime=now, lastModifiedDateTime=now)
            record["transactionId"] = txn
            record["transactionBody"] = _body_fingerprint(fields) if txn else None
            record["history"] = [[seq, events.shape(record)]]
            mailbox.events[record["id"]] = record
            if txn:
                mailbox.transactions[txn] = record["id"]
            self.notify(mailbox, "events", record["id"], "created", change_key)
            attendees = events.attendee_addresses(record["fields"]["attendees"])
            return record, _notes(invitations=attendees)

    def receive_meeting(
        self, mailbox: Mailbox, fields: dict, organizer: dict, response: str = "notResponded", rng=None
    ) -> dict:
        """Put in the calendar the mailbox's copy of a meeting someone else organized (an
        invitation that arrived). Nothing is sent from this mailbox: the organizer's server did it."""
        with self.lock:
            record, _sent = self.create_event(mailbox, dict(fields, transactionId=None), rng)
            events.receive(record, organizer, response, mailbox.address, mailbox.display_name)
            return record

    def resolve_event(self, mailbox: Mailbox, item_id: str) -> tuple[dict, str | None]:
        """(master or single record, occurrence key or None) for an event id; 404 if unknown.

        An event in Deleted Items still answers by its id: with immutable ids an item keeps its
        id when it moves to another folder (https://learn.microsoft.com/graph/outlook-immutable-id)
        and only permanentDelete puts it out of reach (event-permanentdelete).
        """
        record = mailbox.events.get(item_id) or mailbox.deleted_events.get(item_id)
        if record is not None:
            return record, None
        split = ids.split_occurrence_id(item_id)
        if split and split[0] in mailbox.events:
            master = mailbox.events[split[0]]
            if events.find_occurrence(master, split[1], self.floating):
                return master, split[1]
        raise item_not_found()

    def current_change_key(self, record: dict, key: str | None) -> str:
        """The change key of the event or of one of its exceptions."""
        exception = record["exceptions"].get(key) if key else None
        return exception["changeKey"] if exception else record["changeKey"]

    def update_event(
        self, mailbox: Mailbox, item_id: str, fields: dict, if_match: str | None = None
    ) -> tuple[dict, str | None, dict]:
        """PATCH an event, a series master or one occurrence (which becomes an exception)."""
        with self.lock:
            record, key = self.resolve_event(mailbox, item_id)
            check_if_match(if_match, self.current_change_key(record, key))
            fields = {k: v for k, v in fields.items() if k != "transactionId"}
            notes = self._update_occurrence(record, key, fields) if key else self._update_master(record, fields)
            self._notify_event_update(mailbox, record)
            # An invitee's change to its own copy of a meeting sends nothing to the attendees.
            return record, key, _notes() if record.get("received") else notes

    def _update_master(self, record: dict, fields: dict) -> dict:
        before = events.attendee_addresses(record["fields"]["attendees"])
        trial = dict(record, fields=dict(record["fields"]), props=dict(record["props"]))
        if {"start", "end", "isAllDay"} & fields.keys():
            events.set_times(trial, fields)
        if "recurrence" in fields:
            events.set_recurrence(trial, fields["recurrence"])
        events.apply_fields(trial, fields)
        if _series_shape_changed(record, trial):
            trial["exceptions"], trial["cancelled"] = {}, []
        seq, change_key, now = self._meta()
        trial.update(seq=seq, changeKey=change_key, lastModifiedDateTime=now)
        record.clear()
        record.update(trial)
        _push_history(record)
        after = events.attendee_addresses(record["fields"]["attendees"])
        return _meeting_notes(before, after, fields)

    def _update_occurrence(self, record: dict, key: str, fields: dict) -> dict:
        if "recurrence" in fields or "isAllDay" in fields:
            raise bad_request("The recurrence and isAllDay of an occurrence cannot be changed.", "ErrorInvalidRequest")
        occ = events.find_occurrence(record, key, self.floating)
        current = record["exceptions"].get(key) or {"fields": {}}
        probe = events.new_record(record["id"], record["ical"])
        probe["fields"] = dict(record["fields"], **current["fields"])
        before = events.attendee_addresses(probe["fields"]["attendees"])
        _occurrence_times(probe, record, occ)
        events.set_times(probe, fields)
        events.apply_fields(probe, fields)
        overrides = {k: v for k, v in probe["fields"].items() if v != record["fields"].get(k)}
        seq, change_key, now = self._meta()
        record["exceptions"][key] = {
            "fields": overrides,
            "start": probe["start"],
            "end": probe["end"],
            "changeKey": change_key,
            "createdDateTime": current.get("createdDateTime", now),
            "lastModifiedDateTime": now,
        }
        record.update(seq=seq, lastModifiedDateTime=now)
        _push_history(record)
        after = events.attendee_addresses(probe["fields"]["attendees"])
        return _meeting_notes(before, after, fields)

    def delete_event(self, mailbox: Mailbox, item_id: str, if_match: str | None = None) -> dict:
        """DELETE: move an event to Deleted Items (cancellations go to its attendees), cancel one
        occurrence, or purge an event already in Deleted Items.

        event-delete answers 204 and Outlook moves the item to Deleted Items: only
        `permanentDelete` "places it in the purges folder" (event-permanentdelete). Deleting from
        Deleted Items removes the item for good, as Outlook's own Delete does ("If the containing
        folder is the Deleted Items folder, the Delete method removes the item permanently":
        https://learn.microsoft.com/office/vba/api/outlook.appointmentitem.delete); the safe
        choice as well, since nothing deleted twice can come back.
        """
        with self.lock:
            record, key = self.resolve_event(mailbox, item_id)
            check_if_match(if_match, self.current_change_key(record, key))
            if key:
                notes = self._cancel_occurrence(record, key)
                self._notify_event_update(mailbox, record)
                return notes
            if item_id in mailbox.deleted_events:
                del mailbox.deleted_events[item_id]
                self.bump()
                return _notes()
            notes = self._leave_calendar(mailbox, record)
            seq, change_key, now = self._meta()
            record.update(seq=seq, changeKey=change_key, lastModifiedDateTime=now)
            mailbox.deleted_events[item_id] = record
            # It left `users/{id}/events` (which no longer lists it): a "deleted" notification, as
            # deleting an item does ("Deleting the message would result in a Delete notification":
            # https://learn.microsoft.com/graph/outlook-change-notifications-overview).
            self.notify(mailbox, "events", item_id, "deleted", change_key)
            return notes

    def purge_event(self, mailbox: Mailbox, item_id: str) -> dict:
        """permanentDelete: the event leaves the mailbox (GET is then 404 ErrorItemNotFound).

        https://learn.microsoft.com/graph/api/event-permanentdelete: "Permanently delete an event
        and place it in the purges folder"; clients cannot reach it any more. An occurrence id
        cancels that occurrence, as DELETE does.
        """
        with self.lock:
            record, key = self.resolve_event(mailbox, item_id)
            if key:
                notes = self._cancel_occurrence(record, key)
                self._notify_event_update(mailbox, record)
                return notes
            if mailbox.deleted_events.pop(item_id, None) is not None:
                self.bump()
                return _notes()
            notes = self._leave_calendar(mailbox, record)
            self.notify(mailbox, "events", item_id, "deleted", record["changeKey"])
            return notes

    def _notify_event_update(self, mailbox: Mailbox, record: dict) -> None:
        """An event of the calendar changed: "updated" for its id, the series master's when an
        occurrence changed or was cancelled (microsoft-graph-docs issue 5520: removing an instance
        "causes only update notification on the SeriesMaster event"). Events in Deleted Items are
        outside `users/{id}/events` (the emulator's reading; nothing documents it) and notify nothing."""
        if record["id"] in mailbox.events:
            self.notify(mailbox, "events", record["id"], "updated", record["changeKey"])

    def _cancel_occurrence(self, record: dict, key: str) -> dict:
        exception = record["exceptions"].pop(key, None) or {"fields": {}}
        attendees = exception["fields"].get("attendees", record["fields"]["attendees"])
        record["cancelled"].append(key)
        seq, _change_key, now = self._meta()
        record.update(seq=seq, lastModifiedDateTime=now)
        _push_history(record)
        return _notes(cancellations=_cancellations(record, attendees))

    def _leave_calendar(self, mailbox: Mailbox, record: dict) -> dict:
        """Take an event out of the calendar, with a tombstone so delta reports it `@removed`."""
        del mailbox.events[record["id"]]
        mailbox.tombstones[record["id"]] = {
            "id": record["id"],
            "kind": "event",
            "seq": self.bump(),
            "history": record["history"],
        }
        return _notes(cancellations=_cancellations(record, record["fields"]["attendees"]))


def _cancellations(record: dict, attendees: list) -> list[str]:
    """Only the organizer's deletion cancels a meeting for its attendees (docs/graph-notes.md §4.2)."""
    return [] if record.get("received") else events.attendee_addresses(attendees)


def _body_fingerprint(fields: dict) -> str:
    """What makes two create requests "the same" for a transactionId: their whole body."""
    return hashlib.sha256(json.dumps(fields, sort_keys=True, default=str).encode()).hexdigest()


def _store_props(record: dict, fields: dict) -> None:
    props = fields.get("singleValueExtendedProperties") or []
    target = record.setdefault("props", {})
    target.update({p["id"]: p.get("value") for p in props if p and p.get("id")})


def _notes(invitations: list[str] | None = None, cancellations: list[str] | None = None) -> dict:
    return {"invitations": list(invitations or []), "cancellations": list(cancellations or [])}


def _meeting_notes(before: list[str], after: list[str], fields: dict) -> dict:
    """What Outlook mails on a PATCH: invitations/updates to attendees, cancellations to removed ones."""
    if "attendees" in fields:
        added = [a for a in after if a not in before]
        removed = [a for a in before if a not in after]
        updated = [a for a in after if a in before] if MEETING_CHANGE & fields.keys() else []
        return _notes(invitations=added + updated, cancellations=removed)
    if after and MEETING_CHANGE & fields.keys():
        return _notes(invitations=after)
    return _notes()


MEETING_CHANGE = events.MEETING_FIELDS


def _series_shape_changed(old: dict, new: dict) -> bool:
    keys = ("start", "end", "all_day", "tz_start", "recurrence")
    return old["recurrence"] is not None and any(old[k] != new[k] for k in keys)


def _push_history(record: dict) -> None:
    record["history"].append([record["seq"], events.shape(record)])
    del record["history"][:-HISTORY_LIMIT]


def _occurrence_times(probe: dict, master: dict, occ: events.Occurrence) -> None:
    """Give `probe` the occurrence's own times so a partial PATCH keeps the other bound."""
    probe.update(all_day=master["all_day"], tz_start=master["tz_start"], tz_end=master["tz_end"])
    if master["all_day"]:
        probe.update(start=occ.local_start, end=occ.local_end)
    else:
        probe.update(start=occ.start, end=occ.end)
