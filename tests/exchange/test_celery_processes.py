"""A real Celery worker and beat run on the configured broker: embedded by default, Redis when set."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CELERY = str(Path(sys.executable).with_name("celery"))

pytestmark = pytest.mark.slow


def _env(var_dir: Path) -> dict[str, str]:
    """The test's own SQLite database and var folder; the broker is whatever the suite runs on."""
    env = {key: value for key, value in os.environ.items() if key not in {"DATABASE_URL", "REDIS_URL"}}
    env.update(
        {
            "PREXTRA_VAR_DIR": str(var_dir),
            "PREXTRA_HEARTBEAT_SECONDS": "1",
            "DJANGO_SETTINGS_MODULE": "prextra_sync.settings",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    return env


def _manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def _heartbeats(database: Path) -> int:
    with sqlite3.connect(database, timeout=30) as connection:
        row = connection.execute("SELECT count FROM exchange_workerheartbeat WHERE name = 'beat'").fetchone()
    return row[0] if row else 0


def _stop(process: subprocess.Popen) -> str:
    process.send_signal(signal.SIGTERM)
    try:
        output, _ = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
    return output


def test_beat_schedules_and_a_real_worker_runs_the_task(tmp_path):
    env = _env(tmp_path)
    _manage(env, "migrate", "--verbosity", "0")
    assert "Queues declared: celery" in _manage(env, "prepare_broker")
    common = {"cwd": ROOT, "env": env, "stdout": subprocess.PIPE, "stderr": subprocess.STDOUT, "text": True}
    worker = subprocess.Popen([CELERY, "-A", "prextra_sync", "worker", "-l", "info", "-c", "2"], **common)
    beat = subprocess.Popen([CELERY, "-A", "prextra_sync", "beat", "-l", "info"], **common)
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and _heartbeats(tmp_path / "prextra.sqlite3") < 3:
            assert worker.poll() is None, worker.communicate()[0]
            assert beat.poll() is None, beat.communicate()[0]
            time.sleep(0.5)
        count = _heartbeats(tmp_path / "prextra.sqlite3")
    finally:
        worker_log, beat_log = _stop(worker), _stop(beat)
    assert count >= 3, worker_log + beat_log
    assert "exchange.tasks.record_heartbeat" in worker_log
    assert "Unrecoverable error" not in worker_log
    if not os.environ.get("CELERY_BROKER_URL"):
        assert (tmp_path / "celery-broker.sqlite3").exists()
        assert (tmp_path / "celerybeat-schedule.dat").exists() or (tmp_path / "celerybeat-schedule").exists()


@pytest.mark.skipif(bool(os.environ.get("CELERY_BROKER_URL")), reason="the embedded broker's own housekeeping")
def test_delivered_messages_are_purged_from_the_embedded_broker(tmp_path):
    env = _env(tmp_path)
    _manage(env, "migrate", "--verbosity", "0")
    _manage(env, "prepare_broker")
    code = (
        "import django; django.setup();"
        "from exchange.tasks import record_heartbeat; from exchange.maintenance import purge_delivered_broker_messages;"
        "record_heartbeat.delay(); record_heartbeat.delay();"
        "from prextra_sync.celery import app;"
        "conn = app.connection_for_read(); q = conn.SimpleQueue('celery');"
        "[q.get(timeout=5).ack() for _ in range(2)]; q.close(); conn.release();"
        "print(purge_delivered_broker_messages())"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "2"
