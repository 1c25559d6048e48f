"""A sync process killed with SIGKILL at random points of a 5,000-contact sync converges once
restarted: no duplicate, nothing lost, and the delta cursor is never ahead of the committed data.
Two processes racing on one mailbox: one runs, the other skips."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from exchange.mapping import ContactData, contact_from_graph
from graph_emulator import GraphEmulator

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow
SETUP = """
import django; django.setup()
from accounts.models import User, ExchangeProfile
from exchange.models import GraphConnection
c = GraphConnection(tenant_id="prextra-demo", client_id="prextra-sync-demo", authority_host="{base}",
                    graph_url="{graph}", ca_file="{ca}")
c.set_secret("demo-secret"); c.save()
u = User.objects.create_user("BIG", "x", name="Big", email="{address}")
ExchangeProfile.objects.create(user=u, sync_contacts_in=True)
"""


@pytest.fixture
def world(tmp_path):
    env = {key: value for key, value in os.environ.items() if key not in {"DATABASE_URL", "REDIS_URL"}}
    env.update({"PREXTRA_VAR_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "prextra_sync.settings"})
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    with GraphEmulator() as emulator:
        address = "big@prextra-demo.ca"
        emulator.seed(address, contacts=5000, seed=11)
        subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
        code = SETUP.format(base=emulator.base_url, graph=emulator.graph_url, ca=emulator.ca_file, address=address)
        subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True)
        expected = {
            record["graph"]["id"]
            for record in emulator.mailbox(address).contacts.values()
            if isinstance(contact_from_graph(record["graph"]), ContactData)
        }
        yield env, tmp_path / "prextra.sqlite3", expected


def _sync(env) -> subprocess.Popen:
    command = [sys.executable, "manage.py", "sync_exchange", "--user", "BIG", "--direction", "contacts"]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _facts(database: Path) -> tuple[list[str], str]:
    with sqlite3.connect(database, timeout=30) as db:
        ids = [row[0] for row in db.execute("SELECT outlook_id FROM crm_outlookcontact")]
        row = db.execute("SELECT delta_link FROM exchange_contactfolder WHERE is_default").fetchone()
    return ids, row[0] if row else ""


def test_killed_sync_converges_without_duplicates_and_the_cursor_never_runs_ahead(world):
    env, database, expected = world
    rng = random.Random(2026)
    kills = 0
    for _attempt in range(4):
        process = _sync(env)
        time.sleep(rng.uniform(0.8, 2.5))
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            kills += 1
        process.communicate()
        ids, delta_link = _facts(database)
        assert len(ids) == len(set(ids))  # never a duplicate
        assert set(ids) <= expected
        if delta_link:  # the cursor moved: then everything before it is committed
            assert set(ids) == expected
    assert kills >= 1
    final = _sync(env)
    output, _ = final.communicate(timeout=300)
    assert "Réussie" in output, output
    ids, delta_link = _facts(database)
    assert set(ids) == expected and len(ids) == len(expected) and delta_link
    again = _sync(env)
    output, _ = again.communicate(timeout=120)
    assert "created 0, updated 0, deleted 0" in output, output


def test_two_processes_racing_on_one_mailbox_never_double_anything(world):
    env, database, expected = world
    first, second = _sync(env), _sync(env)
    outputs = [first.communicate(timeout=300)[0], second.communicate(timeout=300)[0]]
    ids, _delta_link = _facts(database)
    assert len(ids) == len(set(ids))
    assert sum("already running elsewhere" in output for output in outputs) <= 1
    if not any("already running elsewhere" in output for output in outputs):
        # The second one started after the first had finished: it found nothing to do.
        assert any("created 0," in output for output in outputs), outputs
    final = _sync(env)
    final.communicate(timeout=300)
    assert set(_facts(database)[0]) == expected
