"""The log of requests served, so tests and benchmarks can count Graph calls.

Each entry has a stable index; readers ask for entries since an index. Clearing keeps the
indices growing so a reader holding an index is never confused.
"""

from __future__ import annotations

import threading
import time

MAX_ENTRIES = 200_000


class RequestLog:
    """Append-only (bounded) list of served requests."""

    def __init__(self) -> None:
        self.entries: list[dict] = []
        self.first_index = 0
        self.lock = threading.Lock()

    def add(self, entry: dict) -> int:
        """Record one request; return its index."""
        with self.lock:
            index = self.first_index + len(self.entries)
            entry = {"index": index, "time": round(time.time(), 3), **entry}
            self.entries.append(entry)
            if len(self.entries) > MAX_ENTRIES:
                drop = len(self.entries) - MAX_ENTRIES
                del self.entries[:drop]
                self.first_index += drop
            return index

    def since(self, index: int = 0) -> list[dict]:
        """Entries whose index is >= `index`."""
        with self.lock:
            start = max(0, index - self.first_index)
            return list(self.entries[start:])

    def next_index(self) -> int:
        """The index the next entry will get."""
        with self.lock:
            return self.first_index + len(self.entries)

    def clear(self) -> None:
        """Forget every entry (indices keep growing)."""
        with self.lock:
            self.first_index += len(self.entries)
            self.entries.clear()
