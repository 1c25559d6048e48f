"""Throughput check: how many contacts per second a client pages out of the emulator.

    python -m graph_emulator.throughput [--contacts 10000] [--page 100]

Uses the production path: msal for the token, one requests.Session (keep-alive, trust_env
False, verify=<emulator CA>) following @odata.nextLink.
"""

from __future__ import annotations

import argparse
import time

from .server import GraphEmulator
from .testing import make_session, token_for


def contacts_per_second(emulator: GraphEmulator, address: str, page_size: int = 100) -> tuple[int, float]:
    """Page every contact of `address` with $top=page_size; return (count, contacts/s)."""
    with make_session(emulator.ca_file) as session:
        session.headers["Authorization"] = f"Bearer {token_for(emulator, session)}"
        url = f"{emulator.graph_url}/users/{emulator.mailbox(address).id}/contacts?$top={page_size}"
        count = 0
        started = time.perf_counter()
        while url:
            response = session.get(url, timeout=30)
            response.raise_for_status()
            body = response.json()
            count += len(body["value"])
            url = body.get("@odata.nextLink")
        elapsed = time.perf_counter() - started
    return count, count / elapsed


def main(argv: list[str] | None = None) -> None:
    """Seed a mailbox, page it, print the figure."""
    parser = argparse.ArgumentParser(prog="python -m graph_emulator.throughput")
    parser.add_argument("--contacts", type=int, default=10_000)
    parser.add_argument("--page", type=int, default=100)
    args = parser.parse_args(argv)
    address = "bench@prextra-demo.ca"
    with GraphEmulator() as emulator:
        started = time.perf_counter()
        emulator.seed(address, contacts=args.contacts, seed=1)
        seeded = time.perf_counter() - started
        count, rate = contacts_per_second(emulator, address, args.page)
    print(f"seeded {args.contacts} contacts in {seeded:.2f} s")
    print(f"paged {count} contacts in pages of {args.page}: {rate:,.0f} contacts/s")


if __name__ == "__main__":
    main()
