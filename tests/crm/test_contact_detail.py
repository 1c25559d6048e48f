"""A contact's page: owner, fields, source, review flag, notes, activities (private ones stay private)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from crm.models import Activity, Contact, ContactNote, OutlookContact

REVIEW = {"code": "text", "params": {"text": "Domaine sur 2 fiches"}}  # as typed in the admin

pytestmark = pytest.mark.django_db


@pytest.fixture
def luc(make_contact, finloc, crm_user, outsider):
    """Luc, synchronized from Charlie's Outlook."""
    contact = make_contact(
        "Luc",
        "Roy",
        customer=finloc,
        title="Acheteur",
        phone="418 222-2222",
        extension="2222",
        city="Victoriaville",
        province="QC",
        country="Canada",
        representative=crm_user,
        source=Contact.Source.EXCHANGE,
    )
    OutlookContact.objects.create(contact=contact, mailbox=outsider, outlook_id="AAMk=")
    return contact


def _url(contact) -> str:
    return reverse("contact_detail", args=[contact.pk])


def test_anonymous_is_sent_to_sign_in(client, luc):
    response = client.get(_url(luc))
    assert response.status_code == 302
    assert response["Location"].startswith("/connexion/")


def test_page_shows_owner_fields_and_source(bob_client, luc, finloc):
    html = bob_client.get(_url(luc)).content.decode()
    assert "<h1>Luc Roy</h1>" in html
    assert "Finloc inc.</a>" in html and "(Clients)" in html
    assert f"{reverse('contact_search')}?owner_type=customer&amp;name=Finloc+inc.&amp;status=tous" in html
    for value in ("Acheteur", "418 222-2222, poste 2222", "Victoriaville", "Bob Bélanger", "Exchange"):
        assert value in html
    assert "Charlie Côté" in html and "depuis le" in html  # the mailboxes that hold it
    assert "Association à une fiche" not in html


def test_group_contact_links_to_its_group_and_offers_the_assignment(bob_client, make_contact, exchange_group):
    anshul = make_contact(
        "Anshul",
        "Bhargava",
        group=exchange_group,
        needs_review=True,
        review=REVIEW,
    )
    html = bob_client.get(_url(anshul)).content.decode()
    assert f'href="{reverse("contact_group_contacts", args=[exchange_group.pk])}"' in html
    assert "À vérifier" in html and "Domaine sur 2 fiches" in html
    assert f'action="{reverse("contact_assign", args=[anshul.pk])}"' in html


def test_notes_are_newest_first(bob_client, luc, outsider):
    now = timezone.now()
    ContactNote.objects.create(contact=luc, author=outsider, date=now - timedelta(days=3), text="Première note")
    ContactNote.objects.create(contact=luc, author=outsider, date=now, text="Dernière note")
    html = bob_client.get(_url(luc)).content.decode()
    assert html.index("Dernière note") < html.index("Première note")
    assert "Charlie Côté" in html


def _activity(contact, owner, subject, days, private=False) -> Activity:
    start = timezone.now() + timedelta(days=days)
    return Activity.objects.create(
        owner=owner,
        contact=contact,
        subject=subject,
        location=f"Lieu de {subject}",
        notes=f"Notes de {subject}",
        start=start,
        end=start + timedelta(hours=1),
        is_private=private,
    )


def test_another_users_private_activity_shows_only_busy(bob_client, luc, crm_user, outsider):
    _activity(luc, outsider, "Négociation secrète", days=2, private=True)
    _activity(luc, outsider, "Rencontre publique", days=3)
    _activity(luc, crm_user, "Mon dîner privé", days=-2, private=True)
    html = bob_client.get(_url(luc)).content.decode()
    assert "Occupé" in html
    for secret in ("Négociation secrète", "Lieu de Négociation secrète", "Notes de Négociation secrète"):
        assert secret not in html
    for shown in ("Rencontre publique", "Lieu de Rencontre publique", "Mon dîner privé", "Notes de Mon dîner privé"):
        assert shown in html


def test_the_owner_sees_their_own_private_activity(client, luc, outsider):
    _activity(luc, outsider, "Négociation secrète", days=2, private=True)
    client.force_login(outsider)
    html = client.get(_url(luc)).content.decode()
    assert "Négociation secrète" in html
    assert "Occupé" not in html


def test_upcoming_and_recent_activities_are_split_and_deleted_ones_hidden(bob_client, luc, crm_user):
    _activity(luc, crm_user, "Visite à venir", days=5)
    _activity(luc, crm_user, "Visite passée", days=-5)
    deleted = _activity(luc, crm_user, "Visite supprimée", days=1)
    deleted.is_deleted = True
    deleted.save()
    html = bob_client.get(_url(luc)).content.decode()
    upcoming, recent = html.split("Activités récentes")
    assert "Visite à venir" in upcoming and "Visite passée" in recent
    assert "Visite supprimée" not in html


def test_missing_contact_is_404(bob_client):
    assert bob_client.get(reverse("contact_detail", args=[999999])).status_code == 404


def test_query_count_does_not_grow_with_notes_and_activities(
    bob_client, luc, crm_user, outsider, django_assert_max_num_queries
):
    for day in range(30):
        _activity(luc, outsider if day % 2 else crm_user, f"Activité {day}", days=day - 15, private=day % 3 == 0)
        ContactNote.objects.create(contact=luc, author=outsider, text=f"Note {day}")
    # session, user, contact, notes, upcoming, recent; the mailboxes that hold it: one query; when
    # the activities not yet in Outlook will be sent (crm.signals.outlook_waits): the connection.
    with django_assert_max_num_queries(8):
        assert bob_client.get(_url(luc)).status_code == 200
