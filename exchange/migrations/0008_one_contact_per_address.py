"""One person, one contact: each contact's own Outlook identity becomes a link of its mailbox
(crm.OutlookContact), then the active contacts sharing an email address (the same person in
several mailboxes, or entered in Prextra and synchronized) merge into one, keeping every
activity, note, journal entry, link and manual owner choice, with a journal entry per merge.
crm 0012 then drops the contact's own Outlook fields and adds the one-address constraint.

`merge_duplicates` reads only fields that exist before and after, so it runs on today's models
too; running it again changes nothing (tests/exchange/test_contact_merge.py)."""

from collections import defaultdict

from django.db import migrations, models

OWNER_FIELDS = ("customer_id", "prospect_id", "supplier_id", "group_id")


def copy_links(apps, schema_editor):
    Contact = apps.get_model("crm", "Contact")
    OutlookContact = apps.get_model("crm", "OutlookContact")
    known = set(OutlookContact.objects.values_list("mailbox_id", "outlook_id"))
    synchronized = Contact.objects.filter(outlook_id__isnull=False, outlook_mailbox__isnull=False).order_by("pk")
    links = [
        OutlookContact(
            contact_id=contact.pk,
            mailbox_id=contact.outlook_mailbox_id,
            outlook_id=contact.outlook_id,
            change_key=contact.outlook_change_key,
            folder_id=contact.outlook_folder_id,
            sync_hash=contact.sync_hash,
            linked_at=contact.created_at,
        )
        for contact in synchronized.iterator(chunk_size=2000)
        if (contact.outlook_mailbox_id, contact.outlook_id) not in known
    ]
    OutlookContact.objects.bulk_create(links, batch_size=1000)


def survivor_first(contact) -> tuple:
    """The contact the others merge into: one entered in Prextra (it was there first), else one
    whose owner a person chose, else the oldest."""
    return (contact.source != "manual", not contact.owner_locked, contact.created_at, contact.pk)


def merge_duplicates(apps, schema_editor=None) -> int:
    """Merge the active contacts that share an email address (case ignored); how many merged."""
    Contact = apps.get_model("crm", "Contact")
    OutlookContact = apps.get_model("crm", "OutlookContact")
    Activity = apps.get_model("crm", "Activity")
    ContactNote = apps.get_model("crm", "ContactNote")
    JournalEntry = apps.get_model("exchange", "JournalEntry")
    by_address = defaultdict(list)
    active = Contact.objects.filter(is_active=True).exclude(email="").order_by("pk")
    for contact in active.iterator(chunk_size=2000):
        by_address[contact.email.strip().lower()].append(contact)
    merged = 0
    for address, contacts in by_address.items():
        if len(contacts) < 2:
            continue
        survivor, *others = sorted(contacts, key=survivor_first)
        chosen = next((other for other in others if other.owner_locked and not survivor.owner_locked), None)
        if chosen is not None:
            for name in OWNER_FIELDS:
                setattr(survivor, name, getattr(chosen, name))
            survivor.owner_locked, survivor.needs_review, survivor.review_reason = True, False, ""
        if not survivor.erp_code:
            survivor.erp_code = next((other.erp_code for other in others if other.erp_code), None)
        ids = [other.pk for other in others]
        for model in (Activity, ContactNote, JournalEntry, OutlookContact):
            model.objects.filter(contact_id__in=ids).update(contact_id=survivor.pk)
        mailboxes = list(OutlookContact.objects.filter(contact_id=survivor.pk).values_list("mailbox_id", flat=True))
        Contact.objects.filter(pk__in=ids).update(erp_code=None)
        Contact.objects.filter(pk__in=ids).delete()
        survivor.save()
        user_id = next(iter(mailboxes), None) or survivor.representative_id
        if user_id is not None:
            JournalEntry.objects.create(
                user_id=user_id,
                direction="contacts_in",
                action="merged",
                item_label=f"{survivor.first_name} {survivor.last_name} <{survivor.email}>"[:255],
                email=survivor.email,
                reason=(
                    f"Une seule fiche par adresse : {len(others)} doublon(s) de {address} fusionné(s) dans ce contact "
                    f"(activités, notes et éléments Outlook de {len(set(mailboxes))} boîte(s) conservés)."
                ),
                contact_id=survivor.pk,
            )
        merged += len(others)
    return merged


class Migration(migrations.Migration):
    dependencies = [
        ("exchange", "0007_contact_folders"),
        ("crm", "0011_outlook_contact_links"),
    ]

    operations = [
        migrations.AlterField(
            model_name="journalentry",
            name="action",
            field=models.CharField(
                choices=[
                    ("created", "Créé"),
                    ("updated", "Modifié"),
                    ("deleted", "Désactivé ou supprimé"),
                    ("skipped", "Ignoré"),
                    ("linked", "Associé"),
                    ("conflict", "Conflit"),
                    ("failed", "En erreur"),
                    ("truncated", "Tronqué"),
                    ("unlinked", "Dissocié"),
                    ("merged", "Fusionné"),
                ],
                max_length=10,
                verbose_name="action",
            ),
        ),
        migrations.RunPython(copy_links, migrations.RunPython.noop),
        migrations.RunPython(merge_duplicates, migrations.RunPython.noop),
    ]
