"""Sign-in throttling: after repeated failures, a user code (from one address) and an address
are refused for a while, so passwords cannot be guessed at speed. Counters live in the shared
cache (Redis in production, the database cache in the embedded set-up). The address is the
client's, read through the trusted proxies (prextra_sync.client_address)."""

from __future__ import annotations

import hashlib
import ipaddress

from django.core.cache import cache

WINDOW_SECONDS = 15 * 60
MAX_PER_CODE = 5  # failures for one user code from one address
MAX_PER_ADDRESS = 20  # failures from one address, whatever the codes


def _keys(address: str, code: str) -> tuple[str, str]:
    # The code as typed may hold anything (spaces, control characters, 100 KB): hashed, it makes
    # a valid key for every cache back end.
    typed = hashlib.sha256(code.strip().lower().encode("utf-8", "replace")).hexdigest()[:32]
    client = _client(address)
    return f"login-fail:{client}:{typed}", f"login-fail:{client}"


def _client(address: str) -> str:
    """What counts as one client: an IPv4 address, or an IPv6 address's /64 network (one site is
    handed a whole /64 and may pick any of its 2**64 addresses, so counting single addresses would
    let it escape the lock-out by changing its last bits)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if ip.version == 4:
        return str(ip)
    if ip.ipv4_mapped:
        return str(ip.ipv4_mapped)
    return str(ipaddress.ip_network(f"{ip}/64", strict=False))


def is_blocked(address: str, code: str) -> bool:
    per_code, per_address = _keys(address, code)
    return cache.get(per_code, 0) >= MAX_PER_CODE or cache.get(per_address, 0) >= MAX_PER_ADDRESS


def record_failure(address: str, code: str) -> None:
    for key in _keys(address, code):
        if not cache.add(key, 1, WINDOW_SECONDS):
            try:
                cache.incr(key)
            except ValueError:  # expired between add and incr
                cache.add(key, 1, WINDOW_SECONDS)


def record_success(address: str, code: str) -> None:
    cache.delete(_keys(address, code)[0])


MAX_CODES_PER_USER = 5  # sign-in codes mailed to one user (accounts.email_code), whatever the address


def allow_email_code(user_id: int) -> bool:
    """Count one more sign-in code for this user; False once MAX_CODES_PER_USER were sent in the
    window (someone who knows the password cannot flood the mailbox, nor draw codes without end)."""
    key = f"login-code-sent:{user_id}"
    if cache.add(key, 1, WINDOW_SECONDS):
        return True
    try:
        return cache.incr(key) <= MAX_CODES_PER_USER
    except ValueError:  # expired between add and incr
        cache.add(key, 1, WINDOW_SECONDS)
        return True
