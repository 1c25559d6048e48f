"""Seeds `ExchangeFreeMailDomains`: free-mail and ISP domains that never link a contact to a company."""

from __future__ import annotations

from django.db import migrations

DOMAINS = (
    "gmail.com, googlemail.com, hotmail.com, hotmail.ca, outlook.com, live.com, live.ca, msn.com, "
    "yahoo.com, yahoo.ca, ymail.com, icloud.com, me.com, mac.com, aol.com, protonmail.com, proton.me, "
    "gmx.com, mail.com, videotron.ca, videotron.qc.ca, bell.net, sympatico.ca, cgocable.ca, cogeco.ca, "
    "globetrotter.net, telus.net, rogers.com, shaw.ca, eastlink.ca, derytele.com, b2b2c.ca, qc.aira.com, "
    "oricom.ca, xplornet.com, ebox.ca, distributel.ca, fido.ca"
)


def seed(apps, schema_editor):
    Setting = apps.get_model("accounts", "Setting")
    Setting.objects.get_or_create(
        key="ExchangeFreeMailDomains",
        defaults={
            "value": DOMAINS,
            "description": "Domaines de messagerie gratuits ou de fournisseurs Internet, séparés par des "
            "virgules : un contact synchronisé avec une de ces adresses n'est jamais associé à un client, "
            "prospect ou fournisseur.",
        },
    )


class Migration(migrations.Migration):
    dependencies = [("accounts", "0003_user_maintenance_show_fields")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
