"""Hostile input for tests: the Big List of Naughty Strings (MIT, tests/data/blns.json, from the
npm package big-list-of-naughty-strings 1.0.0) plus what a CRM sync meets: markup and script,
SQL, control characters, right-to-left text, emoji, huge values, exotic addresses and dates."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"

EXTRAS = [
    "<script>window.__xss=1</script>",
    '"><img src=x onerror="window.__xss=1">',
    "<svg onload=window.__xss=1>",
    "javascript:window.__xss=1",
    "{{ 7*7 }} {% debug %}",
    "'; DROP TABLE crm_contact; --",
    "Robert'); DELETE FROM exchange_journalentry;--",
    "\x00\x01\x02\x1b[31mrouge\x1b[0m",
    "tab\tnew\nline\rreturn",
    "\u202eRTL override\u202c",
    "שלום עולם",
    "مرحبا بالعالم",
    "𝕳𝖊𝖑𝖑𝖔 👩‍👩‍👧‍👦 🇨🇦",
    "Ꭓ̸̡̛̟̗͕̩̈́̓̾̀͐͗̿̒̾̎̋̕",
    "é" * 300,
    "x" * 100_000,
    "  ",
    "Œuvre « guillemets » — tiret – d’apostrophe",
    "café@exemple.ca",
    "a@b",
    "plainaddress",
    "@missing-local.ca",
    "trop..de.points@exemple.ca",
    '"quoted"@exemple.ca',
    "very.long." + "x" * 250 + "@exemple.ca",
    "UPPER@EXEMPLE.CA",
    "0001-01-01T00:00:00",
    "9999-12-31T23:59:59",
    "NaN",
    "Infinity",
    "-0",
    "\ufeffBOM",
    "\ud800",
    "%00%0a%0d",
    "${jndi:ldap://127.0.0.1/a}",
    "../../etc/passwd",
    "C:\\Windows\\system32",
    "<!--",
    "]]>",
    "&amp;&lt;&gt;",
    "\\u0000",
]


@cache
def hostile_strings() -> tuple[str, ...]:
    """At least 500 strings: the naughty list and the extras (invalid surrogates made encodable)."""
    with open(DATA / "blns.json", encoding="utf-8") as handle:
        naughty = json.load(handle)
    strings = [*naughty, *EXTRAS]
    return tuple(value.encode("utf-8", "replace").decode("utf-8") for value in strings)
