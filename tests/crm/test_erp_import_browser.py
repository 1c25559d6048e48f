"""The ERP import in a real headless Chromium: an administrator uploads a file of 20 lines with
2 bad ones, reads the two refusals with their reasons, imports, and finds the 18 records."""

from __future__ import annotations

from pathlib import Path
from unittest import mock

import pytest
from playwright.sync_api import expect

from crm.models import Customer
from crm.tasks import apply_erp_import
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def test_an_administrator_imports_twenty_lines_and_reads_the_two_refusals(live_server, page, admin_user, tmp_path):
    lines = ["Code;Nom;Domaines;Ville"] + [f"C{n:03d};Société {n};soc{n}.ca;Montréal" for n in range(1, 19)]
    lines.insert(5, "C900;;;Québec")  # no name
    lines.insert(12, "C901;Courriel gratuit inc.;gmail.com;Québec")  # a free-mail domain (R9)
    upload = tmp_path / "clients <script>.csv"
    upload.write_bytes("\n".join(lines).encode("cp1252"))  # what Excel on a French Windows writes

    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto(f"{live_server.url}/connexion/")
    page.fill("#id_username", "alice")
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    page.wait_for_url(f"{live_server.url}/")
    page.locator("summary", has_text="Administration").click()
    page.locator("nav.menu").get_by_role("link", name="Import du progiciel").click()

    page.select_option("#id_kind", "customer")
    page.set_input_files("#id_file", str(upload))
    page.get_by_role("button", name="Aperçu").click()
    expect(page.get_by_role("heading", name="Import de clients <script>.csv")).to_be_visible()
    expect(page.get_by_text("Nouvelles fiches : 18")).to_be_visible()
    expect(page.get_by_text("Lignes refusées : 2")).to_be_visible()
    refusals = page.locator("#lines tbody tr")
    expect(refusals).to_have_count(2)
    expect(refusals.nth(0)).to_contain_text("nom : valeur obligatoire.")
    expect(refusals.nth(1)).to_contain_text("gmail.com est un domaine de messagerie gratuit.")
    assert not Customer.objects.exists()
    page.screenshot(path=str(ARTIFACTS / "erp_import_preview.png"), full_page=True)

    # The import runs in the worker: the test plays the worker once the task is queued, while
    # the page polls its progress.
    with mock.patch("crm.import_views.apply_erp_import.delay") as queued:
        page.get_by_role("button", name="Importer").click()
        expect(page.get_by_text("Import lancé")).to_be_visible()
    expect(page.locator("#progress progress")).to_be_visible()
    (run_id,), _kwargs = queued.call_args
    apply_erp_import(run_id)
    expect(page.get_by_role("heading", name="Résultat de l'import")).to_be_visible(timeout=10_000)
    expect(page.locator("#lines tbody tr")).to_have_count(2)
    assert Customer.objects.count() == 18
    assert Customer.objects.get(code="C001").name == "Société 1"
    page.screenshot(path=str(ARTIFACTS / "erp_import_result.png"), full_page=True)
