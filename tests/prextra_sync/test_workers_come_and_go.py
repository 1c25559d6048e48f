"""Workers come and go, and PostgreSQL restarts, during a 5,000-contact import for
three mailboxes (R7–R9 at volume, the fault model of docs/reliability-notes.md).

The production stack of deploy/ (tests/prextra_sync/stack.py: nginx, gunicorn, beat, workers w1
and w2 from their units, Redis) on a PostgreSQL server of the test's own (the same programs, its
own cluster: restarting it must not cut the connections of the suite around the test). Each of
three mailboxes holds 5,000 seeded contacts (some without a name or an address, some sharing an
address with another mailbox's); every page of a contact delta is slowed to 0.8 s, so an import
lasts long enough to be interrupted. While the imports run:

1. w1 is killed with SIGKILL, with all its processes (`systemctl kill -s KILL`, or the OOM killer);
2. w2 is stopped with SIGTERM to its main process (`systemctl stop`: KillMode=mixed) — it finishes
   what it runs (warm shutdown) within the task time limit and exits 0, leaving nothing behind;
3. w3 joins (`systemctl start prextra-worker@w3`) and takes over;
4. PostgreSQL is restarted (fast mode: every session ended) while w3 imports.

Then the sides converge: each mailbox's importable contacts are linked exactly once, one active
contact per address, nothing else; no run is left "running"; the tasks w1 held are handed back by
Redis once their visibility timeout passes (2 × CELERY_TASK_TIME_LIMIT) and run again; the queue
drains; the status screen shows no red marker; no worker log holds a traceback.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time

import psycopg
import pytest

from crm.models import Contact, OutlookContact
from exchange.mapping import ContactData, contact_from_graph
from exchange.models import SyncRun, SyncState

from . import stack

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not os.environ.get("DATABASE_URL", "").startswith("postgres"),
        reason="the PostgreSQL + Redis pass of bin/test runs the production stack (once per run)",
    ),
    pytest.mark.skipif(not os.access(stack.NGINX, os.X_OK), reason="needs Debian's nginx (bin/test installs it)"),
]

MAILBOXES = ("ventes@prextra-stack.test", "achats@prextra-stack.test", "direction@prextra-stack.test")
CONTACTS = 5000
TASK_LIMIT = 50  # seconds; an import of 5,000 contacts takes about 20 s here, slowed as below
PAGE_DELAY = 0.8  # seconds per contact delta page (200 contacts)
TRACEBACK = re.compile(r"Traceback \(most recent call last\)")
RECEIVED = re.compile(r"Task exchange\.tasks\.sync_user\[([0-9a-f-]+)\] received")
FINISHED = re.compile(r"Task exchange\.tasks\.sync_user\[([0-9a-f-]+)\] succeeded")

SETUP = """
from accounts.models import ExchangeProfile, User
from exchange.models import GraphConnection
connection = GraphConnection(tenant_id="prextra-demo", client_id="prextra-sync-demo", authority_host="{emulator}",
                             graph_url="{emulator}/v1.0", ca_file="{ca_file}")
connection.set_secret("demo-secret")
connection.save()
for number, address in enumerate({mailboxes!r}, start=1):
    user = User.objects.filter(email=address).first() or User.objects.create_user(
        f"VENTE{{number}}", "{password}", name=f"Représentant {{number}}", email=address
    )
    ExchangeProfile.objects.get_or_create(user=user)
"""
# Every switch on in one UPDATE, so that one beat tick queues the three imports together.
SWITCH_ON = "from accounts.models import ExchangeProfile; ExchangeProfile.objects.update(sync_contacts_in=True)"


def test_workers_come_and_go_and_postgresql_restarts_during_a_large_import(tmp_path):
    started = time.monotonic()
    with (
        stack.private_postgresql() as postgresql,
        stack.own_database("prextra_churn", postgresql.url) as database_url,
        stack.production_stack(
            tmp_path,
            database_url,
            admin_email="admin@prextra-stack.test",
            mailboxes=list(MAILBOXES),
            settings={"CELERY_TASK_TIME_LIMIT": str(TASK_LIMIT)},
        ) as running,
    ):
        expected = _seed_mailboxes(running)
        _arm_slow_pages(running)
        stack.manage(
            running.env,
            "shell",
            "-c",
            SETUP.format(
                emulator=running.emulator_url, ca_file=running.ca_file, mailboxes=MAILBOXES, password=stack.PASSWORD
            ),
        )
        stack.manage(running.env, "shell", "-c", SWITCH_ON)
        facts = _Facts(database_url)

        # 1. Once every mailbox is importing: w1 killed, with every process of its unit.
        stack.until(120, lambda: facts.importing(len(MAILBOXES)), "three imports under way", every=0.2)
        killed_at = time.monotonic()
        w1 = running.processes.services["worker-w1"]
        os.killpg(w1.process.pid, signal.SIGKILL)
        assert running.processes.stop("worker-w1", timeout=10) == -signal.SIGKILL
        held_by_w1 = _unfinished_tasks(w1.log.read_text())
        links_at_kill = facts.links()

        # 2. w2 stopped as systemd stops it: it finishes its running import, then exits cleanly.
        w2_stop_started = time.monotonic()
        assert running.processes.stop("worker-w2", timeout=TASK_LIMIT + 15) == 0
        w2_stop_seconds = time.monotonic() - w2_stop_started
        w2 = running.processes.services["worker-w2"]
        assert not w2.left_behind
        w2_log = w2.log.read_text()
        assert "Warm shutdown" in w2_log
        handed_back_by_w2 = _unfinished_tasks(w2_log)  # received, never started: back in the queue

        # 3. w3 joins; 4. PostgreSQL restarts while w3 imports.
        running.start_worker("w3")
        w3 = running.processes.services["worker-w3"]
        stack.until(60, lambda: RECEIVED.search(w3.log.read_text()), "w3 taking a sync", every=0.2)
        links_before_restart = facts.links()
        stack.until(60, lambda: facts.links() > links_before_restart, "w3 importing", every=0.2)
        outage_seconds = postgresql.restart()

        # The sides converge: every importable contact linked once, nothing else.
        def converged():
            return facts.linked_ids() == expected and not facts.running_runs() and not facts.failed_states()

        stack.until(240, converged, "the mailboxes and Prextra converged", every=2)
        converged_at = time.monotonic()
        linked = facts.linked_ids()
        assert linked == expected
        assert facts.link_count() == sum(len(ids) for ids in expected.values())  # no link twice
        addresses = set().union(*(facts.expected_addresses(running, mailbox, ids) for mailbox, ids in expected.items()))
        assert facts.active_outlook_contacts() == len(addresses)  # one contact per person

        # No task is lost: those w2 handed back run at once, those w1 held once Redis hands them
        # back (their visibility timeout, 2 × the task limit, then a worker's next look for them,
        # every 10 s: settings.py), all of them by w3.
        visibility = 2 * TASK_LIMIT
        stack.until(
            visibility + 45 - (time.monotonic() - killed_at),
            lambda: held_by_w1 | handed_back_by_w2 <= set(FINISHED.findall(w3.log.read_text())),
            "the tasks of the stopped workers run again",
            every=2,
        )
        stack.until(30, lambda: _queue_length() == 0, "the task queue drained")
        assert facts.running_runs() == 0

        # The status screen, as an administrator sees it through nginx: no red marker left.
        client = stack.client_from("127.0.0.1", running.cert)
        assert stack.sign_in(client, running.base, "ADMIN", stack.PASSWORD) == "signed in"
        screen = client.get(f"{running.base}/administration/synchronisation/", timeout=30)
        assert screen.status_code == 200
        assert "Tâches de fond actives" in screen.text
        assert "alert-dot" not in screen.text and 'class="attention"' not in screen.text
        for number in range(1, len(MAILBOXES) + 1):
            assert f"VENTE{number}" in screen.text
        interrupted = facts.interrupted_runs()
        successes = facts.successful_runs()

    logs = running.logs()
    for name in ("worker-w1", "worker-w2", "worker-w3", "beat"):
        assert not TRACEBACK.search(logs[name]), f"{name}: {logs[name][-4000:]}"
    assert running.statuses == dict.fromkeys(running.statuses, 0), running.statuses
    print(
        f"\nworkers come and go: {time.monotonic() - started:.1f} s in all; w1 killed with {links_at_kill} of "
        f"{sum(len(ids) for ids in expected.values())} links made and {len(held_by_w1)} tasks in hand; w2 stopped "
        f"in {w2_stop_seconds:.1f} s handing back {len(handed_back_by_w2)}; PostgreSQL unavailable for "
        f"{outage_seconds:.1f} s; converged "
        f"{converged_at - killed_at:.1f} s after the kill; {successes} runs succeeded, {interrupted} closed as "
        f"interrupted; {running.requests_served()} requests served by nginx"
    )


def _seed_mailboxes(running: stack.Stack) -> dict[str, set[str]]:
    """5,000 contacts per mailbox; the Outlook ids the product must link (R7: those with a first
    name, a last name and an address, as exchange.mapping decides), per mailbox."""
    expected = {}
    for number, mailbox in enumerate(MAILBOXES):
        seeded = running.control.post(
            f"{running.emulator_url}/_emulator/mailboxes/{mailbox}/seed",
            json={"contacts": CONTACTS, "seed": 40 + number},
            timeout=60,
        )
        assert seeded.status_code == 201, seeded.text
        items = _outlook_contacts(running, mailbox)
        assert len(items) == CONTACTS
        expected[mailbox] = {item["id"] for item in items if isinstance(contact_from_graph(item), ContactData)}
        assert 0.5 * CONTACTS < len(expected[mailbox]) < CONTACTS  # some are skipped, most are not
    return expected


def _outlook_contacts(running: stack.Stack, mailbox: str) -> list[dict]:
    answer = running.control.get(f"{running.emulator_url}/_emulator/mailboxes/{mailbox}/contacts", timeout=60)
    assert answer.status_code == 200, answer.text
    return answer.json()["value"]


def _arm_slow_pages(running: stack.Stack) -> None:
    armed = running.control.post(
        f"{running.emulator_url}/_emulator/faults",
        json={"kind": "delay", "method": "GET", "path": r"contacts/delta", "seconds": PAGE_DELAY},
        timeout=10,
    )
    assert armed.status_code in (200, 201), armed.text


def _unfinished_tasks(log: str) -> set[str]:
    """The sync tasks a worker received and did not finish (from its own log)."""
    return set(RECEIVED.findall(log)) - set(FINISHED.findall(log))


def _queue_length() -> int:
    answer = subprocess.run(
        ["redis-cli", "-u", f"{stack.REDIS}/{stack.REDIS_DBS[0]}", "llen", "celery"],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(answer.stdout.strip())


class _Facts:
    """What the stack's database says, read with plain SQL (the tables of the product's models)."""

    def __init__(self, database_url: str) -> None:
        self.url = database_url
        self.links_table = OutlookContact._meta.db_table
        self.contacts_table = Contact._meta.db_table
        self.runs_table = SyncRun._meta.db_table
        self.states_table = SyncState._meta.db_table

    def _rows(self, sql: str, params: tuple = ()) -> list[tuple]:
        try:
            with psycopg.connect(self.url, connect_timeout=5) as connection:
                return connection.execute(sql, params).fetchall()
        except psycopg.OperationalError:
            return []  # the server is restarting: ask again later

    def importing(self, mailboxes: int) -> bool:
        rows = self._rows(f"SELECT mailbox_id, count(*) FROM {self.links_table} GROUP BY mailbox_id")
        return len(rows) >= mailboxes and all(0 < count < 0.6 * CONTACTS for _mailbox, count in rows)

    def links(self) -> int:
        rows = self._rows(f"SELECT count(*) FROM {self.links_table}")
        return rows[0][0] if rows else 0

    def link_count(self) -> int:
        return self.links()

    def linked_ids(self) -> dict[str, set[str]]:
        rows = self._rows(
            f"SELECT u.email, l.outlook_id FROM {self.links_table} l JOIN accounts_user u ON u.id = l.mailbox_id"
        )
        found = {mailbox: set() for mailbox in MAILBOXES}
        for email, outlook_id in rows:
            found.setdefault(email, set()).add(outlook_id)
        return found

    def running_runs(self) -> int:
        rows = self._rows(f"SELECT count(*) FROM {self.runs_table} WHERE result = 'running'")
        return rows[0][0] if rows else 1

    def failed_states(self) -> int:
        rows = self._rows(
            f"SELECT count(*) FROM {self.states_table} WHERE failed_attempts > 0 OR pending_confirmation"
            " OR last_success_at IS NULL"
        )
        return rows[0][0] if rows else 1

    def interrupted_runs(self) -> int:
        return self._rows(f"SELECT count(*) FROM {self.runs_table} WHERE result = 'failed'")[0][0]

    def successful_runs(self) -> int:
        return self._rows(f"SELECT count(*) FROM {self.runs_table} WHERE result = 'success'")[0][0]

    def active_outlook_contacts(self) -> int:
        return self._rows(
            f"SELECT count(*) FROM {self.contacts_table} c WHERE c.is_active"
            f" AND EXISTS (SELECT 1 FROM {self.links_table} l WHERE l.contact_id = c.id)"
        )[0][0]

    @staticmethod
    def expected_addresses(running: stack.Stack, mailbox: str, ids: set[str]) -> set[str]:
        return {
            contact_from_graph(item).email.lower() for item in _outlook_contacts(running, mailbox) if item["id"] in ids
        }
