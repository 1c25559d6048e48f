"""Saving the store to a JSON file (atomically: temp file + rename) and loading it back.

Saves are debounced: a change marks the state dirty and a background thread writes it a
moment later, so a burst of writes costs one save. The emulator also saves at shutdown.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import tempfile
import threading
from pathlib import Path

from .store import Mailbox, Store
from .subscriptions import Subscription, SubscriptionBook

log = logging.getLogger(__name__)
FORMAT_VERSION = 1


def _encode(value: object) -> object:
    if isinstance(value, dt.datetime):
        return {"$dt": value.isoformat()}
    if isinstance(value, set | tuple):
        return list(value)
    raise TypeError(f"Cannot store {type(value).__name__}")


def _decode(obj: dict) -> object:
    if len(obj) == 1 and "$dt" in obj:
        return dt.datetime.fromisoformat(obj["$dt"])
    return obj


def dump(store: Store, book: SubscriptionBook | None = None) -> bytes:
    """The whole store as JSON bytes (taken under the store lock), with the live subscriptions:
    Graph keeps a subscription until it expires or is deleted, whatever happens to its clients."""
    subscriptions = [vars(sub) for sub in book.listing()] if book is not None else []
    with store.lock:
        data = {
            "version": FORMAT_VERSION,
            "seq": store.seq,
            "secret": store.secret,
            "token_generation": store.token_generation,
            "delta_generation": store.delta_generation,
            "mailboxes": [vars(m) for m in store.mailboxes.values()],
            "subscriptions": subscriptions,
        }
        return json.dumps(data, default=_encode, ensure_ascii=False, separators=(",", ":")).encode()


def load(store: Store, path: Path, book: SubscriptionBook | None = None) -> bool:
    """Fill `store` (and `book`) from `path` if it exists; return whether anything was loaded."""
    if not path.exists():
        return False
    data = json.loads(path.read_bytes(), object_hook=_decode)
    if data.get("version") != FORMAT_VERSION:
        raise ValueError(f"{path}: unsupported state format {data.get('version')!r}")
    with store.lock:
        store.seq = data["seq"]
        store.secret = data["secret"]
        store.token_generation = data["token_generation"]
        store.delta_generation = data["delta_generation"]
        store.mailboxes.clear()
        store.by_address.clear()
        store.by_upn.clear()
        for raw in data["mailboxes"]:
            store.index(Mailbox(**raw))
    if book is not None:
        book.restore(
            Subscription(**{**raw, "change_types": tuple(raw["change_types"])}) for raw in data.get("subscriptions", [])
        )
    return True


def write_atomically(path: Path, data: bytes) -> None:
    """Write to a temporary file in the same folder, fsync it, then rename over `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


class Saver:
    """Debounced saving of a store to one file."""

    def __init__(self, store: Store, path: Path, delay: float = 0.5, book: SubscriptionBook | None = None) -> None:
        self.store = store
        self.book = book
        self.path = path
        self.delay = delay
        self.dirty = threading.Event()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="graph-emulator-saver", daemon=True)

    def start(self) -> None:
        """Begin watching for changes."""
        self.thread.start()

    def mark(self) -> None:
        """Called on every change."""
        self.dirty.set()

    def _loop(self) -> None:
        while not self.stopping.is_set():
            self.dirty.wait()
            if self.stopping.wait(self.delay):
                break
            self.save()

    def save(self) -> None:
        """Write the state now."""
        self.dirty.clear()
        try:
            write_atomically(self.path, dump(self.store, self.book))
        except OSError:
            log.exception("Could not save the emulator state to %s", self.path)

    def stop(self) -> None:
        """Stop the thread and save one last time."""
        self.stopping.set()
        self.dirty.set()
        self.thread.join(timeout=10)
        self.save()
