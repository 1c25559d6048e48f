"""Sign-in throttling behind the reverse proxy: each client is counted on its own address, as the
trusted hop reports it, and a forged X-Forwarded-For neither escapes nor resets a lock-out."""

from __future__ import annotations

import logging

import pytest
from django.test import Client
from django.urls import reverse

from accounts import throttle
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

NGINX = "127.0.0.1"
CLIENT_A = "203.0.113.7"
CLIENT_B = "198.51.100.20"
LOCKED = "Trop de tentatives de connexion infructueuses"


@pytest.fixture
def behind_nginx(settings):
    """The deploy files' set-up: one nginx in front, appending its peer to X-Forwarded-For."""
    settings.PREXTRA_TRUSTED_PROXY_HOPS = 1


def _through_nginx(address: str, sent: str = "") -> Client:
    """A browser at `address` whose requests reach the app through nginx; `sent` is whatever
    X-Forwarded-For the browser itself sent, which nginx keeps and appends the peer to."""
    forwarded = f"{sent}, {address}" if sent else address
    return Client(REMOTE_ADDR=NGINX, HTTP_X_FORWARDED_FOR=forwarded)


def _sign_in(browser: Client, code: str, password: str) -> str:
    return browser.post(reverse("login"), {"username": code, "password": password}, follow=True).content.decode()


def test_failures_from_one_client_never_lock_out_another_behind_the_same_proxy(behind_nginx, crm_user):
    a = _through_nginx(CLIENT_A)
    for attempt in range(throttle.MAX_PER_ADDRESS):
        _sign_in(a, f"GUESS{attempt % 3}", "mauvais")
    for _attempt in range(throttle.MAX_PER_CODE):
        _sign_in(a, "BOB", "mauvais")
    assert LOCKED in _sign_in(a, "BOB", PASSWORD)
    # B shares the proxy's REMOTE_ADDR with A but not A's address: Bob signs in from there.
    assert "Bonjour Bob Bélanger" in _sign_in(_through_nginx(CLIENT_B), "BOB", PASSWORD)


def test_a_forged_forwarded_header_neither_escapes_nor_resets_the_lock_out(behind_nginx, crm_user):
    a = _through_nginx(CLIENT_A)
    for _attempt in range(throttle.MAX_PER_CODE):
        _sign_in(a, "BOB", "mauvais")
    for forged in (CLIENT_B, "10.0.0.1", "unknown", f"{CLIENT_B}, 192.0.2.1"):
        # A claims to be someone else; nginx still appends A's real address after the claim.
        assert LOCKED in _sign_in(_through_nginx(CLIENT_A, sent=forged), "BOB", PASSWORD)
    # Nor did the attempts under a forged name clear A's counters (a success would have).
    assert throttle.is_blocked(CLIENT_A, "BOB")
    assert LOCKED in _sign_in(a, "BOB", PASSWORD)


def test_without_a_trusted_hop_a_forwarded_header_cannot_escape_the_lock_out(crm_user):
    """PREXTRA_TRUSTED_PROXY_HOPS=0 (the default): the app is reached directly, any header is the visitor's."""
    a = Client(REMOTE_ADDR=CLIENT_A)
    for _attempt in range(throttle.MAX_PER_CODE):
        _sign_in(a, "BOB", "mauvais")
    forged = Client(REMOTE_ADDR=CLIENT_A, HTTP_X_FORWARDED_FOR=CLIENT_B)
    assert LOCKED in _sign_in(forged, "BOB", PASSWORD)
    assert "Bonjour Bob Bélanger" in _sign_in(Client(REMOTE_ADDR=CLIENT_B), "BOB", PASSWORD)


def test_an_ipv6_client_cannot_escape_by_changing_address_within_its_64(behind_nginx, crm_user):
    for host in range(1, throttle.MAX_PER_CODE + 1):
        _sign_in(_through_nginx(f"2001:db8:1:2::{host}"), "BOB", "mauvais")
    assert LOCKED in _sign_in(_through_nginx("2001:db8:1:2:ffff::99"), "BOB", PASSWORD)
    # Another site (another /64) is another client.
    assert "Bonjour Bob Bélanger" in _sign_in(_through_nginx("2001:db8:1:3::1"), "BOB", PASSWORD)


def test_the_lock_out_is_logged_once_with_the_clients_address_not_the_proxys(behind_nginx, crm_user, caplog):
    a = _through_nginx(CLIENT_A, sent="198.51.100.66")
    with caplog.at_level(logging.WARNING, logger="accounts.forms"):
        for _attempt in range(throttle.MAX_PER_CODE + 2):
            _sign_in(a, "BOB", "mauvais")
    lines = [record.getMessage() for record in caplog.records if record.name == "accounts.forms"]
    assert lines == [f"Sign-in locked after repeated failures from {CLIENT_A}"]
