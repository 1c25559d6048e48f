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


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _redis(port: int) -> subprocess.Popen:
    command = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        ping = subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True, text=True)
        if ping.stdout.strip() == "PONG":
            return server
        time.sleep(0.1)
    raise AssertionError("redis-server did not start")


def _wait_for_heartbeats(database: Path, count: int, processes, seconds: float = 90) -> int:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and _heartbeats(database) < count:
        for process in processes:
            assert process.poll() is None, process.communicate()[0]
        time.sleep(0.5)
    return _heartbeats(database)


@pytest.mark.skipif(not __import__("shutil").which("redis-server"), reason="needs Debian's redis-server")
def test_worker_and_beat_resume_after_redis_restarts_mid_run(tmp_path):
    """Redis (the production broker) is killed and started again, empty: tasks flow again."""
    port = _free_port()
    server = _redis(port)
    env = {**_env(tmp_path), "CELERY_BROKER_URL": f"redis://127.0.0.1:{port}/0"}
    _manage(env, "migrate", "--verbosity", "0")
    common = {"cwd": ROOT, "env": env, "stdout": subprocess.PIPE, "stderr": subprocess.STDOUT, "text": True}
    worker = subprocess.Popen([CELERY, "-A", "prextra_sync", "worker", "-l", "info", "-c", "2"], **common)
    beat = subprocess.Popen([CELERY, "-A", "prextra_sync", "beat", "-l", "info"], **common)
    database = tmp_path / "prextra.sqlite3"
    try:
        before = _wait_for_heartbeats(database, 2, [worker, beat])
        assert before >= 2
        server.send_signal(signal.SIGKILL)  # mid-run: nothing persisted, connections dropped
        server.wait(timeout=10)
        time.sleep(3)
        server = _redis(port)
        after = _wait_for_heartbeats(database, before + 3, [worker, beat], seconds=120)
    finally:
        worker_log, beat_log = _stop(worker), _stop(beat)
        server.send_signal(signal.SIGKILL)
        server.wait(timeout=10)
    assert after >= before + 3, worker_log[-3000:] + beat_log[-3000:]
