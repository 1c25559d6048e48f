"""Delta query rounds for contacts (per folder) and calendarView, with opaque tokens.

A round starts with no token (full sync) or with a deltatoken (changes since it). Its entries
are fixed when it starts; pages are served through `$skiptoken` links and the last page ends
with an `@odata.deltaLink`. Delta tokens are self-contained and signed, so they survive a
restart of the emulator with a state file; skip tokens live in a bounded cache, like Outlook's
sync states. An unknown, tampered or expired token is 410 SyncStateNotFound.
References: https://learn.microsoft.com/graph/delta-query-overview,
https://learn.microsoft.com/graph/delta-query-events, https://learn.microsoft.com/graph/api/contact-delta
and https://learn.microsoft.com/graph/api/event-delta.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import json
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass, field

from . import events, ids
from .errors import GraphError
from .store import Mailbox, Store

MAX_ROUNDS = 256  # like Outlook's bounded sync-state cache; older skip tokens get 410


def sync_state_not_found(generation: int) -> GraphError:
    """The observed answer for an expired or unknown token (microsoft-graph-docs issues #2350, #2877)."""
    return GraphError(
        410,
        "SyncStateNotFound",
        f"The sync state generation is not found; generation={generation};"
        f"[highest={generation + 1}][{generation + 1}].",
    )


@dataclass
class Round:
    """One delta round: what to send, page by page, and the sequence its deltaLink records."""

    mailbox_id: str
    kind: str
    folder: str | None
    select: list[str] | None
    window: tuple[dt.datetime, dt.datetime] | None
    high: int
    generation: int
    entries: list[tuple] = field(default_factory=list)
    page_size: int = 10


class DeltaEngine:
    """Builds rounds and encodes/decodes their tokens."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.rounds: OrderedDict[str, Round] = OrderedDict()
        self.lock = threading.Lock()

    # -- tokens ------------------------------------------------------------------------------

    def _sign(self, payload: bytes) -> str:
        digest = hmac.new(self.store.secret.encode(), payload, hashlib.sha256).digest()[:12]
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def delta_token(self, rnd: Round, seq: int) -> str:
        """A self-contained token recording mailbox, folder or window, $select and sequence."""
        state = {
            "m": rnd.mailbox_id,
            "k": rnd.kind,
            "f": rnd.folder,
            "s": rnd.select,
            "w": [t.isoformat() for t in rnd.window] if rnd.window else None,
            "q": seq,
            "g": self.store.delta_generation,
        }
        payload = json.dumps(state, separators=(",", ":")).encode()
        body = base64.urlsafe_b64encode(payload).decode().rstrip("=")
        return f"{body}.{self._sign(payload)}"

    def read_delta_token(self, token: str, mailbox: Mailbox, kind: str) -> dict:
        """Decode a deltatoken; 410 SyncStateNotFound unless it is valid for this mailbox."""
        generation = self.store.delta_generation
        try:
            body, signature = token.rsplit(".", 1)
            payload = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
            state = json.loads(payload)
        except (ValueError, binascii.Error, json.JSONDecodeError):
            raise sync_state_not_found(generation) from None
        good = hmac.compare_digest(signature, self._sign(payload))
        if not good or not isinstance(state, dict) or state.get("g") != generation:
            raise sync_state_not_found(generation)
        if state.get("m") != mailbox.id or state.get("k") != kind:
            raise sync_state_not_found(generation)
        if state["w"]:
            state["w"] = tuple(dt.datetime.fromisoformat(t) for t in state["w"])
        return state

    def skip_token(self, round_id: str, position: int) -> str:
        """An opaque skip token naming a cached round and a position in it."""
        raw = base64.urlsafe_b64decode(round_id) + position.to_bytes(4, "big")
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def read_skip_token(self, token: str, mailbox: Mailbox, kind: str) -> tuple[str, Round, int]:
        """Round id, round and position of a skip token; 410 when the round is gone
        (microsoft-graph-docs issue #2162)."""
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        except (ValueError, binascii.Error):
            raw = b""
        round_id = base64.urlsafe_b64encode(raw[:12]).decode()
        with self.lock:
            rnd = self.rounds.get(round_id)
        if (
            len(raw) != 16
            or rnd is None
            or rnd.generation != self.store.delta_generation
            or rnd.mailbox_id != mailbox.id
            or rnd.kind != kind
        ):
            raise sync_state_not_found(self.store.delta_generation)
        return round_id, rnd, int.from_bytes(raw[12:], "big")

    def keep(self, rnd: Round) -> str:
        """Cache a round (evicting the oldest beyond MAX_ROUNDS); return its id."""
        round_id = base64.urlsafe_b64encode(os.urandom(12)).decode()
        with self.lock:
            self.rounds[round_id] = rnd
            while len(self.rounds) > MAX_ROUNDS:
                self.rounds.popitem(last=False)
        return round_id

    def expire_all(self) -> None:
        """Make every delta and skip token invalid (the next call gets 410)."""
        with self.store.lock:
            self.store.delta_generation += 1
            self.store.bump()
        with self.lock:
            self.rounds.clear()

    # -- round contents ----------------------------------------------------------------------

    def contact_entries(self, mailbox: Mailbox, folder: str, since: int | None, until: int) -> list[tuple]:
        """New/changed contacts of a folder (all of them on a full sync), then deletions; only the
        changes up to sequence `until` (Store.visible_seq: later ones are not in delta yet)."""
        changed = [
            (r["seq"], ("item", cid))
            for cid, r in mailbox.contacts.items()
            if r["folder"] == folder and (since is None or r["seq"] > since) and r["seq"] <= until
        ]
        if since is not None:
            changed += [
                (t["seq"], ("removed", t["id"]))
                for t in mailbox.tombstones.values()
                if t["kind"] == "contact" and t["folder"] == folder and since < t["seq"] <= until
            ]
        return [entry for _seq, entry in sorted(changed, key=lambda pair: pair[0])]

    def folder_entries(self, mailbox: Mailbox, since: int | None, until: int) -> list[tuple]:
        """Contact folders added or changed (all on a full round), then deleted ones, up to `until`."""
        changed = [
            (f.get("seq", 0), ("item", fid))
            for fid, f in mailbox.folders.items()
            if (since is None or f.get("seq", 0) > since) and f.get("seq", 0) <= until
        ]
        if since is not None:
            changed += [
                (t["seq"], ("removed", t["id"]))
                for t in mailbox.tombstones.values()
                if t["kind"] == "folder" and since < t["seq"] <= until
            ]
        return [entry for _seq, entry in sorted(changed, key=lambda pair: pair[0])]

    def event_entries(self, mailbox: Mailbox, window: tuple, since: int | None, until: int) -> list[tuple]:
        """Instances in the window; on an incremental round also @removed ones; changes up to `until`.

        Any change to an event outside the window is reported as @removed, even for an event
        the client never saw (event-delta doc; microsoft-graph-docs issue #6599).
        """
        floating = self.store.floating
        entries: list[tuple] = []
        for record in sorted(mailbox.events.values(), key=lambda r: r["seq"]):
            if (since is not None and record["seq"] <= since) or record["seq"] > until:
                continue
            entries += _record_entries(record, window, since, floating)
        if since is not None:
            for tomb in mailbox.tombstones.values():
                if tomb["kind"] == "event" and since < tomb["seq"] <= until:
                    entries += _tombstone_entries(tomb, window, since, floating)
        return entries


def _relevant_shapes(history: list, since: int | None) -> list[dict]:
    """Shapes in force at `since` or later: the ones whose occurrences the client may hold."""
    if since is None:
        return []
    shapes = []
    for index, (seq, shape) in enumerate(history):
        later = history[index + 1][0] if index + 1 < len(history) else None
        if seq > since or later is None or later > since:
            shapes.append(shape)
    return shapes


def _record_entries(record: dict, window: tuple, since: int | None, floating) -> list[tuple]:
    current = events.expand(events.shape(record), window, floating)
    if record["recurrence"] is None:
        if current:
            return [("single", record["id"])]
        return [] if since is None else [("removed", record["id"])]
    keys = [occ.key for occ in current]
    entries = [("occ", record["id"], key) for key in keys]
    if since is None:
        return entries
    before = set()
    for shape in _relevant_shapes(record["history"][:-1], since):
        before |= {occ.key for occ in events.expand(shape, window, floating) if occ.key}
    entries += [("removed", ids.occurrence_id(record["id"], k)) for k in sorted(before - set(keys))]
    return entries or [("removed", record["id"])]


def _tombstone_entries(tomb: dict, window: tuple, since: int, floating) -> list[tuple]:
    keys = set()
    for shape in _relevant_shapes(tomb.get("history") or [], since):
        if shape["recurrence"] is None:
            continue
        keys |= {occ.key for occ in events.expand(shape, window, floating) if occ.key}
    entries = [("removed", ids.occurrence_id(tomb["id"], k)) for k in sorted(keys)]
    return entries or [("removed", tomb["id"])]
