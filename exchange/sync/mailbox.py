"""Which Microsoft 365 mailbox a Prextra user is: found once from « Courriel », kept as an object id.

Graph names a user by object id or user principal name (`/users/{id | userPrincipalName}`,
https://learn.microsoft.com/graph/api/user-get), and in many tenants the UPN (an internal
`…onmicrosoft.com` sign-in name) is not the primary SMTP address Prextra holds. So the address is
looked up once among the directory's primary addresses and aliases (GraphClient.find_user, which
needs User.Read.All), and every Graph URL of both syncs uses the object id stored on the user's
ExchangeProfile with the address it came from: a changed email is looked up again, and so is an
id Graph no longer knows (a user deleted and created again).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from accounts.models import ExchangeProfile, User

from ..graph import errors
from ..graph.client import GraphClient
from ..models import ContactFolder, Direction, SyncState

T = TypeVar("T")


def find_mailbox(client: GraphClient, address: str) -> dict:
    """The directory user of `address` (primary SMTP address or alias); in words when none."""
    found = client.find_user(address)
    if found is None:
        raise errors.MailboxNotFoundError(
            errors.failure("graph_no_mailbox_for_address", address=address),
            code="MailboxNotFound",
        )
    return found


def stored_mailbox(user: User) -> str:
    """The object id resolved from the user's current email, or '' (none yet, or the email changed)."""
    profile = ExchangeProfile.objects.filter(user=user).values("mailbox_id", "mailbox_address").first()
    if profile and profile["mailbox_id"] and profile["mailbox_address"].lower() == user.email.lower():
        return profile["mailbox_id"]
    return ""


def resolve_mailbox(user: User, client: GraphClient) -> str:
    """Look the user's email up in the directory now and store the object id found.

    A delta link belongs to the mailbox it was read from: when the id changes (another mailbox,
    or the first id after links made with the address), the user's rounds start over in full,
    which creates nothing twice (upserts by Outlook id) and never reads one mailbox's changes
    from another's link."""
    mailbox_id = find_mailbox(client, user.email)["id"][:64]
    profiles = ExchangeProfile.objects.filter(user=user)
    previous = profiles.values_list("mailbox_id", flat=True).first()
    # update(): never overwrite the sync switches an administrator may be saving meanwhile.
    profiles.update(mailbox_id=mailbox_id, mailbox_address=user.email)
    if previous != mailbox_id:
        SyncState.objects.filter(user=user).exclude(delta_link="").update(delta_link="")
        # Each contact folder's cursor too, and the folders are listed again: a folder the new
        # mailbox does not have vanishes, and its contacts go through the mass-deletion brake.
        ContactFolder.objects.filter(user=user).exclude(delta_link="").update(delta_link="")
        SyncState.objects.filter(user=user, direction=Direction.CONTACTS_IN).update(folders_listed_at=None)
    return mailbox_id


def mailbox_for(user: User, client: GraphClient) -> str:
    """The object id of the user's mailbox: stored, or resolved (one or two Graph requests)."""
    return stored_mailbox(user) or resolve_mailbox(user, client)


def with_mailbox(user: User, client: GraphClient, work: Callable[[str], T], state: SyncState | None = None) -> T:
    """`work(mailbox id)`; when Graph says a stored id names no mailbox (404 ErrorInvalidUser,
    ResourceNotFound, MailboxNotEnabledForRESTAPI), the email is resolved again and `work` runs
    once more. Both syncs' rounds are safe to replay (upserts, cursors stored at the end).
    `state` (the run's, read under its lock) learns a delta link reset by the resolution."""
    stored = stored_mailbox(user)
    try:
        return work(stored or _resolved(user, client, state))
    except errors.MailboxNotFoundError:
        if not stored:
            raise
    return work(_resolved(user, client, state))


def _resolved(user: User, client: GraphClient, state: SyncState | None) -> str:
    mailbox_id = resolve_mailbox(user, client)
    if state is not None:
        state.refresh_from_db(fields=["delta_link", "folders_listed_at"])
    return mailbox_id
