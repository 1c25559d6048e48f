"""OData query options and Prefer headers as Microsoft Graph reads them for Outlook.

References: https://learn.microsoft.com/graph/query-parameters, https://learn.microsoft.com/graph/paging
and the Prefer headers of https://learn.microsoft.com/graph/api/user-list-calendarview.
"""

from __future__ import annotations

import re
from urllib.parse import quote, urlencode

from .errors import GraphError, bad_request

DEFAULT_PAGE = 10  # Outlook's default page size for messages, events and contacts
MAX_PAGE = 1000
# Graph caps Prefer: odata.maxpagesize per resource: "200 for objects, such as users and
# contacts ... Even if a higher value is specified, the API will cap the page size to these
# limits" (Microsoft Q&A, learn.microsoft.com/answers/a/2052165, on contact: delta). No cap is
# documented or reported for calendarView/delta (reports show pages *larger* than asked when a
# series expands: microsoft-graph-docs issue 7352, msgraph-sdk-dotnet issue 3070): MAX_PAGE.
CONTACTS_MAX_PAGE = 200


def parse_prefer(values: list[str]) -> dict[str, str]:
    """Parse one or more Prefer headers into {lowercase name: unquoted value}."""
    prefs: dict[str, str] = {}
    for header in values:
        for part in _split_outside_quotes(header):
            name, _, value = part.partition("=")
            if name.strip():
                prefs[name.strip().lower()] = value.strip().strip('"')
    return prefs


def _split_outside_quotes(text: str) -> list[str]:
    parts, current, quoted = [], [], False
    for char in text:
        if char == '"':
            quoted = not quoted
        if char in ",;" and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [p.strip() for p in parts if p.strip()]


def max_page_size(prefs: dict[str, str], cap: int = MAX_PAGE) -> int | None:
    """Prefer: odata.maxpagesize=N, lowered to the resource's cap (1000, 200 for contacts)."""
    raw = prefs.get("odata.maxpagesize")
    if raw is None:
        return None
    if not raw.isdigit() or int(raw) < 1:
        return None
    return min(int(raw), cap)


def top(query: dict[str, str]) -> int | None:
    """$top=N, 1..1000; anything else is 400."""
    raw = query.get("$top")
    if raw is None:
        return None
    if not raw.strip().isdigit() or int(raw) < 1:
        raise bad_request(f"Invalid $top value '{raw}'. The value must be a positive integer.", "BadRequest")
    return min(int(raw), MAX_PAGE)


def skip(query: dict[str, str]) -> int:
    """$skip=N (0 by default)."""
    raw = query.get("$skip", "0")
    if not raw.strip().isdigit():
        raise bad_request(f"Invalid $skip value '{raw}'.", "BadRequest")
    return int(raw)


def select(query: dict[str, str], allowed: set[str], type_name: str) -> list[str] | None:
    """$select=a,b: property names as Graph spells them; unknown ones are 400 (RequestBroker)."""
    raw = query.get("$select")
    if raw is None or not raw.strip():
        return None
    lookup = {name.lower(): name for name in allowed}
    chosen = []
    for name in (n.strip() for n in raw.split(",")):
        if name.lower() not in lookup:
            raise GraphError(
                400,
                "RequestBroker--ParseUri",
                f"Could not find a property named '{name}' on type '{type_name}'.",
            )
        chosen.append(lookup[name.lower()])
    return chosen


def apply_select(item: dict, chosen: list[str] | None) -> dict:
    """Keep `@odata.etag`, `id` and the selected properties, in Graph's order."""
    if chosen is None:
        return item
    keep = {"@odata.etag", "id", *chosen}
    return {k: v for k, v in item.items() if k in keep}


def link(base: str, raw_path: str, params: dict[str, object]) -> str:
    """An absolute link on the emulator's own base URL, the way clients must follow it."""
    query = urlencode({k: v for k, v in params.items() if v is not None}, quote_via=quote, safe="$,:'()")
    return f"{base}{raw_path}?{query}" if query else f"{base}{raw_path}"


_EMAIL_FILTER = re.compile(r"^emailAddresses/any\(\s*(\w+)\s*:\s*\1/address\s+eq\s+'((?:[^']|'')*)'\s*\)$", re.I)
_PROP_FILTER = re.compile(
    r"^singleValueExtendedProperties/any\(\s*(\w+)\s*:\s*\1/id\s+eq\s+'((?:[^']|'')*)'\s+and\s+"
    r"\1/value\s+eq\s+'((?:[^']|'')*)'\s*\)$",
    re.I,
)


def parse_filter(query: dict[str, str]) -> tuple[str, str, str | None] | None:
    """The $filter forms Outlook supports here: email address, or extended property id+value.

    Returns ("email", address, None) or ("property", id, value); other filters are 400.
    """
    raw = query.get("$filter")
    if raw is None or not raw.strip():
        return None
    text = raw.strip()
    match = _EMAIL_FILTER.match(text)
    if match:
        return "email", match.group(2).replace("''", "'"), None
    match = _PROP_FILTER.match(text)
    if match:
        return "property", match.group(2).replace("''", "'"), match.group(3).replace("''", "'")
    raise bad_request(f"The query filter '{text}' is not supported.", "ErrorInvalidUrlQueryFilter")


_EXPAND = re.compile(r"^singleValueExtendedProperties(?:\(\s*\$filter\s*=\s*id\s+eq\s+'((?:[^']|'')*)'\s*\))?$", re.I)


def parse_expand(query: dict[str, str]) -> tuple[bool, str | None]:
    """$expand=singleValueExtendedProperties($filter=id eq '…'): (wanted, property id)."""
    raw = query.get("$expand")
    if raw is None or not raw.strip():
        return False, None
    match = _EXPAND.match(raw.strip())
    if not match:
        raise bad_request(f"Parsing OData Select and Expand failed: '{raw}' is not supported.", "BadRequest")
    wanted = match.group(1)
    return True, wanted.replace("''", "'") if wanted is not None else None
