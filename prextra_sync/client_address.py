"""The visitor's address, read through the reverse proxies this deployment trusts.

`PREXTRA_TRUSTED_PROXY_HOPS` (settings) says how many proxies stand in front of the app, each
appending the address of its peer to `X-Forwarded-For` (nginx's `$proxy_add_x_forwarded_for`).
Only those right-most entries were written by a trusted hop; anything to their left came from
the visitor and may be forged. So, with N hops, the client is the N-th entry from the right:

- N = 0: `REMOTE_ADDR`; `X-Forwarded-For` is ignored (nothing vouches for it).
- N = 1 (nginx in front): the last entry, the peer nginx saw.
- N = 2 (a load balancer, then nginx): the second entry from the right.

Fail-safe choices, where the header does not fit the count: fewer than N entries, or the N-th
one from the right not an IP address, means the request did not come through every trusted hop
as configured, and the answer is `REMOTE_ADDR` (the nearest peer, which nobody can forge), not
the left-most entry (which the visitor may have written). A malformed entry is never skipped
over to read the next one to its left, for the same reason. Addresses come back in `ipaddress`'s
canonical form (`2001:db8::1`, whatever case or zeros were sent; an IPv4-mapped IPv6 address as
plain IPv4), so one client is one key.

Why not django-ipware (or django-axes, which uses it): ipware's default reads some thirty
headers in order of precedence (`X-Real-IP`, `CF-Connecting-IP`, …), each forgeable unless the
proxy overwrites it, and its rules changed between major versions (7.x "legacy", 8+ "modern");
what this product needs is one header and one hop count, which takes less code to read and to
test than the library's settings take to pin down. django-axes would replace accounts/throttle.py
(cache counters per user code and address) with database models and its own lock-out rules,
for the same behaviour.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def client_address(request: HttpRequest) -> str:
    """The client's IP address as the trusted proxies report it (see the module's docstring)."""
    peer = _canonical(request.META.get("REMOTE_ADDR", "")) or ""
    hops = settings.PREXTRA_TRUSTED_PROXY_HOPS
    if hops == 0:
        return peer
    entries = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
    if len(entries) < hops:
        return peer
    return _canonical(entries[-hops]) or peer


def _canonical(entry: str) -> str | None:
    """`entry` as a canonical IP address (a port or IPv6 brackets dropped), or None if it is none."""
    text = entry.strip()
    if text.startswith("["):  # [2001:db8::1] or [2001:db8::1]:4711
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:  # 203.0.113.7:443
        text = text.partition(":")[0]
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return None
    mapped = getattr(ip, "ipv4_mapped", None)  # ::ffff:203.0.113.7 from a dual-stack socket
    return str(mapped or ip)
