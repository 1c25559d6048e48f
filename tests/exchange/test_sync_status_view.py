"""The sync status screen: per user and direction, red when something needs attention, a menu count."""

from __future__ import annotations

from datetime import date, timedelta
from html import unescape

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import ExchangeProfile
from crm.models import Contact
from exchange.models import SyncRun, SyncState

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", "/administration/synchronisation/"),
        ("post", "/administration/synchronisation/1/contacts_in/maintenant/"),
        ("post", "/administration/synchronisation/1/contacts_in/frein/"),
        ("get", "/administration/journal/"),
        ("post", "/administration/journal/1/resynchroniser/"),
    ],
)
def test_crm_staff_cannot_see_or_act_on_the_synchronization(client, crm_user, method, url):
    client.force_login(crm_user)
    assert getattr(client, method)(url).status_code == 403


@pytest.mark.parametrize("url", ["/administration/synchronisation/", "/administration/journal/"])
def test_anonymous_visitors_are_sent_to_sign_in(client, url):
    assert client.get(url).url.startswith("/connexion/")


def test_status_shows_each_direction_with_its_last_run(client, admin_user, crm_user):
    ExchangeProfile.objects.create(user=crm_user, sync_contacts_in=True)
    now = timezone.now()
    SyncState.objects.create(user=crm_user, direction="contacts_in", last_success_at=now, last_attempt_at=now)
    SyncRun.objects.create(user=crm_user, direction="contacts_in", result="success", created=12, skipped=3)
    client.force_login(admin_user)
    page = client.get(reverse("sync_status")).content.decode()
    assert "BOB" in page
    assert "12 créés, 0 modifié, 0 désactivé, 3 ignorés, 0 en erreur" in page
    assert "Synchroniser maintenant" in page
    assert 'class="attention"' not in page


def test_failed_or_stale_syncs_are_red_and_counted_in_the_menu(client, admin_user, crm_user, outsider):
    for user in (crm_user, outsider):
        ExchangeProfile.objects.create(user=user, sync_contacts_in=True)
    long_ago = timezone.now() - timedelta(hours=3)
    SyncState.objects.create(
        user=crm_user, direction="contacts_in", failed_attempts=2, last_failure={"code": "graph_unreachable"}
    )
    SyncState.objects.create(
        user=outsider, direction="contacts_in", last_success_at=long_ago, last_attempt_at=timezone.now()
    )
    client.force_login(admin_user)
    page = client.get(reverse("sync_status")).content.decode()
    assert page.count('class="attention"') == 2
    assert "Microsoft 365 est injoignable (réseau, pare-feu ou adresse erronée)" in page
    assert '<span class="count-badge">2</span>' in page


def test_a_dead_worker_is_announced(client, admin_user):
    client.force_login(admin_user)
    assert "ne donnent pas signe de vie" in client.get(reverse("sync_status")).content.decode()


def test_the_status_refreshes_as_a_partial(client, admin_user):
    client.force_login(admin_user)
    page = client.get(reverse("sync_status"), HTTP_HX_REQUEST="true").content.decode()
    assert page.lstrip().startswith('<section id="statuses"')


def test_sync_now_queues_the_sync_after_commit(
    client, admin_user, connection, mailbox_user, outlook, settings, django_capture_on_commit_callbacks
):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    outlook.add_contact("Luc", "Roy", "luc@exemple.ca")
    client.force_login(admin_user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("sync_now", args=[mailbox_user.pk, "contacts_in"]), follow=True)
    assert "Synchronisation de" in response.content.decode()
    assert SyncRun.objects.get(user=mailbox_user, direction="contacts_in").trigger == "manual"
    assert Contact.objects.filter(representative=mailbox_user).count() == 1


def test_sync_now_explains_why_a_user_cannot_be_synchronized(client, admin_user, connection, crm_user):
    client.force_login(admin_user)
    response = client.post(reverse("sync_now", args=[crm_user.pk, "contacts_in"]), follow=True)
    assert "La case de synchronisation est décochée." in response.content.decode()


@pytest.mark.parametrize(
    ("language", "counts", "words"),
    [
        ("fr-ca", (1, 2, 1, 1, 1), "1 créé, 2 modifiés, 1 désactivé, 1 ignoré, 1 en erreur"),
        ("fr-ca", (12, 1, 3, 2, 4), "12 créés, 1 modifié, 3 désactivés, 2 ignorés, 4 en erreur"),
        ("en", (1, 2, 1, 1, 1), "1 created, 2 updated, 1 deactivated, 1 skipped, 1 failed"),
    ],
)
def test_run_counts_agree_with_their_number(client, admin_user, crm_user, language, counts, words):
    """« 1 créé », « 2 créés »: never « 1 créés »."""
    created, updated, deleted, skipped, failed = counts
    ExchangeProfile.objects.create(user=crm_user, sync_contacts_in=True)
    SyncState.objects.create(user=crm_user, direction="contacts_in", last_attempt_at=timezone.now())
    SyncRun.objects.create(
        user=crm_user,
        direction="contacts_in",
        result="success",
        created=created,
        updated=updated,
        deleted=deleted,
        skipped=skipped,
        failed=failed,
    )
    admin_user.language = language
    admin_user.save()
    client.force_login(admin_user)
    assert words in client.get(reverse("sync_status")).content.decode()


def test_unknown_direction_is_not_found(client, admin_user, crm_user):
    client.force_login(admin_user)
    assert client.post(reverse("sync_now", args=[crm_user.pk, "nimporte"])).status_code == 404


def test_administrator_confirms_the_brakes_deletions(client, admin_user, crm_user):
    from crm.models import ContactGroup, OutlookContact

    group = ContactGroup.objects.get(code="EXC")
    contacts = [
        Contact.objects.create(first_name="A", last_name=str(n), group=group, source=Contact.Source.EXCHANGE)
        for n in range(3)
    ]
    for number, contact in enumerate(contacts):  # in Bob's Outlook only: nobody else holds them
        OutlookContact.objects.create(contact=contact, mailbox=crm_user, outlook_id=f"AAMk-{number}")
    SyncState.objects.create(
        user=crm_user,
        direction="contacts_in",
        pending_confirmation=True,
        pending_deletions=[contact.pk for contact in contacts],
    )
    client.force_login(admin_user)
    client.post(reverse("brake_decision", args=[crm_user.pk, "contacts_in"]), {"decision": "confirm"})
    assert not Contact.objects.filter(is_active=True).exists()
    assert not SyncState.objects.get().pending_confirmation


def test_confirming_one_deactivation_says_it_in_the_singular(client, admin_user, crm_user):
    from crm.models import ContactGroup, OutlookContact

    contact = Contact.objects.create(
        first_name="A", last_name="Seul", group=ContactGroup.objects.get(code="EXC"), source=Contact.Source.EXCHANGE
    )
    OutlookContact.objects.create(contact=contact, mailbox=crm_user, outlook_id="AAMk-seul")
    SyncState.objects.create(
        user=crm_user, direction="contacts_in", pending_confirmation=True, pending_deletions=[contact.pk]
    )
    client.force_login(admin_user)
    url = reverse("brake_decision", args=[crm_user.pk, "contacts_in"])
    response = client.post(url, {"decision": "confirm"}, follow=True)
    assert "1 contact désactivé." in response.content.decode()


def test_administrator_refuses_the_brakes_deletions(client, admin_user, crm_user):
    SyncState.objects.create(user=crm_user, direction="contacts_in", pending_confirmation=True, pending_deletions=[1])
    client.force_login(admin_user)
    client.post(reverse("brake_decision", args=[crm_user.pk, "contacts_in"]), {"decision": "reject"})
    state = SyncState.objects.get()
    assert not state.pending_confirmation and state.pending_deletions == []


@pytest.mark.parametrize(
    ("direction", "said"),
    [
        ("contacts_in", "les contacts restent actifs"),
        ("activities_in", "les activités restent dans les calendriers"),
    ],
)
def test_a_refusal_says_what_stays_in_the_words_of_its_direction(client, admin_user, crm_user, direction, said):
    SyncState.objects.create(user=crm_user, direction=direction, pending_confirmation=True, pending_deletions=[1])
    client.force_login(admin_user)
    url = reverse("brake_decision", args=[crm_user.pk, direction])
    response = client.post(url, {"decision": "reject"}, follow=True)
    assert said in response.content.decode()


def _rows_of(page: str, code: str) -> list[str]:
    """The table rows of the status screen that name the user `code`."""
    return [row for row in page.split("<tr") if f"<strong>{code}</strong>" in row]


def test_every_active_user_is_listed_those_without_a_switch_greyed_with_the_reason(client, admin_user, crm_user):
    """An administrator sees who is not synchronized, and why (R4, R5)."""
    ExchangeProfile.objects.create(user=crm_user, sync_contacts_in=True)
    client.force_login(admin_user)
    page = unescape(client.get(reverse("sync_status")).content.decode())
    alice = _rows_of(page, "ALICE")  # no Exchange profile at all
    assert len(alice) == 1 and 'class="unsynced"' in alice[0]
    assert "Aucune synchronisation" in alice[0]
    assert "Aucune case n'est cochée dans sa fenêtre Exchange." in alice[0]
    bob = _rows_of(page, "BOB")  # synchronized: one row per direction, not greyed
    assert "unsynced" not in bob[0] and "Aucune synchronisation" not in page.split("<strong>BOB</strong>")[1]


def test_a_profile_with_every_switch_off_is_greyed_too(client, admin_user, crm_user):
    ExchangeProfile.objects.create(user=crm_user)
    client.force_login(admin_user)
    page = unescape(client.get(reverse("sync_status")).content.decode())
    (bob,) = _rows_of(page, "BOB")
    assert 'class="unsynced"' in bob and "Aucune case n'est cochée dans sa fenêtre Exchange." in bob


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"email": ""}, "L'utilisateur n'a pas d'adresse courriel."),
        ({"never_expires": False, "expiry_date": date(2020, 1, 1)}, "Utilisateur expiré."),
    ],
)
def test_a_blocked_user_with_switches_on_says_its_blocker(client, admin_user, crm_user, change, reason):
    """R5 before the switches: the reason is `User.sync_blocker`'s."""
    ExchangeProfile.objects.create(user=crm_user, sync_contacts_in=True, sync_activities_out=True)
    for field, value in change.items():
        setattr(crm_user, field, value)
    crm_user.save()
    client.force_login(admin_user)
    page = unescape(client.get(reverse("sync_status")).content.decode())
    (bob,) = _rows_of(page, "BOB")
    assert 'class="unsynced"' in bob and reason in bob
    assert "Aucune case" not in bob


def test_an_unsynchronized_user_with_a_history_keeps_its_rows_greyed(client, admin_user, crm_user):
    ExchangeProfile.objects.create(user=crm_user)  # switched off after a first run
    now = timezone.now()
    SyncState.objects.create(user=crm_user, direction="contacts_in", last_success_at=now, last_attempt_at=now)
    SyncRun.objects.create(user=crm_user, direction="contacts_in", result="success", created=4)
    client.force_login(admin_user)
    page = unescape(client.get(reverse("sync_status")).content.decode())
    (bob,) = _rows_of(page, "BOB")  # the first of his rows, with the rowspan cell
    assert "4 créés" in bob and "Aucune case n'est cochée dans sa fenêtre Exchange." in bob
    assert page.count('<tr class="unsynced">') == 1 + 3  # Alice's line, Bob's three directions


def test_inactive_users_are_listed_only_with_a_switch_or_a_history(client, admin_user, crm_user, outsider):
    crm_user.is_active = outsider.is_active = False
    crm_user.save()
    outsider.save()
    ExchangeProfile.objects.create(user=outsider, sync_contacts_in=True)
    client.force_login(admin_user)
    page = unescape(client.get(reverse("sync_status")).content.decode())
    assert "<strong>BOB</strong>" not in page
    (charlie, *_others) = _rows_of(page, "CHARLIE")
    assert "Utilisateur inactif." in charlie


def test_status_page_queries_do_not_grow_with_users(
    client, admin_user, django_user_model, django_assert_max_num_queries
):
    for number in range(30):
        user = django_user_model.objects.create_user(f"U{number}", "x", name="U", email=f"u{number}@x.ca")
        ExchangeProfile.objects.create(user=user, sync_contacts_in=True, sync_activities_in=True)
        SyncState.objects.create(user=user, direction="contacts_in", last_attempt_at=timezone.now())
        SyncRun.objects.create(user=user, direction="contacts_in")
    for number in range(30):  # listed greyed: without a profile, with every switch off
        user = django_user_model.objects.create_user(f"N{number}", "x", name="N", email=f"n{number}@x.ca")
        if number % 2:
            ExchangeProfile.objects.create(user=user)
    client.force_login(admin_user)
    with django_assert_max_num_queries(12):
        client.get(reverse("sync_status"))


def _subscribed(user, **fields):
    """`user` reads contacts and events, its mailbox resolved, one contact folder; both subscribed."""
    from exchange import subscriptions
    from exchange.models import ContactFolder, Subscription

    ExchangeProfile.objects.create(
        user=user, sync_contacts_in=True, sync_activities_in=True, mailbox_id="box-9", mailbox_address=user.email
    )
    ContactFolder.objects.create(user=user, folder_id="f1", display_name="Contacts", is_default=True)
    for resource, kind in subscriptions.resources_of("box-9", events=True, contacts=True, folder_ids=["f1"]).items():
        values = {"status": "active", "expires_at": timezone.now() + timedelta(days=6)}
        values.update(fields if kind == "contacts" else {})
        Subscription.objects.create(user=user, kind=kind, resource=resource, graph_id=f"g-{kind}", **values)


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("fr-ca", ["En échec", "Microsoft 365 a refusé l'abonnement aux notifications (400 InvalidRequest"]),
        ("en", ["Failed", "Microsoft 365 refused the notification subscription (400 InvalidRequest"]),
    ],
)
def test_a_failed_subscription_is_red_with_graphs_reason_in_words(
    client, admin_user, crm_user, settings, language, words
):
    settings.PREXTRA_PUBLIC_URL = "https://prextra.example.com"
    refusal = {"code": "subscription_refused", "params": {"status": 400, "code": "InvalidRequest", "message": "x"}}
    _subscribed(crm_user, status="failed", failure=refusal)
    admin_user.language = language
    admin_user.save()
    client.force_login(admin_user)
    page = unescape(client.get(reverse("sync_status")).content.decode())
    for word in words:
        assert word in page
    assert page.count('class="attention"') == 1  # the contacts row only
    assert '<span class="count-badge">1</span>' in page


def test_healthy_subscriptions_show_until_when(client, admin_user, crm_user, settings):
    settings.PREXTRA_PUBLIC_URL = "https://prextra.example.com"
    _subscribed(crm_user)
    client.force_login(admin_user)
    page = unescape(client.get(reverse("sync_status")).content.decode())
    assert page.count("jusqu'au") == 2
    assert "Notifications d'Outlook actives" in page and 'class="attention"' not in page


def test_without_a_public_address_the_screen_says_mailboxes_are_polled(client, admin_user, crm_user, settings):
    settings.PREXTRA_PUBLIC_URL = ""
    client.force_login(admin_user)
    page = unescape(client.get(reverse("sync_status")).content.decode())
    assert "Notifications d'Outlook désactivées" in page and "toutes les 10 s" in page
