"""Creates the contact group "EXC – Exchange" that receives synchronized contacts matching no company (R9)."""

from __future__ import annotations

from django.db import migrations


def create_exchange_group(apps, schema_editor):
    ContactGroup = apps.get_model("crm", "ContactGroup")
    ContactGroup.objects.get_or_create(
        code="EXC",
        defaults={
            "name": "Exchange",
            "description": "Contacts synchronisés d'Outlook qui ne correspondent à aucun client, prospect "
            "ou fournisseur.",
        },
    )


class Migration(migrations.Migration):
    dependencies = [("crm", "0001_initial")]

    operations = [migrations.RunPython(create_exchange_group, migrations.RunPython.noop)]
