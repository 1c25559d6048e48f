"""`manage.py bench --quick`: the counts it measures, never its times (they depend on the box).

The command runs in its own process, as an operator would run it: it makes and drops its own
throwaway database (SQLite, or PostgreSQL when DATABASE_URL says so), whatever this test session
has open.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
QUICK_PUSH = 100

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def figures(tmp_path_factory) -> dict[tuple[str, str], dict]:
    folder = tmp_path_factory.mktemp("bench")
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env["PREXTRA_VAR_DIR"] = str(folder / "var")
    command = [sys.executable, "-W", "error", "manage.py", "bench", "--quick", "--json", str(folder / "bench.json")]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr[-5000:]
    report = json.loads((folder / "bench.json").read_text(encoding="utf-8"))
    assert report["context"]["quick"] is True
    return {(figure["scenario"], figure["name"]): figure for figure in report["figures"]}


def test_an_idle_cycle_reads_exactly_one_delta_per_direction_per_user(figures):
    assert figures[("3 idle cycle", "Graph requests per user")]["value"] == 2
    assert figures[("3 idle cycle", "other Graph requests")]["value"] == 0


def test_an_idle_cycle_writes_nothing_to_the_database(figures):
    assert figures[("3 idle cycle", "database writes")]["value"] == 0


def test_pushing_changed_activities_uses_batches_of_twenty(figures):
    limit = math.ceil(QUICK_PUSH / 20) + 1
    assert figures[("5 push", "created: Graph requests")]["value"] <= limit
    assert figures[("5 push", "changed: Graph requests")]["value"] <= limit
    assert figures[("5 push", "events in Outlook")]["value"] == QUICK_PUSH


def test_pages_run_the_same_number_of_queries_whatever_the_data_size(figures):
    counted = [figure for (scenario, name), figure in figures.items() if name.endswith(": SQL queries")]
    assert any(figure["name"].startswith("contact search") for figure in counted)
    for figure in counted:
        assert figure["passed"] is True, figure


def test_imports_store_every_item_they_read(figures):
    for scenario in ("1 contact import", "2 activity import"):
        assert figures[(scenario, "sync time")]["note"].endswith("success"), figures[(scenario, "sync time")]


def test_browsing_during_an_import_answers_every_request(figures):
    assert figures[("9 load", "requests")]["value"] >= 5 * 10
    assert figures[("9 load", "errors")]["value"] == 0
    assert figures[("9 load", "import under load")]["note"].split(", ")[1] == "success"


def test_a_second_erp_import_of_the_same_files_writes_nothing_in_the_crm(figures):
    for label in ("customers", "contacts"):
        assert figures[("10 ERP import", f"{label}: first import, lines created")]["passed"] is True
        assert figures[("10 ERP import", f"{label}: second import, lines unchanged")]["passed"] is True
        assert figures[("10 ERP import", f"{label}: second import, CRM writes")]["value"] == 0
