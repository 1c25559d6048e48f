"""Throughput: the emulator serves at least 2,000 contacts per second in pages of 100.

Measured through the production path (msal token, one keep-alive requests.Session following
@odata.nextLink); graph_emulator/throughput.py runs the same check on 10,000 contacts.
"""

from __future__ import annotations

from graph_emulator.throughput import contacts_per_second


def test_serves_over_2000_contacts_per_second_in_pages_of_100(emulator):
    """Pages of 100 over HTTPS with keep-alive: well above 2,000 contacts/s on this machine."""
    emulator.seed("perf@prextra-demo.ca", contacts=4000, seed=8)
    count, rate = contacts_per_second(emulator, "perf@prextra-demo.ca", page_size=100)
    assert count == 4000
    assert rate > 2000, f"{rate:.0f} contacts/s"
