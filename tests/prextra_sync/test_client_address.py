"""The client's address is read through the trusted proxy hops, and only through them."""

from __future__ import annotations

import pytest
from django.test import RequestFactory, override_settings

from prextra_sync.client_address import client_address

NGINX = "127.0.0.1"  # the peer gunicorn sees behind the deploy files' nginx


def _address(hops: int, forwarded: str | None, peer: str = NGINX) -> str:
    meta = {"REMOTE_ADDR": peer}
    if forwarded is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    with override_settings(PREXTRA_TRUSTED_PROXY_HOPS=hops):
        return client_address(RequestFactory().get("/", **meta))


def test_without_trusted_hops_the_forwarded_header_is_ignored():
    # Nothing vouches for the header: anyone could send it straight to the app.
    assert _address(0, "198.51.100.9", peer="203.0.113.7") == "203.0.113.7"


def test_one_hop_takes_the_address_nginx_appended_last():
    assert _address(1, "203.0.113.7") == "203.0.113.7"
    assert _address(1, "10.0.0.5, 203.0.113.7") == "203.0.113.7"


def test_two_hops_take_the_second_address_from_the_right():
    # A load balancer appended the client, then nginx appended the load balancer.
    assert _address(2, "203.0.113.7, 192.0.2.10") == "203.0.113.7"


def test_a_forged_left_most_entry_is_ignored():
    # The visitor sent "X-Forwarded-For: 198.51.100.1"; nginx appended the real peer after it.
    assert _address(1, "198.51.100.1, 203.0.113.7") == "203.0.113.7"
    assert _address(2, "198.51.100.1, 203.0.113.7, 192.0.2.10") == "203.0.113.7"


def test_fewer_entries_than_hops_fall_back_to_the_peer_not_to_a_forgeable_entry():
    # Two hops configured but only one entry: the request skipped a hop, so its left-most entry
    # may be the visitor's own words.
    assert _address(2, "198.51.100.1") == NGINX
    assert _address(1, None) == NGINX
    assert _address(1, "") == NGINX


@pytest.mark.parametrize("garbage", ["unknown", "203.0.113.999", "<script>", "' OR 1=1 --", "2001:db8::g", " "])
def test_a_malformed_trusted_entry_falls_back_to_the_peer_without_reading_further_left(garbage):
    # Skipping the bad entry would hand the answer to the entry to its left, which a visitor wrote.
    assert _address(1, f"198.51.100.1, {garbage}") == NGINX
    assert _address(2, f"198.51.100.1, {garbage}, 192.0.2.10") == NGINX


def test_malformed_entries_left_of_the_trusted_ones_do_not_matter():
    assert _address(1, "unknown, <script>, ,203.0.113.7") == "203.0.113.7"


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ("2001:DB8:0:0::1", "2001:db8::1"),
        ("[2001:db8::1]", "2001:db8::1"),
        ("[2001:db8::1]:4711", "2001:db8::1"),
        ("203.0.113.7:443", "203.0.113.7"),
        ("::ffff:203.0.113.7", "203.0.113.7"),
    ],
)
def test_ipv6_and_ports_come_back_in_one_canonical_form(entry, expected):
    assert _address(1, f"198.51.100.1, {entry}") == expected


def test_the_peer_itself_is_canonical_and_ipv6_works_without_a_proxy():
    assert _address(0, None, peer="2001:0DB8::0001") == "2001:db8::1"
    assert _address(0, None, peer="::ffff:203.0.113.7") == "203.0.113.7"


def test_a_request_without_any_address_gives_an_empty_one():
    request = RequestFactory().get("/")
    del request.META["REMOTE_ADDR"]
    with override_settings(PREXTRA_TRUSTED_PROXY_HOPS=1):
        assert client_address(request) == ""
