"""Journal reasons become codes with parameters, read in the viewer's language (exchange/reasons.py).

The French sentences of existing rows are read back as codes (`_legacy_reasons`); a sentence it
does not recognize is kept word for word (the failures' error texts as the reason "error")."""

from django.db import migrations, models

from ._legacy_reasons import reasons_of


def sentences_to_codes(apps, schema_editor):
    JournalEntry = apps.get_model("exchange", "JournalEntry")
    changed = []
    for entry in JournalEntry.objects.exclude(reason="").only("pk", "action", "reason").iterator(chunk_size=2000):
        reasons = reasons_of(entry.reason)
        if entry.action == "failed" and reasons and reasons[0]["code"] == "text":
            reasons = [{"code": "error", "params": {"detail": entry.reason.strip()[:500]}}]
        entry.reasons = reasons
        changed.append(entry)
        if len(changed) >= 2000:
            JournalEntry.objects.bulk_update(changed, ["reasons"])
            changed = []
    JournalEntry.objects.bulk_update(changed, ["reasons"])


def codes_to_sentences(apps, schema_editor):
    # Going back: the sentences in French, as the product wrote them.
    from django.utils import translation

    from exchange.reasons import describe

    JournalEntry = apps.get_model("exchange", "JournalEntry")
    with translation.override("fr-ca"):
        for entry in JournalEntry.objects.exclude(reasons=[]).iterator(chunk_size=2000):
            JournalEntry.objects.filter(pk=entry.pk).update(reason=describe(entry.reasons))


class Migration(migrations.Migration):
    dependencies = [("exchange", "0009_mailbox_preview")]

    operations = [
        migrations.AddField(
            model_name="journalentry",
            name="reasons",
            field=models.JSONField(blank=True, default=list, verbose_name="raisons"),
        ),
        migrations.RunPython(sentences_to_codes, codes_to_sentences),
        migrations.RemoveField(model_name="journalentry", name="reason"),
    ]
