"""Outlook-looking identifiers: item ids, change keys, iCalUIds and occurrence ids.

Outlook ids are long, case-sensitive base64 strings (https://learn.microsoft.com/graph/outlook-immutable-id).
An occurrence id here embeds its series master id and its original start date, so it can be
resolved again after a restart without any index.
"""

from __future__ import annotations

import base64
import binascii
import random

ITEM_PREFIX = b"\x00\x03\x24\x00"  # encodes as "AAMkA…", like Exchange ids
OCCURRENCE_MARK = b"\x07"
ICAL_PREFIX = "040000008200E00074C5B7101A82E008"


def new_item_id(rng: random.Random) -> str:
    """A fresh 60-character id such as `AAMkAGI1…AAA=`."""
    return base64.urlsafe_b64encode(ITEM_PREFIX + rng.randbytes(40)).decode()


def new_change_key(rng: random.Random, seq: int) -> str:
    """A change key: base64 of 22 bytes, unique because it embeds the change sequence."""
    raw = rng.randbytes(16) + seq.to_bytes(6, "big")
    return base64.b64encode(raw).decode()


def new_ical_uid(rng: random.Random) -> str:
    """An Outlook Global Object Id in hex, with a zero instance date (series or single)."""
    return ICAL_PREFIX + "00000000" + rng.randbytes(24).hex().upper()


def occurrence_ical_uid(master_uid: str, key: str) -> str:
    """The occurrence's iCalUId: the master's with the instance date (YYYYMMDD) in bytes 16-19."""
    year, month, day = int(key[:4]), int(key[4:6]), int(key[6:8])
    stamp = f"{year:04X}{month:02X}{day:02X}"
    return master_uid[:32] + stamp + master_uid[40:]


def occurrence_id(master_id: str, key: str) -> str:
    """The id of the occurrence of `master_id` originally on date `key` (YYYYMMDD)."""
    raw = base64.urlsafe_b64decode(master_id) + OCCURRENCE_MARK + key.encode()
    return base64.urlsafe_b64encode(raw).decode()


def split_occurrence_id(item_id: str) -> tuple[str, str] | None:
    """Return (master id, date key) when `item_id` is an occurrence id, else None."""
    try:
        raw = base64.urlsafe_b64decode(item_id)
    except (binascii.Error, ValueError):
        return None
    if len(raw) != 44 + 1 + 8 or raw[44:45] != OCCURRENCE_MARK:
        return None
    key = raw[45:].decode("ascii", "replace")
    if not key.isdigit():
        return None
    return base64.urlsafe_b64encode(raw[:44]).decode(), key


def looks_like_id(item_id: str) -> bool:
    """True when `item_id` decodes like an id this emulator could have issued."""
    try:
        raw = base64.urlsafe_b64decode(item_id)
    except (binascii.Error, ValueError):
        return False
    return raw.startswith(ITEM_PREFIX)
