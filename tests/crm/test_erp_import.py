"""The ERP import (crm/erp/): customers, prospects, suppliers and contacts from the ERP's CSV or
XLSX files. Reading any of the ERP's file shapes gives the same records; a second import of the
same file writes nothing; a preview writes nothing and announces what the import then does; a bad
line never stops the others and is refused with its reason (a code, rendered in the reader's
language); the domains an import brings re-link the synchronized contacts (R8), a free-mail
domain is refused (R9)."""

from __future__ import annotations

import csv
import io
import re
import time
import unicodedata

import pytest
from django.db import IntegrityError, connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from crm.erp import runs
from crm.erp.reading import FileRefused, open_table
from crm.erp.reasons import MESSAGES, describe
from crm.erp.resources import columns_of
from crm.models import (
    Contact,
    ContactGroup,
    Customer,
    EmailDomain,
    ErpImport,
    ErpImportLine,
    Prospect,
    Supplier,
)
from tests.hostile import hostile_strings

# The reading tests below need no database; the mark only lets the others use it.
pytestmark = pytest.mark.django_db

CUSTOMER_HEADER = ["Code", "Nom", "Ville", "Province", "Téléphone"]
CUSTOMER_ROWS = [
    ["C0101", "Société Générale de Montréal", "Montréal", "QC", "514 555-0100"],
    ["C0102", "Boulangerie « Chez Émile »", "Québec", "QC", "418 555-0199"],
    ["C0103", "Acier, Tremblay & fils — Œuvres d’art", "Saint-Jérôme", "QC", ""],
]
CUSTOMER_RECORDS = [
    (number, {"code": code, "nom": name, "ville": city, "province": province, "telephone": phone})
    for number, (code, name, city, province, phone) in enumerate(CUSTOMER_ROWS, 2)
]


def _csv(rows: list[list], separator: str = ",") -> str:
    out = io.StringIO()
    csv.writer(out, delimiter=separator, lineterminator="\r\n").writerows(rows)
    return out.getvalue()


def _xlsx(rows: list[list]) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _table(kind: str, data: bytes, file_name: str = "export.csv"):
    aliases, required = columns_of(kind)
    return open_table(io.BytesIO(data), file_name, aliases, required)


def _import(kind: str, content, *, file_name: str = "export.csv", dry_run: bool = False) -> ErpImport:
    """One run of `content` (text is written in UTF-8) through the preview or the import."""
    data = content.encode("utf-8") if isinstance(content, str) else content
    run = ErpImport.objects.create(kind=kind, file_name=file_name, file_size=len(data))
    opener = lambda: io.BytesIO(data)  # noqa: E731
    return runs.preview(run, opener) if dry_run else runs.apply(run, opener)


def _counts(run: ErpImport, phase: str = "import") -> dict[str, int]:
    return run.counts[phase]


def _refused(run: ErpImport, phase: str = "import") -> dict[int, list[tuple[str, str]]]:
    """{file line: [(column, code), ...]} of the refused lines."""
    lines = run.lines.filter(phase=phase, action=ErpImportLine.Action.REFUSED)
    return {line.line: [(reason["field"], reason["code"]) for reason in line.reasons] for line in lines}


def _sentences(run: ErpImport, phase: str = "import") -> dict[int, list[str]]:
    lines = run.lines.filter(phase=phase, action=ErpImportLine.Action.REFUSED)
    return {
        line.line: [describe(reason["code"], reason["params"], reason["field"]) for reason in line.reasons]
        for line in lines
    }


CRM_WRITE = re.compile(r'^\s*(INSERT INTO|UPDATE|DELETE FROM)\s+"crm_(customer|contact|emaildomain)"', re.IGNORECASE)


def _crm_writes(queries) -> list[str]:
    return [query["sql"] for query in queries if CRM_WRITE.match(query["sql"])]


# ====================================================================== reading (no database)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252"])
@pytest.mark.parametrize("separator", [",", ";", "\t"])
def test_every_shape_of_the_erp_csv_reads_as_the_same_records(encoding, separator):
    """UTF-8 with or without its byte-order mark, Windows-1252 (Excel on a French Windows),
    commas, semicolons (Excel in a French locale) or tabs: « Montréal », « Québec » and
    « Société » arrive as they were typed, a comma inside a quoted name stays in the name."""
    data = _csv([CUSTOMER_HEADER, *CUSTOMER_ROWS], separator).encode(encoding)
    table = _table("customer", data)
    assert table.columns == ["code", "nom", "ville", "province", "telephone"]
    assert table.separator == separator
    assert table.encoding == ("cp1252" if encoding == "cp1252" else "utf-8-sig")
    assert list(table.lines) == CUSTOMER_RECORDS


def test_an_xlsx_file_reads_as_the_same_records_numbers_without_their_decimals():
    """A phone typed as a number (5145551234) and an integer code arrive as the ERP's text."""
    data = _xlsx(
        [
            ["Code", "Nom", "Ville", "Province", "Téléphone"],
            [1001, "Société Générale de Montréal", "Montréal", "QC", 5145551234],
            [None, None, None, None, None],
            ["C0102", "Boulangerie « Chez Émile »", "Québec", "QC", 4185550199.0],
        ]
    )
    table = _table("customer", data, "export.xlsx")
    assert list(table.lines) == [
        (2, {"code": "1001", "nom": "Société Générale de Montréal", "ville": "Montréal", "province": "QC",
             "telephone": "5145551234"}),
        (4, {"code": "C0102", "nom": "Boulangerie « Chez Émile »", "ville": "Québec", "province": "QC",
             "telephone": "4185550199"}),
    ]  # fmt: skip


def test_an_xlsx_file_is_recognized_by_its_content_whatever_its_name():
    data = _xlsx([CUSTOMER_HEADER, *CUSTOMER_ROWS])
    assert list(_table("customer", data, "export.csv").lines) == CUSTOMER_RECORDS


@pytest.mark.parametrize(
    "header",
    [
        ["Code", "First name", "Last name", "Email", "Owner", "Owner type", "Mobile"],
        ["Code", "Prénom", "Nom", "Courriel", "Propriétaire", "Type de propriétaire", "Cellulaire"],
        ["CODE", "PRENOM", "NOM", "COURRIEL", "PROPRIETAIRE", "TYPE_PROPRIETAIRE", "cellulaire"],
        ["code_contact", " prénom ", "nom de famille", "Adresse courriel", "Code client", "Type", "Mobile phone"],
    ],
)
def test_contact_headers_are_read_in_english_or_french_accents_and_case_ignored(header):
    data = _csv([header, ["K1", "Éric", "Lévesque", "eric@finloc.com", "C0001", "client", "514 555-0101"]])
    table = _table("contact", data.encode())
    assert table.ignored == []
    assert list(table.lines) == [
        (2, {"code": "K1", "prenom": "Éric", "nom": "Lévesque", "courriel": "eric@finloc.com",
             "proprietaire": "C0001", "type_proprietaire": "client", "cellulaire": "514 555-0101"}),
    ]  # fmt: skip


def test_a_missing_required_column_refuses_the_file_and_names_the_column():
    data = _csv([["Code", "Ville"], ["C0101", "Montréal"]]).encode()
    with pytest.raises(FileRefused) as refused:
        _table("customer", data)
    assert refused.value.code == "missing_columns"
    assert refused.value.params["columns"] == "nom"
    assert "Code, Ville" in refused.value.params["found"]


def test_a_file_neither_utf8_nor_windows_1252_is_refused():
    data = "Code;Nom\nC0101;Société".encode("cp1252") + b"\x81\x8d\n"
    with pytest.raises(FileRefused) as refused:
        _table("customer", data)
    assert refused.value.code == "unknown_encoding"


@pytest.mark.parametrize("data", [b"PK\x03\x04 pas un classeur", b"pas un classeur du tout"])
def test_a_corrupt_xlsx_file_is_refused(data):
    with pytest.raises(FileRefused) as refused:
        _table("customer", data, "export.xlsx")
    assert refused.value.code == "unreadable_xlsx"


def test_blank_lines_are_skipped_and_the_others_keep_their_line_numbers():
    data = b"Code;Nom\r\n\r\nC0101;Finloc\r\n;\r\n  ;  \r\nC0102;Canam\r\n\r\n"
    assert list(_table("customer", data).lines) == [
        (3, {"code": "C0101", "nom": "Finloc"}),
        (6, {"code": "C0102", "nom": "Canam"}),
    ]


def test_unknown_columns_are_listed_not_refused():
    data = _csv([["Code", "Nom", "Solde", "", "Date de création", "Nom"], ["C0101", "Finloc", "12", "", "2024", "x"]])
    table = _table("customer", data.encode())
    assert table.ignored == ["Solde", "Date de création", "Nom"]
    assert list(table.lines) == [(2, {"code": "C0101", "nom": "Finloc"})]


def test_a_line_is_numbered_where_it_starts_when_a_quoted_cell_holds_line_breaks():
    """The number a refusal names is the line the record starts on in the file."""
    data = 'Code;Nom\n\nC0101;"Finloc\ninc.\n(siège)"\n\nC0102;Canam\n'.encode()
    assert list(_table("customer", data).lines) == [
        (3, {"code": "C0101", "nom": "Finloc\ninc.\n(siège)"}),
        (7, {"code": "C0102", "nom": "Canam"}),
    ]


# ====================================================================== database


@pytest.fixture
def bob(crm_user):
    """Bob (user code BOB), the representative the files name."""
    return crm_user


@pytest.fixture
def finloc_customer(db):
    """C0001 Finloc inc. and its domain finloc.com."""
    customer = Customer.objects.create(code="C0001", name="Finloc inc.", city="Québec")
    EmailDomain.objects.create(domain="finloc.com", customer=customer)
    return customer


def _customer_rows(count: int, start: int = 101) -> list[list[str]]:
    return [
        [f"C{n:04d}", f"Société {n} de Montréal", f"societe{n}.ca", "bob", f"514 555-{n:04d}", "Montréal", "QC", "oui"]
        for n in range(start, start + count)
    ]


CUSTOMERS = ["Code", "Nom", "Domaines", "Représentant", "Téléphone", "Ville", "Province", "Actif"]


def _customers_file(rows: list[list[str]], header=CUSTOMERS) -> str:
    return _csv([header, *rows], ";")


CONTACTS = ["Code", "Prénom", "Nom", "Titre", "Courriel", "Téléphone", "Actif", "Représentant", "Propriétaire"]


def _contact_rows(count: int, owner: str = "C0001", start: int = 101) -> list[list[str]]:
    return [
        [f"K{n:04d}", "Éloïse", f"Gagnon-{n}", "Acheteuse", f"p{n}@finloc.com", "514 555-0100", "oui", "BOB", owner]
        for n in range(start, start + count)
    ]


def _contacts_file(rows: list[list[str]], header=CONTACTS) -> str:
    return _csv([header, *rows], ";")


def test_the_run_reads_the_file_records_its_shape_and_the_ignored_columns(bob):
    run = _import("customer", _customers_file(_customer_rows(2), [*CUSTOMERS[:-1], "Solde"]))
    assert run.status == ErpImport.Status.DONE and run.error == ""
    assert run.ignored_columns == ["Solde"]
    assert run.lines_total == run.lines_done == 2
    assert _counts(run) == {"created": 2, "updated": 0, "unchanged": 0, "refused": 0}
    customer = Customer.objects.get(code="C0101")
    assert (customer.name, customer.city, customer.province, customer.sales_rep) == (
        "Société 101 de Montréal", "Montréal", "QC", bob,
    )  # fmt: skip
    assert list(customer.domains.values_list("domain", flat=True)) == ["societe101.ca"]


@pytest.mark.parametrize(
    ("data", "file_name", "code"),
    [
        (_csv([["Code", "Ville"], ["C0101", "Montréal"]]).encode(), "export.csv", "missing_columns"),
        (b"Code;Nom\nC0101;Soci\x81t\x8d\n", "export.csv", "unknown_encoding"),
        (b"PK\x03\x04 pas un classeur", "export.xlsx", "unreadable_xlsx"),
    ],
)
def test_a_file_that_cannot_be_read_fails_the_whole_run_with_its_reason(data, file_name, code):
    run = _import("customer", data, file_name=file_name)
    assert (run.status, run.error) == (ErpImport.Status.FAILED, code)
    assert not Customer.objects.exists() and not run.lines.exists()
    sentence = describe(run.error, run.error_params)
    if code == "missing_columns":
        assert run.error_params["columns"] == "nom"
        assert "Colonnes obligatoires absentes : nom." in sentence


def test_an_xlsx_import_stores_numbers_as_the_erp_text_and_the_same_csv_then_changes_nothing(bob):
    rows = [["Code", "Nom", "Téléphone"], [1001, "Société Générale", 5145551234]]
    run = _import("customer", _xlsx(rows), file_name="clients.xlsx")
    assert _counts(run)["created"] == 1
    assert Customer.objects.get(code="1001").phone == "5145551234"
    again = _import("customer", "Code;Nom;Téléphone\n1001;Société Générale;5145551234\n")
    assert _counts(again) == {"created": 0, "updated": 0, "unchanged": 1, "refused": 0}


def test_the_command_reads_its_file_where_it_lies_and_closes_it(tmp_path, bob):
    """run_file (the nightly command) opens the file twice (count, then import): both closed,
    also when the file is refused (a leaked handle would be a ResourceWarning, an error here)."""
    good = tmp_path / "clients.csv"
    good.write_text(_customers_file(_customer_rows(3)), encoding="cp1252")
    run = runs.run_file("customer", good)
    assert (run.status, run.source, run.file_data) == (ErpImport.Status.DONE, ErpImport.Source.COMMAND, None)
    assert _counts(run)["created"] == 3
    workbook = tmp_path / "clients.xlsx"
    workbook.write_bytes(_xlsx([["Code", "Ville"], ["C0101", "Montréal"]]))
    assert runs.run_file("customer", workbook).error == "missing_columns"
    assert runs.run_file("customer", good, dry_run=True).counts["preview"]["unchanged"] == 3


# ---------------------------------------------------------------------- idempotence


def test_importing_the_same_file_again_changes_nothing_and_writes_nothing(bob):
    """The second import counts every line unchanged, stores no line and writes no CRM row."""
    content = _customers_file(_customer_rows(30))
    with CaptureQueriesContext(connection) as queries:
        first = _import("customer", content)
    assert _counts(first)["created"] == 30
    assert _crm_writes(queries.captured_queries), "the first import writes (and the check sees it)"
    with CaptureQueriesContext(connection) as queries:
        second = _import("customer", content)
    assert _counts(second) == {"created": 0, "updated": 0, "unchanged": 30, "refused": 0}
    assert not second.lines.exists()
    assert _crm_writes(queries.captured_queries) == []
    assert EmailDomain.objects.count() == 30


def test_importing_the_same_contacts_again_changes_nothing_and_writes_nothing(bob, finloc_customer):
    content = _contacts_file(_contact_rows(25))
    assert _counts(_import("contact", content))["created"] == 25
    with CaptureQueriesContext(connection) as queries:
        second = _import("contact", content)
    assert _counts(second) == {"created": 0, "updated": 0, "unchanged": 25, "refused": 0}
    assert not second.lines.exists()
    assert _crm_writes(queries.captured_queries) == []


def test_a_changed_phone_on_reimport_is_an_update_of_that_column_only(bob):
    rows = _customer_rows(3)
    _import("customer", _customers_file(rows))
    rows[1][4] = "438 555-9999"
    run = _import("customer", _customers_file(rows))
    assert _counts(run) == {"created": 0, "updated": 1, "unchanged": 2, "refused": 0}
    line = run.lines.get()
    assert (line.line, line.action, line.code, line.changes) == (3, "updated", "C0102", ["telephone"])
    assert Customer.objects.get(code="C0102").phone == "438 555-9999"


def test_a_new_domain_on_reimport_is_added_and_a_domain_added_in_prextra_stays(bob):
    rows = _customer_rows(1)
    _import("customer", _customers_file(rows))
    customer = Customer.objects.get(code="C0101")
    EmailDomain.objects.create(domain="ajoute-a-la-main.ca", customer=customer)
    rows[0][2] = "societe101.ca, societe101.com"
    run = _import("customer", _customers_file(rows))
    assert run.lines.get().changes == ["domaines"]
    assert sorted(customer.domains.values_list("domain", flat=True)) == [
        "ajoute-a-la-main.ca", "societe101.ca", "societe101.com",
    ]  # fmt: skip


# ---------------------------------------------------------------------- preview


def test_the_preview_writes_nothing_and_announces_what_the_import_does(bob, finloc_customer):
    rows = _customer_rows(12)
    rows[3][1] = ""  # required name
    rows[5][2] = "finloc.com"  # Finloc's domain
    rows[7][0] = rows[2][0]  # a code twice
    rows[9][2] = rows[8][2]  # a domain twice
    content = _customers_file(rows)
    with CaptureQueriesContext(connection) as queries:
        preview = _import("customer", content, dry_run=True)
    assert preview.status == ErpImport.Status.PREVIEWED
    assert _crm_writes(queries.captured_queries) == []
    assert Customer.objects.count() == 1 and EmailDomain.objects.count() == 1 and not Contact.objects.exists()
    assert _counts(preview, "preview") == {"created": 8, "updated": 0, "unchanged": 0, "refused": 4}
    applied = _import("customer", content)
    assert _counts(applied) == _counts(preview, "preview")
    assert _refused(applied) == _refused(preview, "preview")
    assert Customer.objects.count() == 1 + 8


def test_the_uploaded_file_is_previewed_then_imported_then_dropped(bob):
    data = _customers_file(_customer_rows(4)).encode("cp1252")
    run = ErpImport.objects.create(kind="customer", file_name="clients.csv", file_data=data, file_size=len(data))
    runs.preview(run)
    assert run.status == ErpImport.Status.PREVIEWED and run.file_data is not None
    assert not Customer.objects.exists()
    runs.apply(run)
    run.refresh_from_db()
    assert run.status == ErpImport.Status.DONE and run.file_data is None
    assert run.counts["preview"] == run.counts["import"] == {"created": 4, "updated": 0, "unchanged": 0, "refused": 0}
    assert run.lines.filter(phase="preview").count() == run.lines.filter(phase="import").count() == 4


# ---------------------------------------------------------------------- a bad line never stops the others


def test_two_bad_lines_among_twenty_are_refused_with_their_reasons_and_the_others_created(bob):
    rows = _customer_rows(20)
    rows[4][1] = "x" * 151  # too long a name (150 at most)
    rows[15][7] = "peut-être"  # neither yes nor no
    run = _import("customer", _customers_file(rows))
    assert _counts(run) == {"created": 18, "updated": 0, "unchanged": 0, "refused": 2}
    assert _refused(run) == {6: [("nom", "too_long")], 17: [("actif", "invalid_boolean")]}
    assert _sentences(run) == {
        6: ["nom : 151 caractères, au plus 150."],
        17: ["actif : « peut-être » n'est ni oui ni non (oui, non, 1, 0, actif, inactif)."],
    }
    assert Customer.objects.count() == 18
    assert not Customer.objects.filter(code__in=["C0105", "C0116"]).exists()


# One bad line (the 8th, line 9 of the file) among 20: (column, value, expected code).
CUSTOMER_REFUSALS = [
    ("nom", "", "required"),
    ("nom", "   ", "required"),
    ("code", "", "required"),
    ("code", "C" * 21, "too_long"),
    ("ville", "V" * 101, "too_long"),
    ("actif", "peut-être", "invalid_boolean"),
    ("representant", "ZORRO", "unknown_user"),
    ("code", "C0103", "duplicate_code"),
    ("domaines", "finloc_com", "invalid_domain"),
    ("domaines", "finloc.com", "domain_taken"),
    ("domaines", "SOCIETE103.CA", "domain_in_file"),
    ("domaines", "Gmail.com", "free_mail_domain"),
    ("nom", "Finloc\x07 inc.", "forbidden_character"),
    ("ville", "Montréal\x00", "forbidden_character"),
]


@pytest.mark.parametrize(("column", "value", "code"), CUSTOMER_REFUSALS)
def test_each_reason_refuses_its_line_only(bob, finloc_customer, column, value, code):
    """R9 for gmail.com: a free-mail domain never links a company; R8 for finloc.com: a domain on
    another customer would make the linking ambiguous."""
    rows = _customer_rows(20)
    index = {"code": 0, "nom": 1, "domaines": 2, "representant": 3, "ville": 5, "actif": 7}[column]
    rows[7][index] = value
    run = _import("customer", _customers_file(rows))
    assert run.status == ErpImport.Status.DONE
    assert _counts(run) == {"created": 19, "updated": 0, "unchanged": 0, "refused": 1}
    assert _refused(run) == {9: [(column, code)]}
    [sentence] = _sentences(run)[9]
    assert sentence.startswith(f"{column} : ")
    assert Customer.objects.count() == 1 + 19


def test_the_reasons_name_what_the_line_collides_with(bob, finloc_customer):
    rows = _customer_rows(6)
    rows[2][0] = "C0101"
    rows[3][2] = "finloc.com"
    rows[4][2] = "societe102.ca"
    run = _import("customer", _customers_file(rows))
    assert _sentences(run) == {
        4: ["code : « C0101 » est déjà à la ligne 2 du fichier."],
        5: ["domaines : finloc.com est déjà celui de Finloc inc. (C0001)."],
        6: ["domaines : societe102.ca est déjà à la ligne 3 du fichier."],
    }
    with translation.override("en"):
        assert all(sentence for sentences in _sentences(run).values() for sentence in sentences)


def test_a_domain_of_another_kind_is_accepted(bob, finloc_customer):
    """R8's order (customer, then prospect, then supplier) decides between kinds."""
    run = _import("supplier", "Code;Nom;Domaines\nF0001;Finloc Équipement;finloc.com\n")
    assert _counts(run)["created"] == 1
    assert EmailDomain.objects.filter(domain="finloc.com").count() == 2


def test_prospects_are_imported_like_customers(bob):
    run = _import("prospect", _customers_file(_customer_rows(3)))
    assert _counts(run)["created"] == 3
    assert Prospect.objects.count() == 3 and not Customer.objects.exists()
    assert EmailDomain.objects.filter(prospect__code="C0101").exists()


# ---------------------------------------------------------------------- bulk write failing


def _failing_once(real):
    """A bulk_create that fails once as a whole, as when another session wrote meanwhile."""
    calls = []

    def bulk_create(objs, *args, **kwargs):
        calls.append(len(objs))
        if len(calls) == 1:
            raise IntegrityError("duplicate key value violates unique constraint")
        return real(objs, *args, **kwargs)

    return bulk_create, calls


def test_a_batch_whose_bulk_write_fails_once_is_written_line_by_line(bob, monkeypatch):
    bulk_create, calls = _failing_once(Customer.objects.bulk_create)
    monkeypatch.setattr(Customer.objects, "bulk_create", bulk_create)
    run = _import("customer", _customers_file(_customer_rows(20)))
    assert calls == [20]
    assert _counts(run) == {"created": 20, "updated": 0, "unchanged": 0, "refused": 0}
    assert Customer.objects.count() == 20 and EmailDomain.objects.count() == 20


def test_a_line_the_database_refuses_is_refused_alone_with_write_failed(bob, monkeypatch):
    """The bulk write of the batch fails, the batch is written line by line: the other lines are
    written, the bad one is refused, and neither its record nor its domains are left behind."""
    real = EmailDomain.objects.bulk_create

    def bulk_create(objs, *args, **kwargs):
        if any(row.domain == "conflit.ca" for row in objs):
            raise IntegrityError("duplicate key value violates unique constraint")
        return real(objs, *args, **kwargs)

    monkeypatch.setattr(EmailDomain.objects, "bulk_create", bulk_create)
    rows = _customer_rows(20)
    rows[11][2] = "conflit.ca"
    run = _import("customer", _customers_file(rows))
    assert _counts(run) == {"created": 19, "updated": 0, "unchanged": 0, "refused": 1}
    assert _refused(run) == {13: [("", "write_failed")]}
    assert _sentences(run) == {13: ["La ligne n'a pas pu être enregistrée (IntegrityError)."]}
    assert Customer.objects.count() == 19 and not Customer.objects.filter(code="C0112").exists()
    assert EmailDomain.objects.count() == 19


def test_contacts_whose_bulk_write_fails_once_are_written_line_by_line(bob, finloc_customer, monkeypatch):
    bulk_create, calls = _failing_once(Contact.objects.bulk_create)
    monkeypatch.setattr(Contact.objects, "bulk_create", bulk_create)
    run = _import("contact", _contacts_file(_contact_rows(10)))
    assert calls == [10]
    assert _counts(run)["created"] == 10 and Contact.objects.count() == 10


# ---------------------------------------------------------------------- several batches


@pytest.mark.parametrize("dry_run", [True, False])
def test_duplicates_are_caught_across_batches(bob, monkeypatch, dry_run):
    monkeypatch.setattr(runs, "BATCH", 7)
    rows = _customer_rows(20)
    rows[17][0] = rows[2][0]  # the code of line 4, two batches later
    rows[12][2] = rows[1][2]  # the domain of line 3, a batch later
    done = []
    real_record = runs._record
    monkeypatch.setattr(runs, "_record", lambda run, *args: (real_record(run, *args), done.append(run.lines_done)))
    run = _import("customer", _customers_file(rows), dry_run=dry_run)
    phase = "preview" if dry_run else "import"
    assert done == [7, 14, 20]
    assert run.lines_done == run.lines_total == 20
    assert _counts(run, phase) == {"created": 18, "updated": 0, "unchanged": 0, "refused": 2}
    # The reasons do not depend on the batches, nor on whether the earlier line was written.
    assert _refused(run, phase) == {19: [("code", "duplicate_code")], 14: [("domaines", "domain_in_file")]}
    assert _sentences(run, phase)[14] == ["domaines : societe102.ca est déjà à la ligne 3 du fichier."]


def test_contact_duplicates_are_caught_across_batches(bob, finloc_customer, monkeypatch):
    monkeypatch.setattr(runs, "BATCH", 7)
    rows = _contact_rows(20)
    rows[16][0] = rows[1][0]
    rows[9][4] = rows[0][4].upper()
    run = _import("contact", _contacts_file(rows))
    assert run.lines_done == run.lines_total == 20
    assert _refused(run) == {18: [("code", "duplicate_code")], 11: [("courriel", "duplicate_email")]}
    assert Contact.objects.count() == 18


# ---------------------------------------------------------------------- contacts


def test_a_contact_is_owned_by_its_code_with_its_representative_by_user_code(bob, finloc_customer):
    rows = _contact_rows(2)
    rows[1][7] = "bob"  # user codes are case-insensitive
    run = _import("contact", _contacts_file(rows))
    assert _counts(run)["created"] == 2
    contact = Contact.objects.get(erp_code="K0102")
    assert (contact.first_name, contact.last_name, contact.email) == ("Éloïse", "Gagnon-102", "p102@finloc.com")
    assert (contact.customer, contact.representative, contact.source) == (finloc_customer, bob, "manual")
    assert run.lines.get(line=3).label == "Éloïse Gagnon-102"


def test_a_contact_reimport_updates_it_by_its_code(bob, finloc_customer):
    rows = _contact_rows(3)
    _import("contact", _contacts_file(rows))
    rows[0][3] = "Directrice des achats"
    rows[2][4] = "ELOISE@finloc.com"
    run = _import("contact", _contacts_file(rows))
    assert _counts(run) == {"created": 0, "updated": 2, "unchanged": 1, "refused": 0}
    assert {line.code: line.changes for line in run.lines.all()} == {"K0101": ["titre"], "K0103": ["courriel"]}
    assert Contact.objects.get(erp_code="K0101").title == "Directrice des achats"
    assert Contact.objects.count() == 3


def test_a_contact_whose_owner_changes_is_updated_and_moves(bob, finloc_customer):
    supplier = Supplier.objects.create(code="F0001", name="Acier Tremblay ltée")
    rows = _contact_rows(2)
    _import("contact", _contacts_file(rows))
    rows[1][8] = "F0001"
    run = _import("contact", _contacts_file(rows))
    line = run.lines.get()
    assert (line.action, line.code) == ("updated", "K0102")
    assert "proprietaire" in line.changes
    contact = Contact.objects.get(erp_code="K0102")
    assert (contact.customer, contact.supplier) == (None, supplier)


def test_a_contact_owned_by_a_group(bob, exchange_group):
    ContactGroup.objects.create(code="SALON", name="Salon 2026")
    run = _import("contact", _contacts_file(_contact_rows(1, owner="SALON")))
    assert _counts(run)["created"] == 1
    assert Contact.objects.get().group.code == "SALON"


def test_an_ambiguous_owner_is_refused_and_the_type_column_resolves_it(bob):
    """The same code on a customer and a supplier: without a type, the line cannot choose."""
    customer = Customer.objects.create(code="X100", name="Finloc inc.")
    supplier = Supplier.objects.create(code="X100", name="Finloc Équipement")
    run = _import("contact", _contacts_file(_contact_rows(1, owner="X100")))
    assert _refused(run) == {2: [("proprietaire", "ambiguous_owner")]}
    assert _sentences(run)[2] == [
        "proprietaire : le code « X100 » est celui de plusieurs fiches (client, fournisseur) ; ajoutez la colonne type."
    ]
    header = [*CONTACTS, "Type de propriétaire"]
    rows = [[*_contact_rows(1, owner="X100")[0], "Fournisseur"], [*_contact_rows(1, "X100", 102)[0], "C"]]
    run = _import("contact", _contacts_file(rows, header))
    assert _counts(run)["created"] == 2
    assert Contact.objects.get(erp_code="K0101").supplier == supplier
    assert Contact.objects.get(erp_code="K0102").customer == customer
    rows = [[*_contact_rows(1, "X100", 103)[0], "employé"]]
    assert _refused(_import("contact", _contacts_file(rows, header))) == {
        2: [("type_proprietaire", "unknown_owner_type")]
    }


def test_an_email_of_an_inactive_contact_is_accepted_one_of_an_active_contact_is_not(
    bob, finloc_customer, make_contact
):
    make_contact("Ancien", "Contact", email="p101@finloc.com", customer=finloc_customer, is_active=False)
    make_contact("Actuel", "Contact", email="P102@Finloc.com", customer=finloc_customer)
    run = _import("contact", _contacts_file(_contact_rows(2)))
    assert _refused(run) == {3: [("courriel", "email_taken")]}
    assert _sentences(run)[3] == ["courriel : « p102@finloc.com » est déjà le courriel du contact Actuel Contact."]


# One bad line (the 8th, line 9 of the file) among 20 contacts: (column, value, expected code).
CONTACT_REFUSALS = [
    ("prenom", "", "required"),
    ("nom", "", "required"),
    ("code", "", "required"),
    ("proprietaire", "", "required"),
    ("titre", "T" * 151, "too_long"),
    ("code", "K" * 21, "too_long"),
    ("courriel", "pas-un-courriel", "invalid_email"),
    ("courriel", "eric@@finloc.com", "invalid_email"),
    ("actif", "peut-être", "invalid_boolean"),
    ("representant", "ZORRO", "unknown_user"),
    ("proprietaire", "C9999", "unknown_owner"),
    ("code", "K0103", "duplicate_code"),
    ("courriel", "P103@FINLOC.COM", "duplicate_email"),
    ("courriel", "deja@finloc.com", "email_taken"),
    ("nom", "Gagnon\x1b[31m", "forbidden_character"),
    ("telephone", "514\x00555", "forbidden_character"),
]


@pytest.mark.parametrize(("column", "value", "code"), CONTACT_REFUSALS)
def test_each_contact_reason_refuses_its_line_only(bob, finloc_customer, make_contact, column, value, code):
    make_contact("Déjà", "Là", email="deja@finloc.com", customer=finloc_customer)
    rows = _contact_rows(20)
    index = {"code": 0, "prenom": 1, "nom": 2, "titre": 3, "courriel": 4, "telephone": 5}
    index |= {"actif": 6, "representant": 7, "proprietaire": 8}
    rows[7][index[column]] = value
    run = _import("contact", _contacts_file(rows))
    assert run.status == ErpImport.Status.DONE
    assert _counts(run) == {"created": 19, "updated": 0, "unchanged": 0, "refused": 1}
    assert _refused(run) == {9: [(column, code)]}
    [sentence] = _sentences(run)[9]
    assert sentence.startswith(f"{column} : ")
    assert Contact.objects.filter(erp_code__isnull=False).count() == 19


def test_contacts_without_a_code_are_refused_and_never_merged_on_reimport(bob, finloc_customer):
    """A contact is found again by its ERP code: a line without one could only be created again
    and again, or land on another line's contact."""
    rows = _contact_rows(3)
    rows[1][0] = rows[2][0] = ""
    run = _import("contact", _contacts_file(rows))
    assert _refused(run) == {3: [("code", "required")], 4: [("code", "required")]}
    assert list(Contact.objects.values_list("erp_code", flat=True)) == ["K0101"]


# ---------------------------------------------------------------------- R8: imported domains re-link


def test_an_imported_domain_moves_its_exchange_contacts_to_the_customer(
    bob, exchange_group, django_capture_on_commit_callbacks
):
    """R8: Éric (eric@finloc.com), synchronized from Outlook into the Exchange group, moves to
    FINLOC once the import gives FINLOC the domain finloc.com; R9 keeps the others in EXC."""
    synced = {"group": exchange_group, "source": Contact.Source.EXCHANGE}
    eric = Contact.objects.create(first_name="Éric", last_name="Lavoie", email="eric@finloc.com", **synced)
    other = Contact.objects.create(first_name="Autre", last_name="Domaine", email="autre@canam.com", **synced)
    content = "Code;Nom;Domaines\nFINLOC;Finloc inc.;finloc.com\n"
    with django_capture_on_commit_callbacks(execute=True):
        _import("customer", content, dry_run=True)
    eric.refresh_from_db()
    assert eric.group == exchange_group, "a preview re-links nothing"
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        run = _import("customer", content)
    assert _counts(run)["created"] == 1
    assert len(callbacks) == 1, "one re-linking pass for the batch's domains"
    eric.refresh_from_db()
    other.refresh_from_db()
    assert (eric.customer.code, eric.group) == ("FINLOC", None)
    assert other.group == exchange_group


# ---------------------------------------------------------------------- hostile input


def _walk_strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _walk_strings(key)
            yield from _walk_strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _walk_strings(item)


CUSTOMER_COLUMNS = ["code", "nom", "domaines", "representant", "telephone", "ville", "province", "pays", "actif"]
CONTACT_COLUMNS = [
    "code", "prenom", "nom", "titre", "courriel", "telephone", "poste", "cellulaire", "ville", "province", "pays",
    "actif", "representant", "proprietaire", "type_proprietaire",
]  # fmt: skip
COLUMN_INDEX = {
    "customer": {column: index for index, column in enumerate(CUSTOMER_COLUMNS)},
    "contact": {column: index for index, column in enumerate(CONTACT_COLUMNS)},
}


def _hostile_file(kind: str, columns: list[str], valid: dict[str, str]) -> tuple[str, dict[int, tuple[str, list]]]:
    """A file with one line per (column, hostile string): that column hostile, the others valid
    and unique; and {file line: (hostile column, the line's cells)}, lines as the reader numbers
    them (a cell may hold line breaks)."""
    rows, hostile = [], []
    for column in columns:
        for value in hostile_strings():
            line = {name: valid[name].format(n=len(rows) + 1) for name in columns}
            line[column] = value
            rows.append([line[name] for name in columns])
            hostile.append(column)
    content = _csv([columns, *rows], ";")
    numbers = [number for number, _values in _table(kind, content.encode()).lines]
    assert len(numbers) == len(rows)
    return content, {number: (column, row) for number, column, row in zip(numbers, hostile, rows, strict=True)}


def _assert_survives(run: ErpImport, lines: int) -> None:
    """The run ends; every line is created, updated or refused with reasons whose sentences
    render in both languages; nothing stored holds a NUL."""
    assert run.status == ErpImport.Status.DONE, (run.error, run.error_params)
    counts = _counts(run)
    assert sum(counts.values()) == lines == run.lines_total == run.lines_done
    stored = run.lines.filter(phase="import")
    assert stored.count() == lines - counts["unchanged"]
    for line in stored:
        assert line.action in ("created", "updated") or line.reasons, line.line
        for reason in line.reasons:
            assert reason["code"] in MESSAGES
            for language in ("fr-ca", "en"):
                with translation.override(language):
                    assert describe(reason["code"], reason["params"], reason["field"])
        assert not any("\x00" in text for text in _walk_strings([line.code, line.label, line.reasons]))


def _fits(value: str, limit: int) -> bool:
    """Printable text of at most `limit` characters, once trimmed: what a text column accepts."""
    text = value.strip()
    return 0 < len(text) <= limit and not any(unicodedata.category(char) == "Cc" for char in text)


def _line_of_code(cases: dict) -> dict[str, int]:
    """The file line that created the record of each code (the first with that code, trimmed)."""
    lines = {}
    for line, (_column, row) in cases.items():
        lines.setdefault(row[0].strip(), line)
    return lines


def _assert_text_kept(run: ErpImport, cases: dict, stored: dict[str, dict[int, str]], limits: dict[str, int]):
    """Any printable text that fits its column is accepted and stored exactly, trimmed."""
    actions = dict(run.lines.filter(phase="import").values_list("line", "action"))
    for line, (column, row) in cases.items():
        if column in limits:
            value = row[COLUMN_INDEX[run.kind][column]]
            if _fits(value, limits[column]):
                assert actions[line] == "created", (column, value, run.lines.get(line=line).reasons)
                assert stored[column][line] == value.strip(), (column, value)


def test_hostile_strings_in_every_customer_column_never_stop_the_run(bob):
    valid = {
        "code": "H{n}", "nom": "Société {n}", "domaines": "", "representant": "BOB", "telephone": "514 555-0100",
        "ville": "Montréal", "province": "QC", "pays": "Canada", "actif": "oui",
    }  # fmt: skip
    content, cases = _hostile_file("customer", CUSTOMER_COLUMNS, valid)
    started = time.monotonic()
    run = _import("customer", content)
    elapsed = time.monotonic() - started
    _assert_survives(run, len(cases))
    lines = _line_of_code(cases)
    stored = {column: {} for column in ("nom", "ville", "telephone")}
    for code, *values in Customer.objects.values_list("code", "name", "city", "phone"):
        assert not any("\x00" in value for value in (code, *values))
        for column, value in zip(stored, values, strict=True):
            stored[column][lines[code]] = value
    _assert_text_kept(run, cases, stored, {"nom": 150, "ville": 100, "telephone": 30})
    assert not any("\x00" in domain for domain in EmailDomain.objects.values_list("domain", flat=True))
    assert elapsed < 20, elapsed


def test_hostile_strings_in_every_contact_column_never_stop_the_run(bob, finloc_customer):
    valid = {
        "code": "H{n}", "prenom": "Éloïse", "nom": "Gagnon {n}", "titre": "", "courriel": "", "telephone": "",
        "poste": "", "cellulaire": "", "ville": "", "province": "", "pays": "", "actif": "", "representant": "",
        "proprietaire": "C0001", "type_proprietaire": "",
    }  # fmt: skip
    content, cases = _hostile_file("contact", CONTACT_COLUMNS, valid)
    started = time.monotonic()
    run = _import("contact", content)
    elapsed = time.monotonic() - started
    _assert_survives(run, len(cases))
    lines = _line_of_code(cases)
    stored = {column: {} for column in ("prenom", "nom", "titre", "ville")}
    for code, *values, email in Contact.objects.values_list(
        "erp_code", "first_name", "last_name", "title", "city", "email"
    ):
        assert not any("\x00" in value for value in (code, *values, email))
        for column, value in zip(stored, values, strict=True):
            stored[column][lines[code]] = value
    _assert_text_kept(run, cases, stored, {"prenom": 100, "nom": 100, "titre": 150, "ville": 100})
    assert elapsed < 20, elapsed
