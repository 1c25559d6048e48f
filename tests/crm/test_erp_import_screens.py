"""Administration › Import du progiciel: upload → preview line by line → confirm → result kept;
a large file runs in the worker with a progress bar; only administrators import."""

from __future__ import annotations

import io
from pathlib import Path
from unittest import mock

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import override_settings
from django.urls import reverse

from crm.models import EXCHANGE_GROUP_CODE, Contact, ContactGroup, Customer, ErpImport, ErpImportLine
from crm.tasks import apply_erp_import, preview_erp_import

pytestmark = pytest.mark.django_db

HEADER = "Code;Nom;Domaines;Ville\n"


def customers_file(lines: list[str], name: str = "clients.csv", encoding: str = "utf-8") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, (HEADER + "\n".join(lines) + "\n").encode(encoding), content_type="text/csv")


def twenty_lines_two_bad() -> list[str]:
    lines = [f"C{n:03d};Société {n};soc{n}.ca;Montréal" for n in range(1, 19)]
    lines.insert(4, "C900;;;Québec")  # no name
    lines.insert(11, "C901;Gmail inc.;gmail.com;Québec")  # a free-mail domain (R9)
    return lines


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


def test_a_small_file_is_previewed_at_upload_and_imported_once_confirmed(
    admin_client, admin_user, django_capture_on_commit_callbacks
):
    response = admin_client.post(
        reverse("erp_imports"), {"kind": "customer", "file": customers_file(twenty_lines_two_bad())}
    )
    run = ErpImport.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("erp_import_detail", args=[run.pk])
    assert run.status == ErpImport.Status.PREVIEWED and run.uploaded_by == admin_user
    assert run.counts["preview"] == {"created": 18, "updated": 0, "unchanged": 0, "refused": 2}
    assert not Customer.objects.exists()  # the preview writes nothing

    page = admin_client.get(reverse("erp_import_detail", args=[run.pk])).content.decode()
    assert "Lignes refusées : 2" in page and "Nouvelles fiches : 18" in page
    assert "nom : valeur obligatoire." in page
    assert "gmail.com est un domaine de messagerie gratuit" in page

    worker = mock.patch("crm.import_views.apply_erp_import.delay", side_effect=apply_erp_import)
    with worker as delay, django_capture_on_commit_callbacks(execute=True):
        admin_client.post(reverse("erp_import_confirm", args=[run.pk]))
    delay.assert_called_once_with(run.pk)
    run.refresh_from_db()
    assert run.status == ErpImport.Status.DONE and run.file_data is None
    assert run.counts["import"] == run.counts["preview"]
    assert Customer.objects.count() == 18
    assert ErpImportLine.objects.filter(run=run, phase="import", action="refused").count() == 2

    # The result stays viewable; the run cannot be imported a second time.
    page = admin_client.get(reverse("erp_import_detail", args=[run.pk])).content.decode()
    assert "Résultat de l'import" in page and "Importer</button>" not in page
    admin_client.post(reverse("erp_import_confirm", args=[run.pk]))
    assert Customer.objects.count() == 18
    history = admin_client.get(reverse("erp_imports")).content.decode()
    assert "clients.csv" in history and "18 créées" in history


@override_settings(PREXTRA_IMPORT_INLINE_BYTES=10)
def test_a_large_file_is_previewed_in_the_worker_with_a_progress_bar(admin_client, django_capture_on_commit_callbacks):
    with (
        mock.patch("crm.import_views.preview_erp_import.delay") as delay,
        django_capture_on_commit_callbacks(execute=True),
    ):
        admin_client.post(reverse("erp_imports"), {"kind": "customer", "file": customers_file(twenty_lines_two_bad())})
    run = ErpImport.objects.get()
    delay.assert_called_once_with(run.pk)
    assert run.status == ErpImport.Status.QUEUED
    page = admin_client.get(reverse("erp_import_detail", args=[run.pk])).content.decode()
    assert "<progress" in page and 'hx-trigger="every 2s"' in page

    # The worker runs; the next poll tells the page to reload with the results.
    preview_erp_import(run.pk)
    poll = admin_client.get(reverse("erp_import_detail", args=[run.pk]), {"progress": "1"}, HTTP_HX_REQUEST="true")
    assert poll.headers.get("HX-Refresh") == "true"
    run.refresh_from_db()
    assert run.lines_done == run.lines_total == 20


def test_a_poll_while_running_returns_the_bar_only(admin_client):
    run = ErpImport.objects.create(kind="customer", file_name="x.csv", status=ErpImport.Status.IMPORTING)
    run.lines_total, run.lines_done = 50_000, 12_000
    run.save()
    poll = admin_client.get(reverse("erp_import_detail", args=[run.pk]), {"progress": "1"}, HTTP_HX_REQUEST="true")
    body = poll.content.decode()
    assert body.lstrip().startswith('<section id="progress"') and 'value="12000"' in body and "<html" not in body


@pytest.mark.parametrize(
    ("counts", "words"),
    [
        ({"created": 1, "updated": 1, "unchanged": 1, "refused": 1}, "1 créée, 1 mise à jour, 1 inchangée, 1 refusée"),
        ({"created": 2, "updated": 3, "refused": 4}, "2 créées, 3 mises à jour, 0 inchangée, 4 refusées"),
    ],
)
def test_the_history_counts_agree_with_their_number(admin_client, counts, words):
    ErpImport.objects.create(
        kind="customer", file_name="x.csv", status=ErpImport.Status.DONE, counts={"import": counts}
    )
    assert f"Import : {words}" in admin_client.get(reverse("erp_imports")).content.decode()


def test_a_file_that_is_not_csv_or_xlsx_or_too_big_is_refused_with_the_reason(admin_client):
    response = admin_client.post(
        reverse("erp_imports"), {"kind": "customer", "file": SimpleUploadedFile("x.exe", b"MZ")}
    )
    assert response.status_code == 400 and "Le fichier doit être un CSV ou un XLSX." in response.content.decode()
    with override_settings(PREXTRA_IMPORT_MAX_BYTES=10):
        response = admin_client.post(reverse("erp_imports"), {"kind": "customer", "file": customers_file(["A;B;;"])})
    assert response.status_code == 400 and "au plus" in response.content.decode()
    assert not ErpImport.objects.exists()


def test_a_file_missing_a_required_column_fails_whole_with_the_columns_named(admin_client):
    upload = SimpleUploadedFile("clients.csv", "Code;Ville\nC1;Québec\n".encode())
    admin_client.post(reverse("erp_imports"), {"kind": "customer", "file": upload})
    run = ErpImport.objects.get()
    assert run.status == ErpImport.Status.FAILED and run.error == "missing_columns"
    page = admin_client.get(reverse("erp_import_detail", args=[run.pk])).content.decode()
    assert "Colonnes obligatoires absentes : nom." in page
    assert "Importer</button>" not in page  # the import would fail the same way


def test_a_windows_1252_file_with_semicolons_reads_its_accents(admin_client):
    upload = customers_file(["C1;Société Québécoise;sq.ca;Trois-Rivières"], encoding="cp1252")
    admin_client.post(reverse("erp_imports"), {"kind": "customer", "file": upload})
    run = ErpImport.objects.get()
    line = run.lines.get()
    assert line.label == "Société Québécoise" and line.action == "created"


def test_crm_staff_cannot_import(client, crm_user):
    client.force_login(crm_user)
    assert client.get(reverse("erp_imports")).status_code == 403
    response = client.post(reverse("erp_imports"), {"kind": "customer", "file": customers_file(["C1;A;;"])})
    assert response.status_code == 403 and not ErpImport.objects.exists()


EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"


def test_the_readme_example_files_import_with_the_nightly_command(
    django_user_model, django_capture_on_commit_callbacks
):
    """docs/examples/: customers, then their contacts; one refusal each, reported by the
    command's exit status 2; the waiting hubspot.com contact of the demo joins HubSpot (R8)."""
    django_user_model.objects.create_user("MTREMBLAY", "x", name="Marie Tremblay")
    exchange = ContactGroup.objects.get_or_create(code=EXCHANGE_GROUP_CODE, defaults={"name": "Exchange"})[0]
    anshul = Contact.objects.create(
        first_name="Anshul", last_name="Bhargava", email="billing@hubspot.com", group=exchange, source="exchange"
    )
    err = io.StringIO()
    with pytest.raises(SystemExit) as exited, django_capture_on_commit_callbacks(execute=True):
        call_command("import_erp", "customer", str(EXAMPLES / "erp-clients.csv"), stdout=io.StringIO(), stderr=err)
    assert exited.value.code == 2
    assert "line 6 (GMAIL): domaines : gmail.com est un domaine de messagerie gratuit." in err.getvalue()
    assert Customer.objects.count() == 4 and not Customer.objects.get(code="SHERB02").is_active
    assert sorted(Customer.objects.get(code="LAVAL01").domains.values_list("domain", flat=True)) == [
        "beton-laval.com",
        "betonlaval.ca",
    ]
    anshul.refresh_from_db()
    assert anshul.customer.code == "HUBSPOT" and anshul.group is None

    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(SystemExit):
        call_command("import_erp", "contact", str(EXAMPLES / "erp-contacts.csv"), stdout=out, stderr=err)
    assert "3 created, 0 updated, 0 unchanged, 1 refused" in out.getvalue()
    assert "« INCONNU »" in err.getvalue()
    assert Contact.objects.get(erp_code="K1001").customer.code == "LAVAL01"

    out = io.StringIO()
    with pytest.raises(SystemExit):  # the refused line is still refused: exit status 2 again
        call_command("import_erp", "contact", str(EXAMPLES / "erp-contacts.csv"), stdout=out, stderr=io.StringIO())
    assert "0 created, 0 updated, 3 unchanged, 1 refused" in out.getvalue()
