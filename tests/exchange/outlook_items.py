"""Finding the Prextra contact of an Outlook item in tests, once its link may be gone: the link of
that item if it still exists, else the contact the journal wrote it to."""

from __future__ import annotations

from django.db.models import Q

from crm.models import Contact, OutlookContact


def contact_of(outlook_id: str) -> Contact:
    """The one contact the item `outlook_id` links, or was last written to (after a deletion)."""
    return (
        Contact.objects.filter(Q(outlook_items__outlook_id=outlook_id) | Q(journal_entries__outlook_id=outlook_id))
        .distinct()
        .get()
    )


def folder_of(outlook_id: str) -> str:
    """The folder Prextra files the item in (its link's)."""
    return OutlookContact.objects.get(outlook_id=outlook_id).folder_id
