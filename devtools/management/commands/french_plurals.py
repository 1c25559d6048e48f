"""Write the French catalogue of plural messages (locale/fr/LC_MESSAGES/django.po).

The source strings are French, so French needs no translations, except for one rule: gettext
picks the plural of an untranslated message with the English rule (singular for 1 only), and
French says « 0 contact créé », singular up to 1 (Plural-Forms: n > 1). This catalogue holds
each plural message of the English one, French to French, under the French rule; fr-ca falls
back to it. Run it after makemessages; `--check` fails when the file is not what it would write
(bin/test runs it).
"""

from __future__ import annotations

from pathlib import Path

import polib
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

PLURAL_FORMS = "nplurals=2; plural=(n > 1);"


def catalogue_paths() -> tuple[Path, Path]:
    locale = Path(settings.LOCALE_PATHS[0])
    return locale / "en" / "LC_MESSAGES" / "django.po", locale / "fr" / "LC_MESSAGES" / "django.po"


def french_plurals(english: polib.POFile) -> polib.POFile:
    """The catalogue: every plural message of `english`, its French singular and plural as they are."""
    french = polib.POFile(wrapwidth=79)
    french.metadata = {
        "Project-Id-Version": "prextra-sync",
        "Language": "fr",
        "MIME-Version": "1.0",
        "Content-Type": "text/plain; charset=UTF-8",
        "Content-Transfer-Encoding": "8bit",
        "Plural-Forms": PLURAL_FORMS,
    }
    french.header = "French plural forms of the French source strings: written by `manage.py french_plurals`."
    entries = sorted(
        (entry for entry in english if entry.msgid_plural and not entry.obsolete),
        key=lambda entry: (entry.msgctxt or "", entry.msgid),
    )
    for entry in entries:
        french.append(
            polib.POEntry(
                msgctxt=entry.msgctxt,
                msgid=entry.msgid,
                msgid_plural=entry.msgid_plural,
                msgstr_plural={0: entry.msgid, 1: entry.msgid_plural},
                flags=[flag for flag in entry.flags if flag != "fuzzy"],
            )
        )
    return french


class Command(BaseCommand):
    help = "Write locale/fr/LC_MESSAGES/django.po: the French plural rule for the French source strings."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--check", action="store_true", help="fail if the file is out of date; write nothing")

    def handle(self, *args, check: bool = False, **options) -> None:
        english_path, french_path = catalogue_paths()
        text = str(french_plurals(polib.pofile(str(english_path)))) + "\n"
        current = french_path.read_text(encoding="utf-8") if french_path.exists() else ""
        if check:
            if current != text:
                raise CommandError(f"{french_path} is out of date: run manage.py french_plurals")
            return
        french_path.parent.mkdir(parents=True, exist_ok=True)
        french_path.write_text(text, encoding="utf-8")
        self.stdout.write(f"{french_path}: {text.count('msgid_plural')} plural messages")
