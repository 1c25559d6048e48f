"""Seeds the configuration value `UserMaintenanceShowFields` (R3), empty as Prextra ships it."""

from __future__ import annotations

from django.db import migrations


def seed_setting(apps, schema_editor):
    Setting = apps.get_model("accounts", "Setting")
    Setting.objects.get_or_create(
        key="UserMaintenanceShowFields",
        defaults={
            "value": "",
            "description": "Boutons supplémentaires de la fiche utilisateur, séparés par des virgules. "
            "Ajoutez « btnexchange » pour afficher le bouton « Exchange ».",
        },
    )


class Migration(migrations.Migration):
    dependencies = [("accounts", "0002_initial")]

    operations = [migrations.RunPython(seed_setting, migrations.RunPython.noop)]
