"""A contact's review reason becomes a code with parameters (crm.models.REVIEW_MESSAGES), and the
shipped description of the group "EXC – Exchange" is no longer stored: it is shown in the
reader's language (crm.models.SHIPPED_GROUP_DESCRIPTIONS)."""

import re

from django.db import migrations, models

# The one sentence the sync wrote (frozen: a later wording must not change what is recognized).
AMBIGUOUS = re.compile(
    r"À vérifier : le domaine (?P<domain>.+?) est sur plusieurs fiches \((?P<kind>client|prospect|fournisseur) : "
    r"(?P<names>.*)\)\.$",
    re.DOTALL,
)
KINDS = {"client": "customer", "prospect": "prospect", "fournisseur": "supplier"}
SHIPPED_EXC_DESCRIPTION = (
    "Contacts synchronisés d'Outlook qui ne correspondent à aucun client, prospect ou fournisseur."
)


def review_of(text: str) -> dict:
    text = (text or "").strip()
    if not text:
        return {}
    match = AMBIGUOUS.match(text)
    if match is None:
        return {"code": "text", "params": {"text": text}}
    params = match.groupdict()
    params["kind"] = KINDS[params["kind"]]
    return {"code": "ambiguous_domain", "params": params}


def forward(apps, schema_editor):
    Contact = apps.get_model("crm", "Contact")
    ContactGroup = apps.get_model("crm", "ContactGroup")
    changed = []
    for contact in Contact.objects.exclude(review_reason="").only("pk", "review_reason").iterator(chunk_size=2000):
        contact.review = review_of(contact.review_reason)
        changed.append(contact)
    Contact.objects.bulk_update(changed, ["review"], batch_size=2000)
    ContactGroup.objects.filter(code="EXC", description=SHIPPED_EXC_DESCRIPTION).update(description="")


def backward(apps, schema_editor):
    Contact = apps.get_model("crm", "Contact")
    ContactGroup = apps.get_model("crm", "ContactGroup")
    for contact in Contact.objects.exclude(review={}).only("pk", "review").iterator(chunk_size=2000):
        params = contact.review.get("params") or {}
        if contact.review.get("code") == "ambiguous_domain":
            kind = {v: k for k, v in KINDS.items()}.get(params.get("kind"), "")
            text = f"À vérifier : le domaine {params.get('domain')} est sur plusieurs fiches ({kind} : {params.get('names')})."
        else:
            text = params.get("text", "")
        Contact.objects.filter(pk=contact.pk).update(review_reason=text[:255])
    ContactGroup.objects.filter(code="EXC", description="").update(description=SHIPPED_EXC_DESCRIPTION)


class Migration(migrations.Migration):
    dependencies = [("crm", "0012_one_contact_per_address")]

    operations = [
        migrations.AddField(
            model_name="contact",
            name="review",
            field=models.JSONField(blank=True, default=dict, verbose_name="raison de la vérification"),
        ),
        migrations.RunPython(forward, backward),
        migrations.RemoveField(model_name="contact", name="review_reason"),
    ]
