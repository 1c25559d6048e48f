"""Worker side of the scale-out scenario: processes that each open their own database connection.

Kept free of Django imports at module level: a spawned process imports this module before
Django is set up (by `start` below, the pool's initializer).
"""

from __future__ import annotations

import os


def start(env: dict[str, str]) -> None:
    """Pool initializer: the bench's database and settings, then Django."""
    os.environ.update(env)
    import django

    django.setup()


def warm(_index: int) -> int:
    """Open the database connection and fetch a Graph token, outside the timed cycle."""
    from exchange.graph.client import GraphClient, GraphSettings
    from exchange.models import GraphConnection

    GraphClient(GraphSettings.from_connection(GraphConnection.current())).token()
    return os.getpid()


def run_pair(pair: tuple[int, str]) -> bool:
    """One (user id, group) of a cycle through the product's run_sync; False when it was busy."""
    from exchange.scheduling import run_sync
    from exchange.sync.locks import SyncBusy

    try:
        run_sync(*pair)
    except SyncBusy:
        return False
    return True
