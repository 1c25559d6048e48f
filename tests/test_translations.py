"""French first, English complete: every message of the product has its English translation."""

from __future__ import annotations

from pathlib import Path

import polib

CATALOGUE = Path(__file__).resolve().parents[1] / "locale" / "en" / "LC_MESSAGES" / "django.po"


def test_english_catalogue_is_complete_and_reviewed():
    catalogue = polib.pofile(str(CATALOGUE))
    assert [entry.msgid for entry in catalogue.untranslated_entries()] == []
    assert [entry.msgid for entry in catalogue.fuzzy_entries()] == []


def test_english_translations_keep_their_placeholders():
    catalogue = polib.pofile(str(CATALOGUE))
    for entry in catalogue.translated_entries():
        translations = list(entry.msgstr_plural.values()) if entry.msgid_plural else [entry.msgstr]
        for placeholder in ("%(", "{"):
            for msgstr in translations:
                assert entry.msgid.count(placeholder) == msgstr.count(placeholder), entry.msgid
