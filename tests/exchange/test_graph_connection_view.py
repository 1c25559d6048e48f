"""The Microsoft 365 connection screen (R1): administrators only, the secret encrypted and never shown."""

from __future__ import annotations

import pytest
from django.urls import reverse

from exchange.graph.client import forget_apps
from exchange.models import GraphConnection
from graph_emulator.identity import ROLES

pytestmark = pytest.mark.django_db

FORM = {
    "tenant_id": "contoso.onmicrosoft.com",
    "client_id": "11111111-2222-3333-4444-555555555555",
    "client_secret": "s3cr3t-Value~xyz",
    "authority_host": "https://login.microsoftonline.com",
    "graph_url": "https://graph.microsoft.com/v1.0",
    "ca_file": "",
    "private_events": "private",
    "conflict_winner": "outlook",
    "window_days_back": "90",
    "window_days_ahead": "365",
}


@pytest.mark.parametrize("url_name", ["graph_connection", "graph_connection_test"])
def test_crm_staff_cannot_open_or_change_the_connection_R1(client, crm_user, url_name):
    client.force_login(crm_user)
    assert client.get(reverse(url_name)).status_code in {403, 405}
    assert client.post(reverse(url_name), FORM).status_code == 403
    assert not GraphConnection.objects.exists()


def test_administrator_saves_the_connection_with_the_secret_encrypted_R1(client, admin_user):
    client.force_login(admin_user)
    response = client.post(reverse("graph_connection"), FORM, follow=True)
    assert "Connexion Microsoft 365 enregistrée." in response.content.decode()
    connection = GraphConnection.objects.get()
    assert connection.client_secret_encrypted
    assert "s3cr3t" not in connection.client_secret_encrypted
    assert connection.get_secret() == "s3cr3t-Value~xyz"


def test_the_secret_is_never_shown_again_R1(client, admin_user):
    client.force_login(admin_user)
    client.post(reverse("graph_connection"), FORM)
    page = client.get(reverse("graph_connection")).content.decode()
    assert "s3cr3t" not in page
    assert "Secret enregistré (chiffré)" in page


def test_blank_secret_keeps_the_saved_one(client, admin_user):
    client.force_login(admin_user)
    client.post(reverse("graph_connection"), FORM)
    client.post(reverse("graph_connection"), {**FORM, "client_secret": "", "client_id": "autre-app"})
    connection = GraphConnection.objects.get()
    assert connection.client_id == "autre-app"
    assert connection.get_secret() == "s3cr3t-Value~xyz"


def test_a_new_connection_needs_a_secret(client, admin_user):
    client.force_login(admin_user)
    response = client.post(reverse("graph_connection"), {**FORM, "client_secret": ""})
    assert "Le secret client est obligatoire." in response.content.decode()
    assert not GraphConnection.objects.exists()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("tenant_id", "contoso/../x", "Identifiant de locataire invalide"),
        ("ca_file", "/nulle/part.pem", "Ce fichier n&#x27;existe pas sur le serveur."),
        ("graph_url", "pas une adresse", "Saisissez une URL valide."),
        ("window_days_ahead", "0", "Entre 1 et 1825 jours."),
    ],
)
def test_bad_input_gets_a_clear_error_and_saves_nothing(client, admin_user, field, value, message):
    client.force_login(admin_user)
    response = client.post(reverse("graph_connection"), {**FORM, field: value})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not GraphConnection.objects.exists()


def test_hostile_input_is_escaped(client, admin_user):
    client.force_login(admin_user)
    response = client.post(reverse("graph_connection"), {**FORM, "tenant_id": "<script>alert(1)</script>"})
    page = response.content.decode()
    assert "<script>alert(1)</script>" not in page


def test_testing_before_saving_says_so(client, admin_user):
    client.force_login(admin_user)
    response = client.post(reverse("graph_connection_test"), {"mailbox": ""}, HTTP_HX_REQUEST="true")
    assert "Enregistrez d&#x27;abord la connexion." in response.content.decode()
    assert "<html" not in response.content.decode()


def test_the_screen_lists_the_application_permissions_to_grant(client, admin_user):
    client.force_login(admin_user)
    page = client.get(reverse("graph_connection")).content.decode()
    for permission in ("Contacts.Read", "Calendars.ReadWrite", "User.Read.All"):
        assert f"<code>{permission}</code>" in page
    assert "consentement d'un administrateur" in page


@pytest.fixture
def consented(graph_emulator):
    """The app's consented permissions for this test (new tokens carry them)."""

    def consent(roles):
        graph_emulator.set_roles(roles)
        forget_apps()

    yield consent
    graph_emulator.set_roles(ROLES)
    forget_apps()


def _test(client, admin_user, mailbox):
    client.force_login(admin_user)
    response = client.post(reverse("graph_connection_test"), {"mailbox": mailbox}, HTTP_HX_REQUEST="true")
    return response.content.decode()


def test_tester_names_every_permission_without_admin_consent(client, admin_user, connection, consented):
    consented([])
    page = _test(client, admin_user, "")
    assert "Permission manquante : Contacts.Read, Calendars.ReadWrite, User.Read.All." in page
    assert "consentement d&#x27;un administrateur dans Microsoft Entra ID" in page
    connection.refresh_from_db()
    assert not connection.last_test_ok


def test_tester_names_the_one_permission_missing(client, admin_user, connection, consented):
    consented(["Contacts.ReadWrite", "Calendars.ReadWrite"])
    page = _test(client, admin_user, "personne@prextra-demo.ca")
    assert "Accordez la permission d&#x27;application User.Read.All avec le consentement" in page


def test_tester_says_when_no_mailbox_has_the_address(client, admin_user, connection, graph_emulator):
    page = _test(client, admin_user, "personne.inconnue@prextra-demo.ca")
    assert "Aucune boîte aux lettres Microsoft 365 n&#x27;a l&#x27;adresse personne.inconnue@prextra-demo.ca" in page


def test_tester_finds_a_mailbox_by_its_alias(client, admin_user, connection, graph_emulator):
    graph_emulator.add_mailbox("j.gagnon@prextra-demo.ca", aliases=["jean.gagnon@prextra.ca"])
    page = _test(client, admin_user, "jean.gagnon@prextra.ca")
    assert "boîte jean.gagnon@prextra.ca lue (utilisateur j.gagnon@prextra-demo.onmicrosoft.com)" in page


def test_tester_words_an_untrusted_certificate_as_the_help_page_does(client, admin_user, connection):
    """« certificat d'autorité de confiance »: the field's name and the Tester's advice."""
    connection.ca_file = "/etc/ssl/certs/ca-certificates.crt"  # public CAs only: the emulator's is not there
    connection.save()
    forget_apps()
    page = _test(client, admin_user, "")
    assert "Vérifiez le certificat d&#x27;autorité de confiance de la connexion" in page
    form = client.get(reverse("graph_connection")).content.decode()
    assert "Certificat d&#x27;autorité de confiance" in form
