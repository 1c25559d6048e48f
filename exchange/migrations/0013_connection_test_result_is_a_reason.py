"""The connection's last test result becomes a reason (exchange/reasons.py) shown in the reader's
language, like the runs' failures (0012); the French sentences stored before are read back."""

from django.db import migrations, models

from ._legacy_failures import failure_of
from ._legacy_reasons import _pattern

# Frozen: the test's own sentences as the product wrote them (failures are read by failure_of).
SENTENCES = [
    (
        "connection_token_ok",
        "Connexion réussie : jeton obtenu. Indiquez une boîte aux lettres pour vérifier les permissions.",
    ),
    ("connection_mailbox_ok", "Connexion réussie : jeton obtenu et boîte %(mailbox)s lue (utilisateur %(upn)s)."),
    ("connection_test_crashed", "Le test a échoué de façon inattendue ; voir le journal du serveur."),
]
PATTERNS = [(code, _pattern(sentence)) for code, sentence in SENTENCES]


def result_of(text: str) -> dict:
    text = (text or "").strip()
    for code, pattern in PATTERNS:
        match = pattern.fullmatch(text)
        if match is not None:
            found = match.groupdict()
            return {"code": code, "params": found} if found else {"code": code}
    return failure_of(text)


def sentences_to_reasons(apps, schema_editor):
    GraphConnection = apps.get_model("exchange", "GraphConnection")
    for connection in GraphConnection.objects.exclude(last_test_message=""):
        connection.last_test_result = result_of(connection.last_test_message)
        connection.save(update_fields=["last_test_result"])


def reasons_to_sentences(apps, schema_editor):
    from django.utils import translation

    from exchange.reasons import describe

    GraphConnection = apps.get_model("exchange", "GraphConnection")
    with translation.override("fr-ca"):
        for connection in GraphConnection.objects.exclude(last_test_result={}):
            connection.last_test_message = describe(connection.last_test_result)
            connection.save(update_fields=["last_test_message"])


class Migration(migrations.Migration):
    dependencies = [
        ("exchange", "0012_failures_are_reasons"),
    ]

    operations = [
        migrations.AddField(
            model_name="graphconnection",
            name="last_test_result",
            field=models.JSONField(blank=True, default=dict, verbose_name="résultat du dernier test"),
        ),
        migrations.RunPython(sentences_to_reasons, reasons_to_sentences),
        migrations.RemoveField(model_name="graphconnection", name="last_test_message"),
    ]
