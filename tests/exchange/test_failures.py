"""Why a run failed or halted is stored as a reason (a code and its parameters), never as a
sentence: a French administrator reads it in French, an English one in English, and a wording
fixed later applies to old runs too (SyncRun.failure, SyncState.last_failure,
MailboxPreview.failure). Rows written before hold French sentences, which the migration exchange
0012 reads back as codes (exchange/migrations/_legacy_failures.py)."""

from __future__ import annotations

import importlib

import pytest
from django.urls import reverse
from django.utils import translation

from accounts.models import ExchangeProfile
from exchange.graph import errors
from exchange.models import SyncRun, SyncState
from exchange.sync.runs import finish_failure, release_stuck_syncs

legacy = importlib.import_module("exchange.migrations._legacy_failures")


def test_a_graph_error_carries_its_reason_and_reads_in_the_active_language():
    error = errors.from_response(503, "ServiceUnavailable", "Try later")
    assert error.reason == {"code": "graph_unavailable", "params": {"status": 503}}
    with translation.override("fr-ca"):
        assert error.message == "Microsoft 365 est temporairement indisponible (erreur 503). Nouvel essai automatique."
    with translation.override("en"):
        assert (
            error.message == "Microsoft 365 is temporarily unavailable (error 503). It will be retried automatically."
        )
        assert str(error) == error.message


def test_a_plain_sentence_is_kept_as_it_came():
    error = errors.GraphError("Read timed out.", status=None)
    assert error.reason == {"code": "text", "params": {"text": "Read timed out."}}
    with translation.override("en"):
        assert error.message == "Read timed out."


@pytest.mark.parametrize("code", sorted(errors.MESSAGES))
def test_every_graph_failure_reads_in_french_and_in_english(code):
    params = {"minutes": 5, "address": "luc@finloc.com", "permissions": "Contacts.Read", "status": 503, "code": "X"}
    with translation.override("fr-ca"):
        french = errors.sentence({"code": code, "params": params})
    with translation.override("en"):
        english = errors.sentence({"code": code, "params": params})
    assert french and english and french != english and "%(" not in english


@pytest.mark.django_db
def test_a_failed_run_is_stored_as_a_code_and_shown_in_the_readers_language(client, admin_user, crm_user):
    ExchangeProfile.objects.create(user=crm_user, sync_contacts_in=True)
    state = SyncState.objects.create(user=crm_user, direction="contacts_in")
    run = SyncRun.objects.create(user=crm_user, direction="contacts_in")
    finish_failure(state, run, errors.failure("graph_throttled"), transient=True)
    state.refresh_from_db()
    run.refresh_from_db()
    assert state.last_failure == run.failure == {"code": "graph_throttled"}
    client.force_login(admin_user)
    french = client.get(reverse("sync_status")).content.decode()
    assert "Microsoft 365 limite le nombre de requêtes (429)" in french
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    english = client.get(reverse("sync_status")).content.decode()
    assert "Microsoft 365 is throttling requests (429)" in english
    assert "Microsoft 365 limite" not in english


@pytest.mark.django_db
def test_an_interrupted_run_reads_in_english_too(crm_user):
    run = SyncRun.objects.create(user=crm_user, direction="contacts_in")
    assert release_stuck_syncs() == 1
    run.refresh_from_db()
    assert run.failure == {"code": "run_interrupted"}
    with translation.override("en"):
        assert run.error == "Interrupted: the process was stopped."


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Interrompue : le processus a été arrêté.", {"code": "run_interrupted"}),
        (
            "Frein : 25 contacts sur 30 seraient désactivés. Un administrateur doit confirmer.",
            {"code": "brake_contacts", "params": {"count": 25, "total": 30}},
        ),
        (
            "Microsoft 365 est temporairement indisponible (erreur 503). Nouvel essai automatique.",
            {"code": "graph_unavailable", "params": {"status": 503}},
        ),
        (
            "Permission manquante : Contacts.Read. Accordez la permission d'application Contacts.Read avec le "
            "consentement d'un administrateur dans Microsoft Entra ID (Inscriptions d'applications → API "
            "autorisées → Accorder un consentement d'administrateur).",
            {"code": "graph_missing_permission", "params": {"permissions": "Contacts.Read"}},
        ),
        ("Read timed out.", {"code": "text", "params": {"text": "Read timed out."}}),
        ("", {}),
    ],
)
def test_a_sentence_written_before_is_read_back_as_its_code(text, expected):
    assert legacy.failure_of(text) == expected


@pytest.mark.django_db(transaction=True)
def test_the_migration_turns_stored_failures_into_codes():
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    before = [("exchange", "0011_ca_file_reads_trusted_authority")]  # before 0012 and 0013
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    old = executor.loader.project_state(before).apps
    user = old.get_model("accounts", "User").objects.create(code="MTREMBLAY", name="Marie Tremblay")
    old.get_model("exchange", "SyncRun").objects.create(
        user=user, direction="contacts_in", result="failed", error="Interrompue : le processus a été arrêté."
    )
    old.get_model("exchange", "SyncRun").objects.create(user=user, direction="activities_in", result="success")
    old.get_model("exchange", "SyncState").objects.create(
        user=user,
        direction="contacts_in",
        failed_attempts=1,
        last_error="Microsoft 365 limite le nombre de requêtes (429). Nouvel essai automatique.",
    )
    old.get_model("exchange", "MailboxPreview").objects.create(user=user, status="failed", error="Read timed out.")
    old.get_model("exchange", "GraphConnection").objects.create(
        tenant_id="prextra-demo",
        client_id="prextra-sync-demo",
        last_test_ok=True,
        last_test_message="Connexion réussie : jeton obtenu et boîte ana@finloc.com lue (utilisateur ana@finloc.com).",
    )

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    from exchange.models import GraphConnection, MailboxPreview

    assert list(SyncRun.objects.order_by("pk").values_list("failure", flat=True)) == [{"code": "run_interrupted"}, {}]
    state = SyncState.objects.get(user__code="MTREMBLAY")
    assert state.last_failure == {"code": "graph_throttled"}
    assert MailboxPreview.objects.get().failure == {"code": "text", "params": {"text": "Read timed out."}}
    connection_test = GraphConnection.objects.get()
    assert connection_test.last_test_result == {
        "code": "connection_mailbox_ok",
        "params": {"mailbox": "ana@finloc.com", "upn": "ana@finloc.com"},
    }
    with translation.override("en"):
        assert state.last_error.startswith("Microsoft 365 is throttling requests")
        assert connection_test.last_test_message.startswith(
            "Connection successful: token obtained and mailbox ana@finloc.com read"
        )
