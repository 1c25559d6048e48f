"""Outlook → Prextra contact synchronization for one user (R4–R9), through Graph delta.

- Every contact folder of the mailbox is read (the default one, its child folders at any depth,
  other top-level contact folders), each with its own delta link (folders.py: a new folder is
  picked up within folders.LIST_EVERY); a contact moved from one folder to another stays the same
  Prextra contact. Graph URLs name the mailbox by its object id (sync.mailbox).
- Only changes travel after the first run; the delta links are stored only after every page of
  the run is committed and its removals decided, so no cursor is ever ahead of the data. A run
  that dies is replayed from the previous link, harmlessly: writes are upserts by (mailbox, Outlook id) and an item
  whose synchronized fields hash the same as last time causes no write (no churn, no echo).
- R7: contacts without first name, last name or email are skipped, with the reason journaled.
- One person, one contact: an Outlook item is a link of its mailbox (crm.OutlookContact) to the
  one active Prextra contact of its email address (case ignored), found or created. Three
  mailboxes holding the same person give one contact and three links; a contact entered in
  Prextra with that address is linked, not duplicated, and keeps its owner. Of the mailboxes that
  hold a contact, the latest Outlook change (lastModifiedDateTime) wins; an older version from
  another mailbox changes nothing and its values are kept in the journal (a conflict). An item
  whose address changes moves its link to the contact of the new address (or a new one).
- R8/R9: linked by email domain (exchange.linking); re-linked when the email changes or when a
  company domain is added or removed later (`relink_domain`). A contact assigned by hand
  (`owner_locked`) or entered in Prextra keeps its owner.
- An Outlook deletion removes that mailbox's link; the contact becomes inactive (never deleted)
  only when no mailbox links it any more and it came from Outlook. A run that would remove more
  than half of the user's links (and more than 20) holds them until an administrator confirms
  (the mass-change brake).
- 410, or a 4xx saying syncStateNotFound, syncStateInvalid, resyncRequired or InvalidDeltaToken
  (a folder's delta link expired) → a full round of that folder at once; the contacts filed there that no folder
  returned are deactivated (through the same brake) and nothing is created twice. A folder
  deleted in Outlook deactivates its contacts the same way.
- A missing permission, or an address no mailbox has, fails the run in words; a Retry-After longer than the
  client waits defers the run until then (no cursor moves: the next run replays harmlessly).
- Contacts never cause a Graph write: this direction only reads.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from accounts.models import User
from crm.models import Contact, OutlookContact

from ..graph import errors
from ..graph.client import DeltaPage, GraphClient, GraphSettings
from ..linking import DomainIndex, Link
from ..mapping import ContactData, Skip, contact_from_graph
from ..models import ContactFolder, Direction, GraphConnection, JournalEntry, SyncRun, SyncState
from ..reasons import describe, reason
from . import bulk, folders, rounds
from .mailbox import with_mailbox
from .runs import RunJournal, finish_success, locked, new_run, perform, persist, state_for, sync_refusal

logger = logging.getLogger(__name__)

SYNCED_FIELDS = ("first_name", "last_name", "email", "title", "phone", "mobile", "city", "province", "country")
OWNER_FIELDS = ("customer_id", "prospect_id", "supplier_id", "group_id")
UPDATE_FIELDS = [
    *SYNCED_FIELDS,
    *OWNER_FIELDS,
    "needs_review",
    "review",
    "is_active",
    "outlook_modified_at",
    "updated_at",
]
LINK_FIELDS = ["contact", "change_key", "folder_id", "sync_hash", "modified_at"]


def sync_contacts(user: User, *, trigger: str = SyncRun.Trigger.SCHEDULE, client: GraphClient | None = None):
    """Synchronize `user`'s Outlook contacts into Prextra; the SyncRun, or None when not due.

    Raises runs.SyncBusy when another worker holds this user's contact sync. Graph failures do
    not raise: they are recorded on the run and the state (temporary ones retried with backoff).
    """
    connection = GraphConnection.current()
    if sync_refusal(user, Direction.CONTACTS_IN, connection):
        return None
    state = state_for(user, Direction.CONTACTS_IN)
    if state.pending_confirmation:
        return None
    with locked(state):
        run = new_run(user, Direction.CONTACTS_IN, trigger)
        client = client or GraphClient(GraphSettings.from_connection(connection))
        return perform(state, run, client, lambda mailbox: ContactRound(user, state, run, client, mailbox).execute())


class ContactRound:
    """One run over every contact folder of one mailbox (`mailbox`: its object id, see
    sync.mailbox): each folder's delta round, pages in,
    decisions journaled, writes in bulk per page; removals decided once every folder is read.

    A contact moved between folders arrives `@removed` in one folder and new in the other, in
    either order and with the same immutable id: it is the same Prextra contact, refiled. So an
    `@removed` counts only if no folder returned the contact this run and Prextra still files it in
    that folder (a late `@removed` from a folder it has left changes nothing). A folder read in
    full (new, or its delta link expired) or gone (deleted in Outlook) takes with it the contacts
    Prextra files there that no folder returned. Everything goes through the mass-change brake.
    The folders' delta links are stored last, with the run's outcome, so no cursor ever runs ahead
    of a decision (folders.py says when the folders are listed, and what it costs).
    """

    def __init__(self, user: User, state: SyncState, run: SyncRun, client: GraphClient, mailbox: str):
        self.user, self.state, self.run, self.client, self.mailbox = user, state, run, client, mailbox
        self.index = DomainIndex.load()
        self.journal = RunJournal(run)
        self.removed: list[tuple[str, str]] = []  # (Outlook id, folder id) reported @removed
        self.seen: set[str] = set()  # Outlook ids some folder returned this run
        self.emptied: set[str] = set()  # folders read in full or gone: unseen contacts filed there left
        self.links: dict[ContactFolder, str] = {}
        self.gone: list[ContactFolder] = []
        self.names: dict[str, str] = {}
        self.listed_at = None

    def execute(self) -> None:
        known = folders.known_folders(self.user)
        if folders.listing_due(self.state, self.run, known):
            known = self._list(known)
        unsure = self._read_all(known)
        if unsure or (not self.listed_at and any(oid not in self.seen for oid, _folder in self.removed)):
            # A folder answered 404 (deleted?), or a contact left a folder (moved to a folder not
            # known yet?): the listing says, before anything is deactivated.
            current = self._list(known)
            for folder in unsure:
                folder.delta_link = ""  # still listed: read it again in full
            self.gone += self._read_all([f for f in current if f not in known] + [f for f in unsure if f in current])
        halted = self._apply_removals()
        stamps = {"folders_listed_at": self.listed_at} if self.listed_at else {}
        with transaction.atomic():
            folders.store_links(self.links, self.gone)
            finish_success(self.state, self.run, **stamps, **halted)

    def _list(self, known: list[ContactFolder]) -> list[ContactFolder]:
        listing = folders.list_folders(self.user, self.client, self.mailbox, known)
        self.listed_at = timezone.now()
        self.gone += [folder for folder in listing.vanished if folder not in self.gone]
        return listing.current

    def _read_all(self, to_read: list[ContactFolder]) -> list[ContactFolder]:
        """Read each folder's round; the folders whose delta answered 404 (deleted in Outlook?)."""
        self.names.update({folder.folder_id: folder.display_name for folder in to_read})
        missing = []
        for folder in to_read:
            try:
                self.links[folder] = self._read(folder)
            except errors.ItemNotFoundError:
                logger.info("Contact folder %s of %s answered 404", folder.display_name, self.user.code)
                self.removed = [entry for entry in self.removed if entry[1] != folder.folder_id]
                self.links.pop(folder, None)
                missing.append(folder)
        return missing

    def _read(self, folder: ContactFolder) -> str:
        def forget() -> None:
            logger.info("Delta link of %s expired: full round of folder %s", self.user.code, folder.display_name)
            self.removed = [entry for entry in self.removed if entry[1] != folder.folder_id]

        return rounds.read_round(lambda delta_link: self._consume(folder, delta_link), folder.delta_link, forget)

    def _consume(self, folder: ContactFolder, delta_link: str) -> str:
        if not delta_link:
            self.emptied.add(folder.folder_id)
        pages = self.client.folder_contacts_delta(self.mailbox, folder.folder_id, delta_link)
        return rounds.consume_pages(pages, lambda page: self._process_page(page, folder.folder_id))

    # --- one page ---------------------------------------------------------------------------
    def _process_page(self, page: DeltaPage, folder_id: str | None) -> None:
        """One page of `folder_id`'s round (None: the folder each item names, for a resync)."""
        self.now = timezone.now()
        items = rounds.last_occurrence_by_id(page.items, self.journal)
        links = {
            link.outlook_id: link
            for link in OutlookContact.objects.filter(mailbox=self.user, outlook_id__in=list(items))
            .select_related("contact")
            .order_by()
        }
        decoded = {oid: contact_from_graph(item) for oid, item in items.items() if "@removed" not in item}
        by_address = _active_by_address(decoded.values())
        _share_instances(links.values(), by_address)
        self.page = _Page(links, by_address)
        for outlook_id, item in items.items():
            with rounds.one_item(self.journal, outlook_id, outlook_id=outlook_id):
                link = links.get(outlook_id)
                folder = folder_id if folder_id is not None else _folder_of(item, link)
                self._decide(outlook_id, item, decoded.get(outlook_id), link, folder)
        self._write(self.page)

    def _decide(
        self, outlook_id: str, item: dict, data: ContactData | Skip | None, link: OutlookContact | None, folder: str
    ) -> None:
        if "@removed" in item:
            self.removed.append((outlook_id, folder))
            return
        self.seen.add(outlook_id)
        if isinstance(data, Skip):
            self.journal.skip(label=data.label, email=data.email, outlook_id=outlook_id, reason=data.reason)
            return
        fingerprint, address = data.fingerprint(), data.email.strip().lower()
        current = link.contact if link is not None else None
        if link is not None and link.sync_hash == fingerprint and current.is_active and _address(current) == address:
            if link.folder_id != folder:  # only its folder changed
                self._refile(link, data, folder)
                self.page.link_updates.append(link)
            return  # nothing changed in this mailbox's synchronized fields: no other write
        change_key = item.get("changeKey") if isinstance(item.get("changeKey"), str) else ""
        modified = _modified_at(item, self.now)
        target = self.page.by_address.get(address)
        if (
            target is None
            and current is not None
            and (_address(current) == address or not self._held_elsewhere(current, link))
        ):
            # Its own contact: inactive and no other contact has the address (it comes back), or
            # its address changed and no other mailbox holds it (the contact's address changes).
            self.page.by_address.pop(_address(current), None)
            self.page.by_address[address] = target = current
        created = target is None
        if created:
            target = self._new_contact(outlook_id, data, modified)
            self.page.creates.append(target)
            self.page.by_address[address] = target
        if link is None:
            link = OutlookContact(mailbox=self.user, outlook_id=outlook_id, linked_at=self.now, contact=target)
            self.page.link_creates.append(link)
            if not created:
                self._link_existing(target, data, outlook_id)
        else:
            if current is not target:
                self._move(link, current, target, data)
            self.page.link_updates.append(link)
        link.contact, link.change_key, link.sync_hash, link.modified_at = (
            target,
            change_key[:255],
            fingerprint,
            modified,
        )
        self._refile(link, data, folder, journal=False)
        if not created:
            self._update_contact(target, data, modified, outlook_id)
        if data.truncated:
            self.journal.add(
                JournalEntry.Action.TRUNCATED,
                label=data.label,
                email=data.email,
                outlook_id=outlook_id,
                reason=reason("truncated", fields=list(data.truncated)),
                contact=target,
            )

    def _held_elsewhere(self, contact: Contact, link: OutlookContact) -> bool:
        """Whether another mailbox's item (or another item of this one) also links `contact`,
        counting what this page decided and has not written yet."""
        decided = [other for other in self.page.link_creates + self.page.link_updates if other is not link]
        if any(other.contact is contact for other in decided):
            return True
        moved = [other.pk for other in decided if other.pk is not None]  # their contact is decided above
        return OutlookContact.objects.filter(contact=contact).exclude(pk=link.pk).exclude(pk__in=moved).exists()

    def _new_contact(self, outlook_id: str, data: ContactData, modified: datetime) -> Contact:
        link = self.index.link_for(data.domain)
        contact = Contact(
            **data.fields(),
            **link.owner_values(),
            needs_review=link.needs_review,
            review=link.reason if link.needs_review else {},
            source=Contact.Source.EXCHANGE,
            representative=self.user,
            outlook_modified_at=modified,
            created_at=self.now,
        )
        self.run.created += 1
        self.journal.add(
            JournalEntry.Action.CREATED,
            label=data.label,
            email=data.email,
            outlook_id=outlook_id,
            reason=link.reason,
            contact=contact,
        )
        return contact

    def _link_existing(self, contact: Contact, data: ContactData, outlook_id: str) -> None:
        """This mailbox's item is a person Prextra already has: one contact, one more link."""
        self.journal.add(
            JournalEntry.Action.LINKED,
            label=data.label,
            email=data.email,
            outlook_id=outlook_id,
            reason=reason("linked_existing", name=contact.full_name, email=data.email),
            contact=contact,
        )

    def _move(self, link: OutlookContact, old: Contact, new: Contact, data: ContactData) -> None:
        """The item's address changed: its link goes to the contact of the new address; the old
        contact stays with the mailboxes that still hold it (or becomes inactive, see _write)."""
        self.page.left.add(old.pk)
        self.journal.add(
            JournalEntry.Action.UNLINKED,
            label=f"{old.full_name} <{old.email}>",
            email=old.email,
            outlook_id=link.outlook_id,
            reason=reason("address_changed", email=data.email),
            contact=old,
        )

    def _update_contact(self, contact: Contact, data: ContactData, modified: datetime, outlook_id: str) -> None:
        """Apply this mailbox's version unless another mailbox's is more recent (then a conflict:
        the contact keeps the latest, the journal keeps this one)."""
        changes = {
            name: [getattr(contact, name), value]
            for name, value in data.fields().items()
            if getattr(contact, name) != value
        }
        if contact.outlook_modified_at is not None and modified < contact.outlook_modified_at:
            self._follow_item(contact, data, changes, outlook_id)
            if changes:
                self.journal.add(
                    JournalEntry.Action.CONFLICT,
                    label=data.label,
                    email=data.email,
                    outlook_id=outlook_id,
                    reason=reason("newer_elsewhere"),
                    changes=changes,
                    contact=contact,
                )
            return
        if not contact.is_active:
            changes["is_active"] = [False, True]
        if not changes and contact.outlook_modified_at == modified:
            return
        for name, (_old, new) in changes.items():
            setattr(contact, name, new)
        why = reason("modified") if changes else None
        if "is_active" in changes:
            why = reason("reactivated")
        link_reason = self._relink(contact, self.index.link_for(data.domain))
        contact.outlook_modified_at, contact.updated_at = modified, timezone.now()
        if contact not in self.page.updates and contact.pk is not None:
            self.page.updates.append(contact)
        if changes or link_reason:
            self.run.updated += 1
            self.journal.add(
                JournalEntry.Action.UPDATED,
                label=data.label,
                email=data.email,
                outlook_id=outlook_id,
                reason=[why, link_reason],
                changes=changes,
                contact=contact,
            )

    def _follow_item(self, contact: Contact, data: ContactData, changes: dict, outlook_id: str) -> None:
        """What an older version still changes on the item's own contact (_decide chose it): the
        address it changed in place (nobody else holds it) and its coming back; the other values
        stay the latest version's. Taken out of `changes`, which the conflict then journals."""
        own = {}
        if _address(contact) != data.email.strip().lower():
            own["email"] = changes.pop("email")
        if not contact.is_active:
            own["is_active"] = [False, True]
        if not own:
            return
        for name, (_old, new) in own.items():
            setattr(contact, name, new)
        why = reason("reactivated") if "is_active" in own else reason("modified")
        link_reason = self._relink(contact, self.index.link_for(data.domain))
        contact.updated_at = timezone.now()
        if contact not in self.page.updates and contact.pk is not None:
            self.page.updates.append(contact)
        self.run.updated += 1
        self.journal.add(
            JournalEntry.Action.UPDATED,
            label=data.label,
            email=data.email,
            outlook_id=outlook_id,
            reason=[why, link_reason],
            changes=own,
            contact=contact,
        )

    def _refile(self, link: OutlookContact, data: ContactData, folder: str, journal: bool = True) -> None:
        """File the item in the folder Outlook now has it in: a move between folders is journaled;
        an item synchronized before folders were (no folder yet) is filed silently."""
        moved = bool(link.folder_id) and link.folder_id != folder
        link.folder_id = folder[:512]
        if not moved:
            return
        why = reason("moved_folder", folder=self.names.get(folder, "?"))
        entry = next((e for e in reversed(self.journal.entries) if e.contact is link.contact), None)
        if entry is not None and not journal:
            entry.reasons.append(why)
            return
        self.run.updated += 1
        self.journal.add(
            JournalEntry.Action.UPDATED,
            label=data.label,
            email=data.email,
            outlook_id=link.outlook_id,
            reason=why,
            contact=link.contact,
        )

    def _relink(self, contact: Contact, link: Link) -> dict:
        """Move the contact to its new owner when the domain now says otherwise (unless a person
        chose it: locked, or entered in Prextra)."""
        if contact.owner_locked or contact.source != Contact.Source.EXCHANGE:
            return {}
        return apply_link(contact, link)

    def _write(self, page: _Page) -> None:
        """The page's writes and journal in one transaction; per item when a bulk write is refused."""
        with transaction.atomic():
            try:
                with transaction.atomic():
                    # Updates first: an address changed in place frees the old address for a new
                    # contact of the same page (one active contact per address).
                    Contact.objects.bulk_update(page.updates, UPDATE_FIELDS, batch_size=500)
                    bulk.insert(page.creates)
                    _assign_pks(page.creates)
                    _save_links(page)
            except IntegrityError:
                for contact in page.creates:  # the page's INSERT was rolled back with its savepoint
                    contact.pk, contact._state.adding = None, True
                for link in page.link_creates:
                    link.pk, link._state.adding = None, True
                self._write_one_by_one(page)
            self.journal.flush()
            if page.left:
                self.run.deleted += deactivate_orphans(page.left, self.run, user_id=self.user.pk)

    def _write_one_by_one(self, page: _Page) -> None:
        """Each item on its own: a contact of the same address created meanwhile by another
        mailbox's sync (the constraint refuses the second) gets this item linked instead. Updates
        first, as in `_write`."""
        for contact in page.updates:
            try:
                with transaction.atomic():
                    contact.save()
            except IntegrityError:
                self._failed(contact, page)
        for contact in page.creates:
            try:
                with transaction.atomic():
                    contact.save()
            except IntegrityError:
                existing = (
                    Contact.objects.annotate(address=Lower("email"))
                    .filter(address=_address(contact), is_active=True)
                    .first()
                )
                if existing is None:
                    self._failed(contact, page)
                    continue
                for link in page.link_creates + page.link_updates:
                    if link.contact is contact:
                        link.contact = existing
                for entry in self.journal.entries:
                    if entry.contact is contact:
                        entry.contact, entry.action = existing, JournalEntry.Action.LINKED
                self.run.created -= 1
        for link in page.link_creates + page.link_updates:
            if link.contact.pk is None:
                continue
            try:
                with transaction.atomic():
                    link.save()
            except IntegrityError:
                self._failed(link.contact, page)

    def _failed(self, contact: Contact, page: _Page) -> None:
        self.run.failed += 1
        self.journal.entries = [entry for entry in self.journal.entries if entry.contact is not contact]
        self.journal.add(
            JournalEntry.Action.FAILED,
            label=contact.full_name,
            email=contact.email,
            outlook_id=next((link.outlook_id for link in page.link_creates if link.contact is contact), ""),
            reason=reason("refused_by_database"),
        )

    # --- deletions --------------------------------------------------------------------------
    def _apply_removals(self) -> dict:
        """Remove the links of what left this mailbox, unless it is a mass change (then hold it for
        confirmation); a contact no mailbox links any more becomes inactive."""
        links = OutlookContact.objects.filter(mailbox=self.user, contact__is_active=True)
        active = {oid: (pk, folder) for oid, pk, folder in links.values_list("outlook_id", "contact_id", "folder_id")}
        gone = {
            outlook_id
            for outlook_id, folder in self.removed
            if outlook_id in active and active[outlook_id][1] in {folder, ""}
        }
        emptied = self.emptied | {folder.folder_id for folder in self.gone}
        if any(folder.is_default and folder.folder_id in emptied for folder in self.links):
            emptied.add("")  # items synchronized before folders were all came from the default folder
        gone |= {outlook_id for outlook_id, (_pk, folder) in active.items() if folder in emptied}
        gone -= self.seen
        # The brake holds the Outlook items that left (counted against the items the mailbox
        # has), not their contacts: confirmed, only their links go, and another item of this
        # mailbox with the same address keeps its contact.
        held = rounds.brake(self.run, sorted(gone), len(active), "brake_contacts")
        if not held:
            pks = sorted({active[outlook_id][0] for outlook_id in gone})
            self.run.deleted += drop_links(self.user, pks, self.run, outlook_ids=gone)
        return held


class _Page:
    """What one page decided: contacts to create and update, links to create and update, contacts
    an item left (they may have no link any more), and the active contacts by address."""

    def __init__(self, links: dict[str, OutlookContact], by_address: dict[str, Contact]):
        self.links, self.by_address = links, by_address
        self.creates: list[Contact] = []
        self.updates: list[Contact] = []
        self.link_creates: list[OutlookContact] = []
        self.link_updates: list[OutlookContact] = []
        self.left: set[int] = set()


def _share_instances(links, by_address: dict[str, Contact]) -> None:
    """One Python object per contact row in a page: the links and the address index share it, so
    `is` tells the same contact and the page's writes hold one version of each."""
    rows = {contact.pk: contact for contact in by_address.values()}
    for link in links:
        link.contact = rows.setdefault(link.contact.pk, link.contact)


def _address(contact: Contact) -> str:
    return (contact.email or "").strip().lower()


def _active_by_address(decoded) -> dict[str, Contact]:
    """The active contacts whose address a contact of the page has, as the mapping cleaned it
    (one query; an address Outlook sent with control characters never reaches the database)."""
    addresses = {data.email.strip().lower() for data in decoded if isinstance(data, ContactData)}
    if not addresses:
        return {}
    found = Contact.objects.annotate(address=Lower("email")).filter(address__in=addresses, is_active=True)
    return {contact.address: contact for contact in found.order_by()}


def _modified_at(item: dict, default: datetime) -> datetime:
    """Outlook's lastModifiedDateTime of the item (when it was last changed there), else now."""
    value = item.get("lastModifiedDateTime")
    moment = parse_datetime(value) if isinstance(value, str) else None
    if moment is None:
        return default
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment, timezone.UTC)


def _assign_pks(contacts: list[Contact]) -> None:
    """The inserted contacts' keys, by their address (one active contact per address), read
    through the lowercase-address index."""
    by_address = {_address(contact): contact for contact in contacts}
    if not by_address:
        return
    found = Contact.objects.annotate(address=Lower("email")).filter(address__in=list(by_address), is_active=True)
    for address, pk in found.order_by().values_list("address", "pk"):
        by_address[address].pk = pk


def _save_links(page: _Page) -> None:
    for link in page.link_creates + page.link_updates:
        link.contact_id = link.contact.pk
    OutlookContact.objects.bulk_create(page.link_creates, batch_size=500)
    OutlookContact.objects.bulk_update(page.link_updates, LINK_FIELDS, batch_size=500)


def resync_contact(user: User, outlook_id: str) -> str:
    """Read one Outlook item of `user`'s mailbox again and apply the rules to it now; what
    happened, in words.

    The "resync this item" action of the journal: the link's stored fingerprint is cleared so the
    item is written even if Outlook did not change it. Graph errors propagate.
    """
    connection = GraphConnection.current()
    state = state_for(user, Direction.CONTACTS_IN)
    with locked(state):
        client = GraphClient(GraphSettings.from_connection(connection))
        run = new_run(user, Direction.CONTACTS_IN, SyncRun.Trigger.MANUAL)
        persist(run)
        OutlookContact.objects.filter(mailbox=user, outlook_id=outlook_id).update(sync_hash="")
        try:
            # As the runs do: a stored mailbox id Graph no longer knows is resolved again.
            round_ = with_mailbox(
                user, client, lambda mailbox: _resync_item(user, state, run, client, mailbox, outlook_id)
            )
        except errors.GraphError as error:  # the run says how it ended; the screen says why
            run.result, run.failure, run.finished_at = SyncRun.Result.FAILED, error.reason, timezone.now()
            run.graph_requests = client.request_count
            run.save()
            raise
        if round_.removed:
            pks = list(
                OutlookContact.objects.filter(mailbox=user, outlook_id=outlook_id).values_list("contact_id", flat=True)
            )
            run.deleted += drop_links(user, pks, run, outlook_ids=[outlook_id])
        run.graph_requests = client.request_count
        run.result, run.finished_at = SyncRun.Result.SUCCESS, timezone.now()
        run.save()
    entry = run.entries.order_by("-pk").first()
    return describe(entry.reasons) if entry else _("Resynchronisé : rien n'a changé.")


def _resync_item(user: User, state: SyncState, run: SyncRun, client: GraphClient, mailbox: str, outlook_id: str):
    """Read the contact from `mailbox` (its object id) and apply the rules to it; the round used."""
    round_ = ContactRound(user, state, run, client, mailbox)
    round_.names = dict(ContactFolder.objects.filter(user=user).values_list("folder_id", "display_name"))
    try:
        item = client.get_contact(mailbox, outlook_id)
    except errors.ItemNotFoundError:
        item = {"id": outlook_id, "@removed": {"reason": "deleted"}}
    round_._process_page(DeltaPage([item], None, None), None)
    return round_


def _folder_of(item: dict, link: OutlookContact | None) -> str:
    """The folder an item read on its own is in: the one it names, else where Prextra files it."""
    folder = item.get("parentFolderId")
    if isinstance(folder, str) and folder:
        return folder
    return link.folder_id if link is not None else ""


def apply_link(contact: Contact, link: Link) -> dict:
    """Set the contact's owner from `link`; the reason when it changed, {} when it did not."""
    values = link.owner_values()
    unchanged = all(getattr(contact, name) == value for name, value in values.items())
    if unchanged and contact.needs_review == link.needs_review:
        return {}
    for name, value in values.items():
        setattr(contact, name, value)
    contact.needs_review = link.needs_review
    contact.review = link.reason if link.needs_review else {}
    return link.reason


def drop_links(user: User, contact_pks, run: SyncRun | None, why: dict | None = None, outlook_ids=None) -> int:
    """Remove `user`'s mailbox links to these contacts (they left that Outlook, or the user's
    contacts no longer synchronize); the contacts no mailbox holds any more become inactive.
    How many became inactive: a contact a colleague still has stays, journaled as unlinked.

    `outlook_ids`: only the links of these items (the ones that left); another item of the same
    mailbox with the same address keeps its link, and its contact stays."""
    contact_pks = set(contact_pks)
    if not contact_pks:
        return 0
    links = OutlookContact.objects.filter(mailbox=user, contact_id__in=contact_pks)
    if outlook_ids is not None:
        links = links.filter(outlook_id__in=list(outlook_ids))
    with transaction.atomic():
        links.delete()
        kept = Contact.objects.filter(pk__in=contact_pks, is_active=True, outlook_items__isnull=False).distinct()
        entries = [
            JournalEntry(
                run=run,
                user=user,
                direction=Direction.CONTACTS_IN,
                action=JournalEntry.Action.UNLINKED,
                item_label=f"{contact.full_name} <{contact.email}>"[:255],
                email=contact.email,
                reasons=[reason("left_mailbox", user=user.code, count=contact.holders)],
                contact=contact,
            )
            for contact in kept.annotate(holders=Count("outlook_items"))
        ]
        JournalEntry.objects.bulk_create(entries, batch_size=500)
        return deactivate_orphans(contact_pks, run, why, user_id=user.pk)


def deactivate_orphans(contact_pks, run: SyncRun | None, why: dict | None = None, user_id: int | None = None) -> int:
    """Make inactive those of these contacts that came from Outlook and that no mailbox links any
    more (never a hard delete: the CRM keeps their history); a contact entered in Prextra stays."""
    orphans = Contact.objects.filter(
        pk__in=list(contact_pks), is_active=True, source=Contact.Source.EXCHANGE, outlook_items__isnull=True
    )
    return deactivate_contacts(list(orphans.values_list("pk", flat=True)), run, why, user_id=user_id)


def deactivate_contacts(
    pks: list[int], run: SyncRun | None, why: dict | None = None, user_id: int | None = None
) -> int:
    """Make these contacts inactive (never a hard delete: the CRM keeps their history)."""
    if not pks:
        return 0
    why = why or reason("deleted_in_outlook")
    contacts = list(Contact.objects.filter(pk__in=pks, is_active=True))
    with transaction.atomic():
        Contact.objects.filter(pk__in=[contact.pk for contact in contacts]).update(
            is_active=False, updated_at=timezone.now()
        )
        JournalEntry.objects.bulk_create(
            [
                JournalEntry(
                    run=run,
                    user_id=user_id or (run and run.user_id) or contact.representative_id,
                    direction=Direction.CONTACTS_IN,
                    action=JournalEntry.Action.DELETED,
                    item_label=f"{contact.full_name} <{contact.email}>"[:255],
                    email=contact.email,
                    reasons=[why],
                    contact=contact,
                )
                for contact in contacts
                if user_id or run or contact.representative_id
            ],
            batch_size=500,
        )
    return len(contacts)


def confirm_pending_deletions(state: SyncState) -> int:
    """An administrator confirms the removals the brake held back: the links of the Outlook items
    that left go, and the contacts nobody holds any more become inactive. A brake held before the
    items were stored holds contact ids: all the mailbox's links to those contacts go."""
    why = reason("deletion_confirmed")
    items = [value for value in state.pending_deletions if isinstance(value, str)]
    pks = [value for value in state.pending_deletions if isinstance(value, int)]
    count = 0
    if items:
        links = OutlookContact.objects.filter(mailbox=state.user, outlook_id__in=items)
        count += drop_links(state.user, links.values_list("contact_id", flat=True), None, why, outlook_ids=items)
    if pks:
        count += drop_links(state.user, pks, None, why)
    rounds.release_brake(state)
    return count


def drop_mailbox(user: User, why: dict) -> int:
    """`user`'s contacts no longer synchronize (switch off, user deactivated): drop every link of
    their mailbox the same way; what a colleague still has stays active."""
    pks = list(OutlookContact.objects.filter(mailbox=user).values_list("contact_id", flat=True))
    return drop_links(user, pks, None, why)


def relink_domain(domain: str) -> int:
    """Re-link the synchronized contacts of `domain` after a company domain was added or removed."""
    return relink_domains([domain])


# Above this many domains, the candidates are all synchronized contacts, sorted in Python by
# their address's domain, rather than one `iendswith` condition per domain in the query.
FEW_DOMAINS = 20


def relink_domains(domains: list[str]) -> int:
    """Re-link the synchronized contacts of `domains` (added or removed in one go: a record page,
    or the ERP import writing thousands) against the domain index loaded once."""
    wanted = {domain.strip().lower() for domain in domains if domain and domain.strip()}
    if not wanted:
        return 0
    index = DomainIndex.load()
    candidates = Contact.objects.filter(source=Contact.Source.EXCHANGE, owner_locked=False).exclude(email="")
    if len(wanted) <= FEW_DOMAINS:
        matches = Q(pk__in=[])
        for domain in wanted:
            matches |= Q(email__iendswith=f"@{domain}")
        candidates = candidates.filter(matches)
    changed, entries = [], []
    for contact in candidates.iterator(chunk_size=2000):
        domain = contact.email.rsplit("@", 1)[-1].lower()
        if domain not in wanted:
            continue
        why = apply_link(contact, index.link_for(domain))
        if why:
            contact.updated_at = timezone.now()
            changed.append(contact)
            entries.append(
                JournalEntry(
                    user_id=contact.representative_id,
                    direction=Direction.CONTACTS_IN,
                    action=JournalEntry.Action.LINKED,
                    item_label=f"{contact.full_name} <{contact.email}>"[:255],
                    email=contact.email,
                    reasons=[why],
                    contact=contact,
                )
            )
    with transaction.atomic():
        Contact.objects.bulk_update(changed, [*OWNER_FIELDS, "needs_review", "review", "updated_at"], batch_size=500)
        JournalEntry.objects.bulk_create([entry for entry in entries if entry.user_id], batch_size=500)
    return len(changed)
