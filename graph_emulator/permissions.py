"""Application permissions (the token's `roles` claim), enforced per endpoint as Graph does.

A client-credentials token issued without admin consent carries no `roles` claim; Graph then
answers every call 401 NoPermissionsInAccessToken, "The token contains no permissions, or
permissions can not be understood." (O365/python-o365 issues 446 and 763, caronc/apprise 225,
microsoft-graph-docs-contrib 6623). A token that lacks the permission of one endpoint gets 403
there: ErrorAccessDenied from Outlook (docs/graph-notes.md §5), Authorization_RequestDenied from the
directory (https://learn.microsoft.com/graph/errors).

The permissions each endpoint accepts, application type, from its "Permissions" table:
- contacts read: Contacts.Read (least), Contacts.ReadWrite — api/user-list-contacts,
  api/contact-get, api/contact-delta; writes: Contacts.ReadWrite — api/user-post-contacts.
- calendars read: Calendars.ReadBasic (least), Calendars.Read, Calendars.ReadWrite —
  api/user-list-calendarview, api/event-get, api/event-delta; writes: Calendars.ReadWrite —
  api/user-post-events, api/event-update, api/event-delete.
- subscriptions (create, get, renew, delete): the read permission of the resource, Calendars.Read
  (least; Calendars.ReadBasic is not listed) or Contacts.Read, or their ReadWrite —
  https://learn.microsoft.com/graph/outlook-change-notifications-overview, "Request permissions".
- users: User.Read.All (least), User.ReadWrite.All, Directory.Read.All, Directory.ReadWrite.All —
  api/user-list, api/user-get.
"""

from __future__ import annotations

from .errors import GraphError
from .wire import Request

READ_METHODS = {"GET", "HEAD"}
ACCEPTED = {
    ("contacts", "read"): {"Contacts.Read", "Contacts.ReadWrite"},
    ("contacts", "write"): {"Contacts.ReadWrite"},
    ("calendars", "read"): {"Calendars.ReadBasic", "Calendars.Read", "Calendars.ReadWrite"},
    ("calendars", "write"): {"Calendars.ReadWrite"},
    ("calendars", "subscribe"): {"Calendars.Read", "Calendars.ReadWrite"},
    ("contacts", "subscribe"): {"Contacts.Read", "Contacts.ReadWrite"},
    ("users", "read"): {"User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"},
}
KIND_OF_SEGMENT = {
    "contacts": "contacts",
    "contactFolders": "contacts",
    "events": "calendars",
    "calendar": "calendars",
    "calendars": "calendars",
    "calendarView": "calendars",
}


def require_some(roles: tuple[str, ...]) -> None:
    """401 NoPermissionsInAccessToken when the token carries no application permission at all."""
    if not roles:
        raise GraphError(
            401,
            "NoPermissionsInAccessToken",
            "The token contains no permissions, or permissions can not be understood.",
        )


def require(req: Request, kind: str) -> None:
    """403 unless the request's token holds a permission that `kind` (contacts, calendars,
    users) accepts for this method. Requests built inside the emulator (roles None) pass."""
    if req.roles is None:
        return
    access = "read" if req.method in READ_METHODS else "write"
    accepted = ACCEPTED.get((kind, access), ACCEPTED.get((kind, "read"), set()))
    if accepted & set(req.roles):
        return
    if kind == "users":
        raise GraphError(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
    raise GraphError(403, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")


def require_subscription(req: Request, kind: str) -> None:
    """403 ErrorAccessDenied unless the token may read the subscription's resource ("events" or
    "contacts"), whatever the method. Requests built inside the emulator (roles None) pass."""
    if req.roles is None:
        return
    accepted = ACCEPTED[("calendars" if kind == "events" else "contacts", "subscribe")]
    if not accepted & set(req.roles):
        raise GraphError(403, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")
