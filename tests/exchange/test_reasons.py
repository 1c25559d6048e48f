"""Journal reasons are stored as codes with parameters and read in the viewer's language, without
requirement numbers (exchange/reasons.py); rows written before hold French sentences, which the
migration exchange 0010 reads back as codes (exchange/migrations/_legacy_reasons.py)."""

from __future__ import annotations

import importlib
import re

import pytest
from django.urls import reverse
from django.utils import translation

from exchange.models import JournalEntry
from exchange.reasons import MESSAGES, describe, reason

legacy = importlib.import_module("exchange.migrations._legacy_reasons")

# Parameters every sentence may name, with values from Outlook or Prextra (codes where a code is stored).
PARAMS = {
    "address": "luc@", "first": 1899, "last": 2201, "count": 2, "domain": "finloc.com", "kind": "supplier",
    "name": "Finloc inc.", "names": "A, B", "email": "ana@lima.ca", "folder": "Clients", "fields": ["subject"],
    "user": "MTREMBLAY", "field": "location", "winner": "prextra", "organizer": "Julie Fortin", "status": 403,
    "code": "ErrorAccessDenied", "message": "Access is denied.", "detail": "timeout", "text": "Saisi à la main",
    "day": "2027-04-18", "total": 30, "minutes": 5, "permissions": "Contacts.Read", "mailbox": "ana@finloc.com",
    "upn": "ana@finloc.onmicrosoft.com",
}  # fmt: skip


@pytest.mark.parametrize("code", sorted(set(MESSAGES) - {"text"}))
def test_every_reason_reads_in_french_and_in_english_without_a_rule_number(code):
    with translation.override("fr-ca"):
        french = describe([reason(code, **PARAMS)])
    with translation.override("en"):
        english = describe([reason(code, **PARAMS)])
    assert french and english and french != english, (code, english)
    assert not re.search(r"\bR\d+\b", french + english)
    assert "%(" not in french + english


def test_parameters_that_are_codes_are_named_in_the_readers_language():
    stored = [reason("linked_by_domain", domain="acier.ca", kind="supplier", name="Acier inc.")]
    stored.append(reason("conflict", field="subject", winner="prextra"))
    with translation.override("fr-ca"):
        assert describe(stored) == (
            "Associé par le domaine acier.ca → fournisseur « Acier inc. ». "
            "Conflit sur « sujet » : modifié des deux côtés ; gagnant : Prextra."
        )
    with translation.override("en"):
        assert describe(stored).startswith('Linked by the domain acier.ca → supplier "Acier inc.".')


def test_counts_choose_their_plural_form():
    with translation.override("fr-ca"):
        assert (
            describe(reason("recurring_series", count=1)) == "Ignoré : série récurrente (1 occurrence dans la période)."
        )
        assert describe(reason("recurring_series", count=11)).endswith("(11 occurrences dans la période).")


def test_an_unknown_code_is_a_programming_error_and_an_unreadable_row_still_shows_something():
    with pytest.raises(KeyError):
        reason("no_such_code")
    assert describe([{"code": "gone_since", "params": {"text": "Ancienne raison"}}]) == "Ancienne raison"
    assert describe([{"code": "modified", "params": {"unexpected": 1}}, "stray"]).startswith("Modifié dans Outlook.")


@pytest.mark.django_db
def test_the_journal_reads_in_the_viewers_language(client, admin_user, crm_user):
    JournalEntry.objects.create(
        user=crm_user, direction="activities_in", action="created", item_label="Revue",
        reasons=[reason("imported_public")],
    )  # fmt: skip
    admin_user.language = "en"  # the language of their user record (R2)
    admin_user.save()
    client.force_login(admin_user)
    page = client.get(reverse("journal")).content.decode()
    assert "Imported from Outlook (public)." in page
    assert "Importé" not in page and "R15" not in page
    admin_user.language = "fr-ca"
    admin_user.save()
    assert "Importé d&#x27;Outlook (public)." in client.get(reverse("journal")).content.decode()


# ---------------------------------------------------------------- rows written before (exchange 0010)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Importé d'Outlook (public, R15).", [{"code": "imported_public"}]),
        ("Ignoré : événement récurrent (R13).", [{"code": "recurring"}]),
        (
            "Modifié dans Outlook. Associé par le domaine finloc.com → client « Finloc inc. ».",
            [
                {"code": "modified"},
                {
                    "code": "linked_by_domain",
                    "params": {"domain": "finloc.com", "kind": "customer", "name": "Finloc inc."},
                },
            ],
        ),
        (
            "Retiré de la boîte Outlook de MTREMBLAY ; 2 autre(s) boîte(s) ont encore ce contact.",
            [{"code": "left_mailbox", "params": {"user": "MTREMBLAY", "count": 2}}],
        ),
        (
            "Valeurs trop longues coupées : subject, location.",
            [{"code": "truncated", "params": {"fields": ["subject", "location"]}}],
        ),
        (
            "Conflit sur « subject » : modifié des deux côtés ; gagnant : Outlook.",
            [{"code": "conflict", "params": {"field": "subject", "winner": "outlook"}}],
        ),
        (
            "Une phrase que personne n'a prévue.",
            [{"code": "text", "params": {"text": "Une phrase que personne n'a prévue."}}],
        ),
        ("", []),
    ],
)
def test_a_sentence_written_before_is_read_back_as_its_codes(text, expected):
    assert legacy.reasons_of(text) == expected


@pytest.mark.django_db(transaction=True)
def test_the_migration_turns_stored_sentences_into_codes_and_forgets_shipped_descriptions():
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    before = [
        ("exchange", "0009_mailbox_preview"),
        ("crm", "0012_one_contact_per_address"),
        ("accounts", "0005_exchange_profile_mailbox_id"),
    ]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    old = executor.loader.project_state(before).apps
    user = old.get_model("accounts", "User").objects.create(code="MTREMBLAY", name="Marie Tremblay")
    # As crm 0002 and accounts 0003 shipped them (a flush by an earlier test may have removed them).
    shipped = "Contacts synchronisés d'Outlook qui ne correspondent à aucun client, prospect ou fournisseur."
    group, _ = old.get_model("crm", "ContactGroup").objects.update_or_create(
        code="EXC", defaults={"name": "Exchange", "description": shipped}
    )
    old.get_model("accounts", "Setting").objects.update_or_create(
        key="UserMaintenanceShowFields",
        defaults={
            "description": "Boutons supplémentaires de la fiche utilisateur, séparés par des virgules. "
            "Ajoutez « btnexchange » pour afficher le bouton « Exchange »."
        },
    )
    old.get_model("accounts", "Setting").objects.update_or_create(
        key="MonRéglage", defaults={"description": "Écrit par l'administrateur."}
    )
    contact = old.get_model("crm", "Contact").objects.create(
        first_name="Ana", last_name="Lima", email="ana@finloc.com", group=group, needs_review=True,
        review_reason="À vérifier : le domaine finloc.com est sur plusieurs fiches (client : A, B).",
    )  # fmt: skip
    Entry = old.get_model("exchange", "JournalEntry")
    Entry.objects.create(
        user=user, direction="activities_in", action="created", reason="Importé d'Outlook (public, R15)."
    )
    Entry.objects.create(user=user, direction="activities_out", action="failed", reason="Read timed out.")
    Entry.objects.create(user=user, direction="contacts_in", action="updated", reason="")

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    from accounts.models import Setting
    from crm.models import Contact, ContactGroup

    assert list(JournalEntry.objects.order_by("pk").values_list("reasons", flat=True)) == [
        [{"code": "imported_public"}],
        [{"code": "error", "params": {"detail": "Read timed out."}}],
        [],
    ]
    contact = Contact.objects.get(pk=contact.pk)
    assert contact.review == {
        "code": "ambiguous_domain",
        "params": {"domain": "finloc.com", "kind": "customer", "names": "A, B"},
    }
    exc = ContactGroup.objects.get(code="EXC")
    assert exc.description == "" and Setting.objects.get(key="UserMaintenanceShowFields").description == ""
    assert Setting.objects.get(key="MonRéglage").shown_description == "Écrit par l'administrateur."  # kept as typed
    with translation.override("en"):
        assert contact.review_reason == "To review: the domain finloc.com is on several records (customer: A, B)."
        assert exc.shown_description.startswith("Contacts synchronized from Outlook")
        assert "btnexchange" in Setting.objects.get(key="UserMaintenanceShowFields").shown_description
