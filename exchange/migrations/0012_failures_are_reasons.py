"""A run's, a state's and a preview's failure becomes a reason (a code and its parameters,
exchange/reasons.py) shown in the reader's language, instead of a French sentence stored once.

Existing sentences are read back as codes (`_legacy_failures`); one it does not recognize (Graph's
own words) is kept word for word."""

from django.db import migrations, models

from ._legacy_failures import failure_of

FIELDS = [("SyncRun", "error", "failure"), ("SyncState", "last_error", "last_failure"), ("MailboxPreview", "error", "failure")]


def sentences_to_reasons(apps, schema_editor):
    for model_name, old, new in FIELDS:
        model = apps.get_model("exchange", model_name)
        changed = []
        for row in model.objects.exclude(**{old: ""}).only("pk", old).iterator(chunk_size=2000):
            setattr(row, new, failure_of(getattr(row, old)))
            changed.append(row)
            if len(changed) >= 2000:
                model.objects.bulk_update(changed, [new])
                changed = []
        model.objects.bulk_update(changed, [new])


def reasons_to_sentences(apps, schema_editor):
    # Going back: the sentences in French, as the product wrote them.
    from django.utils import translation

    from exchange.reasons import describe

    with translation.override("fr-ca"):
        for model_name, old, new in FIELDS:
            model = apps.get_model("exchange", model_name)
            changed = []
            for row in model.objects.exclude(**{new: {}}).only("pk", new).iterator(chunk_size=2000):
                setattr(row, old, describe(getattr(row, new)))
                changed.append(row)
            model.objects.bulk_update(changed, [old], batch_size=2000)


class Migration(migrations.Migration):
    dependencies = [
        ("exchange", "0011_ca_file_reads_trusted_authority"),
    ]

    operations = [
        migrations.AddField(
            model_name="mailboxpreview",
            name="failure",
            field=models.JSONField(blank=True, default=dict, verbose_name="erreur"),
        ),
        migrations.AddField(
            model_name="syncrun",
            name="failure",
            field=models.JSONField(blank=True, default=dict, verbose_name="erreur"),
        ),
        migrations.AddField(
            model_name="syncstate",
            name="last_failure",
            field=models.JSONField(blank=True, default=dict, verbose_name="dernière erreur"),
        ),
        migrations.RunPython(sentences_to_reasons, reasons_to_sentences),
        migrations.RemoveField(model_name="mailboxpreview", name="error"),
        migrations.RemoveField(model_name="syncrun", name="error"),
        migrations.RemoveField(model_name="syncstate", name="last_error"),
    ]
