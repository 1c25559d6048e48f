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
- R8/R9: linked by email domain (exchange.linking); re-linked when the email changes or when a
  company domain is added or removed later (`relink_domain`). A contact assigned by hand
  (`owner_locked`) keeps its owner.
- An Outlook deletion makes the Prextra contact inactive, never deletes it. A run that would
  deactivate more than half of the user's synchronized contacts (and more than 20) holds those
  deactivations until an administrator confirms them (the mass-change brake).
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

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from crm.models import Contact

from ..graph import errors
from ..graph.client import DeltaPage, GraphClient, GraphSettings
from ..linking import DomainIndex, Link
from ..mapping import ContactData, Skip, contact_from_graph
from ..models import ContactFolder, Direction, GraphConnection, JournalEntry, SyncRun, SyncState
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
    "review_reason",
    "is_active",
    "sync_hash",
    "outlook_change_key",
    "outlook_folder_id",
    "updated_at",
]


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
        existing = {
            contact.outlook_id: contact
            for contact in Contact.objects.filter(outlook_mailbox=self.user, outlook_id__in=list(items)).order_by()
        }
        creates, updates = [], []
        for outlook_id, item in items.items():
            with rounds.one_item(self.journal, outlook_id, outlook_id=outlook_id):
                folder = folder_id if folder_id is not None else _folder_of(item, existing.get(outlook_id))
                self._decide(outlook_id, item, existing.get(outlook_id), folder, creates, updates)
        self._write(creates, updates)

    def _decide(
        self, outlook_id: str, item: dict, contact: Contact | None, folder: str, creates: list, updates: list
    ) -> None:
        if "@removed" in item:
            self.removed.append((outlook_id, folder))
            return
        self.seen.add(outlook_id)
        data = contact_from_graph(item)
        if isinstance(data, Skip):
            self.run.skipped += 1
            self.journal.add(
                JournalEntry.Action.SKIPPED,
                label=data.label,
                email=data.email,
                outlook_id=outlook_id,
                reason=data.reason,
            )
            return
        fingerprint = data.fingerprint()
        if contact is not None and contact.sync_hash == fingerprint and contact.is_active:
            if contact.outlook_folder_id != folder:  # only its folder changed
                self._refile(contact, data, folder)
                updates.append(contact)
            return  # nothing changed in the synchronized fields: no other write
        change_key = item.get("changeKey") if isinstance(item.get("changeKey"), str) else ""
        if contact is None:
            creates.append(self._new_contact(outlook_id, data, fingerprint, change_key[:255], folder))
        else:
            self._update_contact(contact, data, fingerprint, change_key[:255])
            self._refile(contact, data, folder, journal=False)
            updates.append(contact)
        if data.truncated:
            self.journal.add(
                JournalEntry.Action.TRUNCATED,
                label=data.label,
                email=data.email,
                outlook_id=outlook_id,
                reason=_("Valeurs trop longues coupées : %(fields)s.") % {"fields": ", ".join(data.truncated)},
                contact=creates[-1] if contact is None else contact,
            )

    def _new_contact(
        self, outlook_id: str, data: ContactData, fingerprint: str, change_key: str, folder: str
    ) -> Contact:
        link = self.index.link_for(data.domain)
        contact = Contact(
            **data.fields(),
            **link.owner_values(),
            needs_review=link.needs_review,
            review_reason=link.reason[:255] if link.needs_review else "",
            source=Contact.Source.EXCHANGE,
            representative=self.user,
            outlook_mailbox=self.user,
            outlook_id=outlook_id,
            outlook_change_key=change_key,
            outlook_folder_id=folder[:512],
            sync_hash=fingerprint,
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

    def _update_contact(self, contact: Contact, data: ContactData, fingerprint: str, change_key: str) -> None:
        changes = {
            name: [getattr(contact, name), value]
            for name, value in data.fields().items()
            if getattr(contact, name) != value
        }
        if not contact.is_active:
            changes["is_active"] = [False, True]
        for name, (_old, new) in changes.items():
            setattr(contact, name, new)
        reason = _("Modifié dans Outlook.") if contact.is_active else ""
        if "is_active" in changes:
            reason = _("Réapparu dans Outlook : réactivé.")
        link_reason = self._relink(contact, self.index.link_for(data.domain))
        contact.sync_hash, contact.outlook_change_key, contact.updated_at = fingerprint, change_key, timezone.now()
        self.run.updated += 1
        self.journal.add(
            JournalEntry.Action.UPDATED,
            label=data.label,
            email=data.email,
            outlook_id=contact.outlook_id,
            reason=" ".join(filter(None, [reason, link_reason])),
            changes=changes,
            contact=contact,
        )

    def _refile(self, contact: Contact, data: ContactData, folder: str, journal: bool = True) -> None:
        """File the contact in the folder Outlook now has it in: a move between folders is journaled;
        a contact synchronized before folders were (no folder yet) is filed silently."""
        moved = bool(contact.outlook_folder_id) and contact.outlook_folder_id != folder
        contact.outlook_folder_id = folder[:512]
        if not moved:
            return
        reason = _("Déplacé dans Outlook vers le dossier « %(folder)s ».") % {"folder": self.names.get(folder, "?")}
        entry = next((e for e in reversed(self.journal.entries) if e.contact is contact), None)
        if entry is not None and not journal:
            entry.reason = " ".join(filter(None, [entry.reason, reason]))
            return
        contact.updated_at = timezone.now()
        self.run.updated += 1
        self.journal.add(
            JournalEntry.Action.UPDATED,
            label=data.label,
            email=data.email,
            outlook_id=contact.outlook_id,
            reason=reason,
            contact=contact,
        )

    def _relink(self, contact: Contact, link: Link) -> str:
        """Move the contact to its new owner when the domain now says otherwise (unless locked)."""
        if contact.owner_locked:
            return ""
        return apply_link(contact, link)

    def _write(self, creates: list[Contact], updates: list[Contact]) -> None:
        """The page's writes and journal in one transaction; per item when a bulk write is refused."""
        with transaction.atomic():
            try:
                with transaction.atomic():
                    bulk.insert(creates)
                    bulk.assign_pks(creates, Contact.objects.filter(outlook_mailbox=self.user), "outlook_id")
                    Contact.objects.bulk_update(updates, UPDATE_FIELDS, batch_size=500)
            except IntegrityError:
                for contact in creates:  # the page's INSERT was rolled back with its savepoint
                    contact.pk, contact._state.adding = None, True
                self._write_one_by_one(creates + updates)
            self.journal.flush()

    def _write_one_by_one(self, contacts: list[Contact]) -> None:
        for contact in contacts:
            try:
                with transaction.atomic():
                    contact.save()
            except IntegrityError as exc:
                self.run.failed += 1
                self.journal.entries = [entry for entry in self.journal.entries if entry.contact is not contact]
                self.journal.add(
                    JournalEntry.Action.FAILED,
                    label=contact.full_name,
                    email=contact.email,
                    outlook_id=contact.outlook_id or "",
                    reason=_("Refusé par la base de données : %(error)s") % {"error": str(exc)[:300]},
                )

    # --- deletions --------------------------------------------------------------------------
    def _apply_removals(self) -> dict:
        """Deactivate what left Outlook, unless it is a mass change (then hold it for confirmation)."""
        synced = Contact.objects.filter(outlook_mailbox=self.user, source=Contact.Source.EXCHANGE, is_active=True)
        active = {oid: (pk, folder) for oid, pk, folder in synced.values_list("outlook_id", "pk", "outlook_folder_id")}
        gone = {
            outlook_id
            for outlook_id, folder in self.removed
            if outlook_id in active and active[outlook_id][1] in {folder, ""}
        }
        emptied = self.emptied | {folder.folder_id for folder in self.gone}
        if any(folder.is_default and folder.folder_id in emptied for folder in self.links):
            emptied.add("")  # contacts synchronized before folders were all came from the default folder
        gone |= {outlook_id for outlook_id, (_pk, folder) in active.items() if folder in emptied}
        pks = sorted(active[outlook_id][0] for outlook_id in gone - self.seen)
        held = rounds.brake(
            self.run,
            pks,
            len(active),
            _("Frein : %(count)s contacts sur %(total)s seraient désactivés. Un administrateur doit confirmer."),
        )
        if not held:
            self.run.deleted += deactivate_contacts(pks, self.run)
        return held


def resync_contact(user: User, outlook_id: str) -> str:
    """Read one Outlook contact again and apply the rules to it now; what happened, in words.

    The "resync this item" action of the journal: the stored fingerprint is cleared so the
    item is written even if Outlook did not change it. Graph errors propagate.
    """
    connection = GraphConnection.current()
    state = state_for(user, Direction.CONTACTS_IN)
    with locked(state):
        client = GraphClient(GraphSettings.from_connection(connection))
        run = new_run(user, Direction.CONTACTS_IN, SyncRun.Trigger.MANUAL)
        persist(run)
        Contact.objects.filter(outlook_mailbox=user, outlook_id=outlook_id).update(sync_hash="")
        # As the runs do: a stored mailbox id Graph no longer knows is resolved again.
        round_ = with_mailbox(user, client, lambda mailbox: _resync_item(user, state, run, client, mailbox, outlook_id))
        if round_.removed:
            pks = list(
                Contact.objects.filter(outlook_mailbox=user, outlook_id=outlook_id, is_active=True).values_list(
                    "pk", flat=True
                )
            )
            run.deleted += deactivate_contacts(pks, run)
        run.graph_requests = client.request_count
        run.result, run.finished_at = SyncRun.Result.SUCCESS, timezone.now()
        run.save()
    entry = run.entries.order_by("-pk").first()
    return entry.reason if entry else _("Resynchronisé : rien n'a changé.")


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


def _folder_of(item: dict, contact: Contact | None) -> str:
    """The folder a contact read on its own is in: the one it names, else where Prextra files it."""
    folder = item.get("parentFolderId")
    if isinstance(folder, str) and folder:
        return folder
    return contact.outlook_folder_id if contact is not None else ""


def apply_link(contact: Contact, link: Link) -> str:
    """Set the contact's owner from `link`; the reason when it changed, '' when it did not."""
    values = link.owner_values()
    unchanged = all(getattr(contact, name) == value for name, value in values.items())
    if unchanged and contact.needs_review == link.needs_review:
        return ""
    for name, value in values.items():
        setattr(contact, name, value)
    contact.needs_review = link.needs_review
    contact.review_reason = link.reason[:255] if link.needs_review else ""
    return link.reason


def deactivate_contacts(pks: list[int], run: SyncRun | None, reason: str = "", user_id: int | None = None) -> int:
    """Make these contacts inactive (never a hard delete: the CRM keeps their history)."""
    if not pks:
        return 0
    reason = reason or _("Supprimé dans Outlook : contact désactivé.")
    contacts = list(Contact.objects.filter(pk__in=pks, is_active=True).select_related("outlook_mailbox"))
    with transaction.atomic():
        Contact.objects.filter(pk__in=[contact.pk for contact in contacts]).update(
            is_active=False, sync_hash="", updated_at=timezone.now()
        )
        JournalEntry.objects.bulk_create(
            [
                JournalEntry(
                    run=run,
                    user_id=contact.outlook_mailbox_id or user_id or (run and run.user_id),
                    direction=Direction.CONTACTS_IN,
                    action=JournalEntry.Action.DELETED,
                    item_label=f"{contact.full_name} <{contact.email}>"[:255],
                    email=contact.email,
                    outlook_id=contact.outlook_id or "",
                    reason=reason,
                    contact=contact,
                )
                for contact in contacts
            ],
            batch_size=500,
        )
    return len(contacts)


def confirm_pending_deletions(state: SyncState) -> int:
    """An administrator confirms the deactivations the brake held back."""
    count = deactivate_contacts(
        list(state.pending_deletions),
        None,
        _("Supprimé dans Outlook : désactivation confirmée par un administrateur."),
        user_id=state.user_id,
    )
    rounds.release_brake(state)
    return count


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
    for contact in candidates.select_related("outlook_mailbox").iterator(chunk_size=2000):
        domain = contact.email.rsplit("@", 1)[-1].lower()
        if domain not in wanted:
            continue
        reason = apply_link(contact, index.link_for(domain))
        if reason:
            contact.updated_at = timezone.now()
            changed.append(contact)
            entries.append(
                JournalEntry(
                    user_id=contact.outlook_mailbox_id or contact.representative_id,
                    direction=Direction.CONTACTS_IN,
                    action=JournalEntry.Action.LINKED,
                    item_label=f"{contact.full_name} <{contact.email}>"[:255],
                    email=contact.email,
                    outlook_id=contact.outlook_id or "",
                    reason=reason,
                    contact=contact,
                )
            )
    with transaction.atomic():
        Contact.objects.bulk_update(
            changed, [*OWNER_FIELDS, "needs_review", "review_reason", "updated_at"], batch_size=500
        )
        JournalEntry.objects.bulk_create([entry for entry in entries if entry.user_id], batch_size=500)
    return len(changed)
