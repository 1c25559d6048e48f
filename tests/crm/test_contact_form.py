"""Contacts created and edited by hand (R10, R11): the owner is exactly one record or group, one
contact per email address, and a synchronized contact keeps Outlook as the source of its fields."""

from __future__ import annotations

import pytest
from django.urls import reverse

from crm.models import Contact, OutlookContact

pytestmark = pytest.mark.django_db


def _fields(**changes) -> dict:
    values = {
        "owner_type": "customer", "owner_code": "C0001", "first_name": "Élise", "last_name": "Gagnon",
        "title": "Acheteuse", "email": "elise.gagnon@finloc.com", "phone": "418 555-0101", "extension": "12",
        "mobile": "", "city": "Québec", "province": "QC", "country": "Canada", "representative": "", "is_active": "on",
    }  # fmt: skip
    return values | changes


@pytest.fixture
def synced(make_contact, exchange_group, crm_user):
    caroline = make_contact(
        "Caroline", "Larivière", email="caroline@lariviere.ca", title="Directrice", phone="418 555-0199", city="Lévis",
        group=exchange_group, source=Contact.Source.EXCHANGE,
    )  # fmt: skip
    OutlookContact.objects.create(contact=caroline, mailbox=crm_user, outlook_id="AAMk-1")
    return caroline


def test_a_contact_created_from_the_search_belongs_to_the_chosen_customer_and_appears_in_the_search_r11(
    bob_client, finloc
):
    assert reverse("contact_create") in bob_client.get(reverse("contact_search")).content.decode()
    response = bob_client.post(reverse("contact_create"), _fields(owner_code="c0001"))
    contact = Contact.objects.get(email="elise.gagnon@finloc.com")
    assert response.status_code == 302 and response["Location"] == reverse("contact_detail", args=[contact.pk])
    assert (contact.customer, contact.prospect, contact.supplier, contact.group) == (finloc, None, None, None)
    assert (contact.source, contact.extension, contact.owner_locked) == (Contact.Source.MANUAL, "12", False)
    html = bob_client.get(reverse("contact_search"), {"contact_name": "Gagnon"}).content.decode()
    assert "Élise Gagnon" in html and "Finloc inc." in html


def test_a_groups_new_contact_button_preselects_the_group_and_the_contact_appears_in_its_list_r10(
    bob_client, exchange_group
):
    group_url = reverse("contact_group_contacts", args=[exchange_group.pk])
    link = f"{reverse('contact_create')}?owner=group:{exchange_group.pk}"
    assert link in bob_client.get(group_url).content.decode()
    form = bob_client.get(link).context["form"]
    assert (form["owner_type"].value(), form["owner_code"].value()) == ("group", "EXC")
    assert bob_client.get(f"{link}&next={group_url}").context["cancel_url"] == group_url  # « Annuler »
    bob_client.post(link, _fields(owner_type="group", owner_code="EXC", email=""))
    contact = Contact.objects.get(last_name="Gagnon")
    assert contact.group == exchange_group and contact.customer is None
    assert "Élise Gagnon" in bob_client.get(group_url).content.decode()


def test_a_record_page_preselects_its_company_by_type_and_key_and_a_bad_key_preselects_nothing(bob_client, canam):
    form = bob_client.get(reverse("contact_create"), {"owner": f"prospect:{canam.pk}"}).context["form"]
    assert (form["owner_type"].value(), form["owner_code"].value()) == ("prospect", "P0001")
    for reference in ["prospect:999999", "prospect:99999999999999999999", "planet:1", "prospect:abc", ""]:
        form = bob_client.get(reverse("contact_create"), {"owner": reference}).context["form"]
        assert form["owner_code"].value() is None, reference


def test_first_name_last_name_and_an_existing_active_owner_are_required(bob_client, finloc):
    response = bob_client.post(reverse("contact_create"), _fields(first_name="", last_name="", owner_code="Z9"))
    assert response.status_code == 400
    html = response.content.decode()
    assert "Le prénom est obligatoire." in html and "Le nom est obligatoire." in html
    assert "Aucun client actif ne porte le code « Z9 »." in html
    finloc.is_active = False
    finloc.save()
    assert bob_client.post(reverse("contact_create"), _fields()).status_code == 400
    assert not Contact.objects.filter(last_name="Gagnon").exists()


def test_a_contact_has_exactly_one_owner_when_its_owner_moves_from_a_group_to_a_customer(
    bob_client, make_contact, exchange_group, finloc
):
    contact = make_contact("Marc", "Roy", group=exchange_group)
    response = bob_client.post(
        reverse("contact_edit", args=[contact.pk]), _fields(first_name="Marc", last_name="Roy", email="marc@roy.ca")
    )
    assert response.status_code == 302
    contact.refresh_from_db()
    assert (contact.customer, contact.prospect, contact.supplier, contact.group) == (finloc, None, None, None)
    assert (contact.first_name, contact.email, contact.owner_locked) == ("Marc", "marc@roy.ca", False)


def test_an_email_of_another_active_contact_is_refused_with_a_link_to_that_contact(
    bob_client, make_contact, finloc, exchange_group
):
    existing = make_contact("Élise", "Gagnon", email="elise.gagnon@finloc.com", group=exchange_group)
    response = bob_client.post(reverse("contact_create"), _fields(email="Elise.Gagnon@FINLOC.com"))
    assert response.status_code == 400
    html = response.content.decode()
    assert "Élise Gagnon a déjà ce courriel : un seul contact par personne." in html
    assert reverse("contact_detail", args=[existing.pk]) in html
    assert Contact.objects.count() == 1
    existing.is_active = False
    existing.save()
    assert bob_client.post(reverse("contact_create"), _fields()).status_code == 302  # an inactive one does not count


def test_an_invalid_email_is_refused(bob_client, finloc):
    response = bob_client.post(reverse("contact_create"), _fields(email="pas un courriel"))
    assert response.status_code == 400 and not Contact.objects.exists()


def test_the_contact_page_offers_to_edit_and_editing_keeps_its_own_address(bob_client, make_contact, exchange_group):
    ana = make_contact("Ana", "Lima", email="ana@lima.ca", group=exchange_group)
    page = bob_client.get(reverse("contact_detail", args=[ana.pk])).content.decode()
    assert reverse("contact_edit", args=[ana.pk]) in page
    cancel = bob_client.get(reverse("contact_edit", args=[ana.pk])).context["cancel_url"]
    assert cancel == reverse("contact_detail", args=[ana.pk])
    fields = _fields(owner_type="group", owner_code="EXC", first_name="Ana", last_name="Lima", email="ana@lima.ca")
    response = bob_client.post(reverse("contact_edit", args=[ana.pk]), fields | {"title": "Comptable"})
    assert response.status_code == 302  # its own address is not another contact's
    ana.refresh_from_db()
    assert ana.title == "Comptable"


def test_a_synchronized_contacts_outlook_fields_are_read_only_with_the_reason(bob_client, synced):
    form = bob_client.get(reverse("contact_edit", args=[synced.pk])).context["form"]
    for name in Contact.OUTLOOK_FIELDS:
        assert form.fields[name].disabled, name
        assert "Outlook est la source de ce champ" in str(form.fields[name].help_text)
    assert not form.fields["owner_code"].disabled and not form.fields["extension"].disabled


def test_a_post_changing_a_synchronized_contacts_outlook_fields_changes_them_not_but_moves_its_owner(
    bob_client, synced, canam
):
    response = bob_client.post(
        reverse("contact_edit", args=[synced.pk]),
        _fields(owner_type="prospect", owner_code="P0001", first_name="Pirate", email="autre@exemple.ca")
        | {"extension": "7"},
    )
    assert response.status_code == 302
    synced.refresh_from_db()
    assert (synced.first_name, synced.last_name, synced.email, synced.title, synced.city) == (
        "Caroline", "Larivière", "caroline@lariviere.ca", "Directrice", "Lévis",
    )  # fmt: skip
    assert (synced.prospect, synced.group, synced.extension) == (canam, None, "7")
    assert synced.owner_locked  # the sync keeps the owner chosen by hand


def test_outlook_fields_are_the_ones_the_sync_writes():
    from exchange.mapping import CONTACT_FIELDS

    assert CONTACT_FIELDS == Contact.OUTLOOK_FIELDS
