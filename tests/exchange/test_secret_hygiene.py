"""The Microsoft 365 client secret after an administrator saved it (R1): encrypted in the
database, and nowhere to be read — not in the logs (every logger at DEBUG, msal's included,
through a real token request and sync against the emulator), not in any page, not in Django's
admin, not in the error report of a crash during the save."""

from __future__ import annotations

import logging
from unittest import mock

import pytest
from django.db import connection as db
from django.test import Client
from django.urls import reverse
from django.views.debug import ExceptionReporter

from exchange.forms import GraphConnectionForm
from exchange.graph.client import GraphClient, GraphSettings, forget_apps
from exchange.models import GraphConnection
from exchange.sync.contacts import sync_contacts

pytestmark = pytest.mark.django_db

SECRET = "Zx9~s3cr3t-d3-l4-c0nn3xi0n"


def _form(graph_emulator) -> dict:
    return {
        "tenant_id": graph_emulator.identity.tenant,
        "client_id": graph_emulator.identity.client_id,
        "client_secret": SECRET,
        "authority_host": graph_emulator.base_url,
        "graph_url": graph_emulator.graph_url,
        "ca_file": str(graph_emulator.ca_file),
        "private_events": "private",
        "conflict_winner": "outlook",
        "window_days_back": "90",
        "window_days_ahead": "365",
    }


@pytest.fixture
def saved(admin_client, graph_emulator, mailbox_user, caplog):
    """The administrator saves the connection with the emulator's secret, then a sync runs."""
    GraphConnection.objects.all().delete()
    former = graph_emulator.identity.client_secret
    graph_emulator.identity.client_secret = SECRET  # the emulator accepts only this secret now
    forget_apps()
    caplog.set_level(logging.DEBUG)
    try:
        response = admin_client.post(reverse("graph_connection"), _form(graph_emulator))
        assert response.status_code == 302
        client = GraphClient(GraphSettings.from_connection(GraphConnection.current()))
        run = sync_contacts(mailbox_user, client=client)
        assert run is not None and run.result == "success"  # the secret really went to the token endpoint
        yield caplog
    finally:  # the emulator is shared by the whole session
        graph_emulator.identity.client_secret = former
        forget_apps()


def test_the_secret_is_encrypted_in_the_database(saved):
    with db.cursor() as cursor:
        cursor.execute("SELECT * FROM exchange_graphconnection")
        rows = cursor.fetchall()
    assert rows and SECRET not in repr(rows)
    assert GraphConnection.current().get_secret() == SECRET


def test_the_secret_is_in_no_log_line(saved):
    records = saved.get_records("setup") + saved.records  # the save and the sync ran in the fixture
    assert any(record.name.startswith("msal") and record.levelno == logging.DEBUG for record in records)
    formatter = logging.Formatter("%(name)s %(message)s")
    text = "\n".join(formatter.format(record) for record in records)
    assert "token" in text.lower()  # the token request was logged…
    assert SECRET not in text  # …without the secret


def test_the_secret_is_on_no_page_and_not_in_the_admin(saved, admin_client, django_user_model):
    pages = [reverse("graph_connection"), reverse("sync_status"), reverse("journal")]
    for url in pages:
        response = admin_client.get(url)
        assert response.status_code == 200, url
        assert SECRET not in response.content.decode(), url
    superuser = Client()
    superuser.force_login(django_user_model.objects.create_superuser("ROOT", "x", email="root@prextra.test"))
    pages = [reverse("admin:index")]
    pages += [reverse(f"admin:exchange_{model}_changelist") for model in ("syncstate", "syncrun", "journalentry")]
    for url in pages:
        response = superuser.get(url)
        assert response.status_code == 200, url
        assert SECRET not in response.content.decode(), url


def test_the_error_report_of_a_crash_while_saving_shows_no_secret(admin_user, graph_emulator, caplog, settings):
    """What Django mails administrators (AdminEmailHandler builds it from the logged request)."""
    settings.DEBUG = False
    client = Client(raise_request_exception=False)
    client.force_login(admin_user)
    with mock.patch.object(GraphConnectionForm, "save", autospec=True, side_effect=RuntimeError("disque plein")):
        response = client.post(reverse("graph_connection"), _form(graph_emulator))
    assert response.status_code == 500
    (record,) = [record for record in caplog.records if record.name == "django.request"]
    report = ExceptionReporter(record.request, *record.exc_info)
    assert "disque plein" in report.get_traceback_text()
    assert SECRET not in report.get_traceback_text()
    assert SECRET not in report.get_traceback_html()
    assert SECRET not in response.content.decode()
