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


def test_french_counts_take_the_singular_up_to_one():
    """French says « 0 heure », « 1 heure », « 2 heures » (Plural-Forms n > 1): the French
    catalogue (manage.py french_plurals) gives the rule to the French source strings; English
    keeps its own (n != 1)."""
    from django.utils import translation
    from django.utils.translation import ngettext

    with translation.override("fr-ca"):
        assert [ngettext("%(count)d heure", "%(count)d heures", n) % {"count": n} for n in (0, 1, 2)] == [
            "0 heure", "1 heure", "2 heures",
        ]  # fmt: skip
    with translation.override("en"):
        assert ngettext("%(count)d heure", "%(count)d heures", 0) % {"count": 0} == "0 hours"


def test_the_french_catalogue_holds_every_plural_message_of_the_english_one():
    from django.core.management import call_command

    call_command("french_plurals", "--check")  # raises CommandError when out of date
