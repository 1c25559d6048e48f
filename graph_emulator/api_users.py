"""Graph users: `GET /users/{id | userPrincipalName}` and `GET /users?$filter=…&$select=…`.

References: https://learn.microsoft.com/graph/api/user-get, https://learn.microsoft.com/graph/api/user-list,
https://learn.microsoft.com/graph/api/resources/user (`mail` is the primary SMTP address,
"Supports $filter (eq, …)"; `proxyAddresses` such as ["SMTP: bob@contoso.com",
"smtp: bob@sales.contoso.com"] is "Returned only on $select" and filtered with `any`),
https://learn.microsoft.com/graph/aad-advanced-queries ($count needs `ConsistencyLevel: eventual`).
"""

from __future__ import annotations

import re

from .errors import GraphError, bad_request
from .store import Mailbox, Store
from .wire import Request, Response

VERSION = "v1.0"
DEFAULT_PROPERTIES = (
    "businessPhones",
    "displayName",
    "givenName",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
    "id",
)
SELECTABLE = {*DEFAULT_PROPERTIES, "proxyAddresses"}
STRING = r"'((?:[^']|'')*)'"
CLAUSES = {
    "mail": re.compile(rf"^mail\s+eq\s+{STRING}$", re.IGNORECASE),
    "userPrincipalName": re.compile(rf"^userPrincipalName\s+eq\s+{STRING}$", re.IGNORECASE),
    "proxyAddresses": re.compile(rf"^proxyAddresses/any\((\w+)\s*:\s*\1\s+eq\s+{STRING}\)$", re.IGNORECASE),
}


def user_json(mailbox: Mailbox) -> dict:
    """Every property the emulator knows of the mailbox's user."""
    proxies = [f"SMTP:{mailbox.address}", *(f"smtp:{alias}" for alias in mailbox.aliases)]
    if mailbox.upn.lower() != mailbox.address.lower():
        # Exchange Online keeps an address matching the UPN among the proxies
        # (learn.microsoft.com/answers/questions/873307).
        proxies.append(f"smtp:{mailbox.upn}")
    return {
        "businessPhones": [],
        "displayName": mailbox.display_name,
        "givenName": None,
        "jobTitle": None,
        "mail": mailbox.address,
        "mobilePhone": None,
        "officeLocation": None,
        "preferredLanguage": "fr-CA",
        "surname": None,
        "userPrincipalName": mailbox.upn,
        "id": mailbox.id,
        "proxyAddresses": proxies,
    }


def get_user(store: Store, req: Request, key: str) -> Response:
    """One user by object id or UPN; a primary SMTP address that is not the UPN is not found."""
    mailbox = store.find_user(key)
    if mailbox is None:
        raise GraphError(
            404,
            "Request_ResourceNotFound",
            f"Resource '{key}' does not exist or one of its queried reference-property objects are not present.",
        )
    body = {"@odata.context": f"{req.base}/{VERSION}/$metadata#users/$entity"}
    body.update(_selected(user_json(mailbox), _select(req)))
    return Response(200, body)


def list_users(store: Store, req: Request) -> Response:
    """The users matching `$filter` (mail, userPrincipalName, proxyAddresses/any; joined by `or`)."""
    select = _select(req)
    predicate = _filter(req.query.get("$filter", ""))
    count = req.query.get("$count", "").lower() == "true"
    if count and (req.header("consistencylevel") or "").lower() != "eventual":
        # aad-advanced-queries: $count on directory objects is an advanced query.
        raise bad_request("$count is not currently supported.", "Request_BadRequest")
    users = [_selected(user_json(m), select) for m in store.users_matching(predicate)]
    body: dict = {"@odata.context": f"{req.base}/{VERSION}/$metadata#users"}
    if count:
        body["@odata.count"] = len(users)
    body["value"] = users
    return Response(200, body)


def _select(req: Request) -> list[str] | None:
    raw = req.query.get("$select", "")
    if not raw:
        return None
    names = [name.strip() for name in raw.split(",") if name.strip()]
    known = {name.lower(): name for name in SELECTABLE}
    for name in names:
        if name.lower() not in known:
            raise bad_request(f"Could not find a property named '{name}' on type 'microsoft.graph.user'.")
    return [known[name.lower()] for name in names]


def _selected(user: dict, select: list[str] | None) -> dict:
    names = select or DEFAULT_PROPERTIES
    return {name: user[name] for name in names}


def _filter(text: str):
    """A predicate over mailboxes for the supported `$filter` clauses; 400 for any other.

    Comparisons ignore case (addresses are case-insensitive in the directory). The product does
    not rely on it for the SMTP:/smtp: prefix: it asks `mail` for the primary address first."""
    if not text.strip():
        return lambda mailbox: True
    tests = [_clause(part.strip()) for part in re.split(r"\s+or\s+(?=(?:[^']*'[^']*')*[^']*$)", text.strip())]
    return lambda mailbox: any(test(user_json(mailbox)) for test in tests)


def _clause(text: str):
    for name, pattern in CLAUSES.items():
        match = pattern.match(text)
        if match:
            value = match.group(match.lastindex).replace("''", "'").lower()
            if name == "proxyAddresses":
                return lambda user: value in {proxy.lower() for proxy in user["proxyAddresses"]}
            return lambda user, name=name: (user[name] or "").lower() == value
    prop = re.split(r"[\s/(]", text, maxsplit=1)[0] or text
    raise GraphError(
        400,
        "Request_UnsupportedQuery",
        f"Unsupported or invalid query filter clause specified for property '{prop}' of resource 'User'.",
    )
