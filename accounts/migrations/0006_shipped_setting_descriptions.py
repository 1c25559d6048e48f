"""The descriptions the product ships for its own configuration entries are no longer stored: they
are shown in the reader's language (accounts.models.SHIPPED_SETTING_DESCRIPTIONS). One an
administrator changed stays as written."""

from django.db import migrations

SHIPPED = {
    "UserMaintenanceShowFields": "Boutons supplémentaires de la fiche utilisateur, séparés par des virgules. "
    "Ajoutez « btnexchange » pour afficher le bouton « Exchange ».",
    "ExchangeFreeMailDomains": "Domaines de messagerie gratuits ou de fournisseurs Internet, séparés par des "
    "virgules : un contact synchronisé avec une de ces adresses n'est jamais associé à un client, "
    "prospect ou fournisseur.",
}


def forward(apps, schema_editor):
    Setting = apps.get_model("accounts", "Setting")
    for key, text in SHIPPED.items():
        Setting.objects.filter(key=key, description=text).update(description="")


def backward(apps, schema_editor):
    Setting = apps.get_model("accounts", "Setting")
    for key, text in SHIPPED.items():
        Setting.objects.filter(key=key, description="").update(description=text)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0005_exchange_profile_mailbox_id")]

    operations = [migrations.RunPython(forward, backward)]
