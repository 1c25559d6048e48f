"""The application permissions Prextra Sync needs in Microsoft Graph, and what is missing, in words.

- Contacts.Read: read the mailboxes' contacts (https://learn.microsoft.com/graph/api/user-list-contacts).
- Calendars.ReadWrite: read the calendars and write the activities Prextra sends
  (https://learn.microsoft.com/graph/api/user-list-calendarview, .../api/user-post-events).
- User.Read.All: find each user's mailbox from its email address, which need not be its user
  principal name (https://learn.microsoft.com/graph/api/user-list).

Without admin consent Entra ID still issues the app-only token, but with no `roles` claim, and
Graph answers 401 NoPermissionsInAccessToken (O365/python-o365 issues 446 and 763,
microsoft-graph-docs-contrib 6623); one permission missing gives 403 on its endpoints. The token's
`roles` claim names what was granted, so the words can say which permission to grant.
"""

from __future__ import annotations

import base64
import binascii
import json

from . import errors

# Each needed permission, with the permissions that include it.
REQUIRED = {
    "Contacts.Read": {"Contacts.Read", "Contacts.ReadWrite"},
    "Calendars.ReadWrite": {"Calendars.ReadWrite"},
    "User.Read.All": {"User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"},
}
NO_PERMISSIONS = "nopermissionsinaccesstoken"


class MissingPermissionError(errors.PermissionDeniedError):
    """The token lacks a permission the request needs: the whole run stops until it is granted."""


def roles_in(token: str) -> set[str] | None:
    """The `roles` claim of an access token; None when the token cannot be read.

    The payload is decoded without checking the signature: the token is meant for Graph, which
    verifies it; Prextra only reads which permissions it carries, to explain a refusal."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, binascii.Error):
        return None
    roles = claims.get("roles") if isinstance(claims, dict) else None
    return {role for role in roles if isinstance(role, str)} if isinstance(roles, list) else set()


def missing(roles: set[str] | None) -> list[str]:
    """The needed permissions that `roles` does not grant ([] when the roles are unknown)."""
    if roles is None:
        return []
    return [name for name, granted_by in REQUIRED.items() if not granted_by & roles]


def needed_for(path: str) -> str:
    """The permission a Graph request needs, from its URL ('' when it is not one of ours)."""
    lowered = path.split("?", 1)[0].lower()
    if "/contacts" in lowered or "/contactfolders" in lowered:
        return "Contacts.Read"
    if "/events" in lowered or "/calendar" in lowered or lowered.endswith("/$batch"):
        return "Calendars.ReadWrite"
    if lowered.rstrip("/").endswith("/users"):
        return "User.Read.All"
    return ""


def advice(names: list[str]) -> dict:
    """What an administrator must do, naming the missing permissions (a stored reason)."""
    return errors.failure("graph_missing_permission", permissions=", ".join(names))


def explained(error: errors.GraphError, roles: set[str] | None, path: str) -> errors.GraphError:
    """`error`, or a PermissionDeniedError naming the permission to grant when the token lacks
    the one the request needed (a 403 with every permission granted is an access policy: kept)."""
    if error.code.lower() == NO_PERMISSIONS:
        names = missing(roles) or list(REQUIRED)
    elif isinstance(error, errors.PermissionDeniedError):
        needed = needed_for(path)
        names = [needed] if needed and needed in missing(roles) else []
    else:
        names = []
    if not names:
        return error
    return MissingPermissionError(advice(names), status=error.status, code=error.code, detail=error.detail)
