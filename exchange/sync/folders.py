"""The contact folders of a mailbox, as Prextra knows them (one ContactFolder row, one cursor each).

Outlook users file contacts in subfolders of Contacts and in other contact folders; Graph tracks
changes per folder only (https://learn.microsoft.com/graph/api/contact-delta), so the contact
sync reads each folder with its own delta link.

Listing the folders costs 2 + one request per folder (GraphClient.contact_folders), so an idle
scheduled run does not list them: it reads the folders it knows, one delta request each (one
request in all for a mailbox with only the default folder, and no write). The folders are listed
again when `LIST_EVERY` has passed, on every run a person started, and at once on a run where a
folder vanished (404) or a contact left a folder (an @removed may be a move into a folder not
known yet: it is looked for before anything is deactivated). A folder created in Outlook is so
picked up within `LIST_EVERY`, and its contacts at once when they were moved there.

With change notifications on (PREXTRA_PUBLIC_URL), a healthy mailbox is read only every
PREXTRA_SAFETY_POLL (5 min), and listing its folders at each of those reads would cost 3 of its
5 requests: `LIST_EVERY_NOTIFIED` (an hour) applies instead, which keeps an idle mailbox under 30
Graph requests an hour (the benchmark's scenario 12). The price: contacts created in a folder
made in Outlook since the last listing arrive within the hour (moved there, at once as above).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from accounts.models import User

from ..graph.client import GraphClient
from ..models import ContactFolder, SyncRun, SyncState

LIST_EVERY = timedelta(minutes=5)
LIST_EVERY_NOTIFIED = timedelta(hours=1)


def listing_due(state: SyncState, run: SyncRun, known: list[ContactFolder]) -> bool:
    """Whether this run lists the mailbox's folders before reading them."""
    if not known or not run.automatic or state.folders_listed_at is None:
        return True
    every = LIST_EVERY_NOTIFIED if settings.PREXTRA_PUBLIC_URL else LIST_EVERY
    return timezone.now() - state.folders_listed_at >= every


def known_folders(user: User) -> list[ContactFolder]:
    """The folders of the last listing, the default one first."""
    return list(ContactFolder.objects.filter(user=user).order_by("-is_default", "pk"))


@dataclass
class Listing:
    """What a listing found: the folders to read, and the known ones Outlook no longer has."""

    current: list[ContactFolder] = field(default_factory=list)
    vanished: list[ContactFolder] = field(default_factory=list)


def list_folders(user: User, client: GraphClient, mailbox: str, known: list[ContactFolder]) -> Listing:
    """List the contact folders of `mailbox` (its object id); new ones get a row with no cursor (a full round).

    The rows of vanished folders are left for the run to delete once it has decided what became
    of their contacts (`forget`)."""
    by_id = {folder.folder_id: folder for folder in known}
    listing = Listing()
    for index, item in enumerate(client.contact_folders(mailbox)):
        name, is_default = str(item.get("displayName") or "")[:255], index == 0
        folder = by_id.pop(item["id"], None)
        if folder is None:
            folder = ContactFolder.objects.create(
                user=user, folder_id=item["id"], display_name=name, is_default=is_default
            )
        elif (folder.display_name, folder.is_default) != (name, is_default):
            folder.display_name, folder.is_default = name, is_default
            folder.save(update_fields=["display_name", "is_default"])
        listing.current.append(folder)
    listing.vanished = list(by_id.values())
    return listing


def store_links(links: dict[ContactFolder, str], gone: list[ContactFolder]) -> None:
    """Record each folder's new delta link (only those that moved: an idle run writes nothing)
    and forget the folders Outlook no longer has."""
    moved = [folder for folder, link in links.items() if folder.delta_link != link]
    for folder in moved:
        folder.delta_link = links[folder]
    ContactFolder.objects.bulk_update(moved, ["delta_link"])
    if gone:
        ContactFolder.objects.filter(pk__in=[folder.pk for folder in gone]).delete()
