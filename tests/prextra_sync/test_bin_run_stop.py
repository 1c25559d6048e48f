"""bin/run stopped with SIGTERM, as systemd or a supervisor stops it: every process exits by itself
within 15 s, the worker through its warm shutdown, none of them killed.

Two ways the signal arrives: to bin/run alone (supervisord, systemd KillMode=mixed), or to every
process of the group at once (systemd's default KillMode=control-group). In the second case the
worker's pool processes used to die of the signal, and the worker on the embedded broker could then
hang at exit forever (docs/reliability-notes.md, "Stopping")."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STOP_WITHIN = 15.0

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _env(var_dir: Path) -> dict[str, str]:
    """bin/run on its embedded defaults (whatever broker the suite runs on), in its own var folder."""
    dropped = {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env = {key: value for key, value in os.environ.items() if key not in dropped}
    env.update(
        {
            "PREXTRA_VAR_DIR": str(var_dir),
            "PORT": str(_free_port()),
            "PREXTRA_EMULATOR_PORT": str(_free_port()),
            "PREXTRA_NOTIFY_PORT": str(_free_port()),
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def _session(leader: int) -> set[int]:
    """The processes of bin/run's session: itself, the emulator, the web app, beat, the worker and
    its pool processes (systemd would see them all in the unit's control group)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.getsid(int(entry.name)) == leader and "Z" not in _state(int(entry.name)):
                    found.add(int(entry.name))
            except (ProcessLookupError, PermissionError, FileNotFoundError):
                continue
    return found


def _state(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


def _wait_until_ready(run: subprocess.Popen, var_dir: Path, port: str) -> None:
    worker_log = var_dir / "log" / "worker.log"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        assert run.poll() is None, (var_dir / "run.log").read_text()
        if worker_log.exists() and " ready." in worker_log.read_text():
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", int(port))) == 0:
                    return
        time.sleep(0.5)
    raise AssertionError("bin/run did not get ready:\n" + (var_dir / "run.log").read_text())


@pytest.fixture(scope="module")
def var_dir(tmp_path_factory):
    """One var folder for both cases: the second bin/run finds its database migrated and its demo
    data loaded, as a restarted service would."""
    return tmp_path_factory.mktemp("bin-run")


@pytest.mark.parametrize("to_every_process", [False, True], ids=["to-bin-run", "to-the-whole-group"])
def test_sigterm_stops_every_process_by_itself_within_15_s(var_dir, to_every_process):
    env = _env(var_dir)
    with open(var_dir / "run.log", "w") as log:
        run = subprocess.Popen(
            ["bin/run"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        _wait_until_ready(run, var_dir, env["PORT"])
        processes = _session(run.pid)
        assert len(processes) >= 6  # bin/run, emulator, web, beat, worker and its pool processes
        started = time.monotonic()
        if to_every_process:
            os.killpg(run.pid, signal.SIGTERM)
        else:
            run.send_signal(signal.SIGTERM)
        while _session(run.pid) and time.monotonic() - started < STOP_WITHIN:
            time.sleep(0.2)
        left = _session(run.pid)
    finally:
        if run.poll() is None or _session(run.pid):  # only when the test already failed
            with contextlib.suppress(ProcessLookupError):
                os.killpg(run.pid, signal.SIGKILL)
        run.wait(timeout=10)
    output = (var_dir / "run.log").read_text()
    worker_log = (var_dir / "log" / "worker.log").read_text()
    assert not left, f"{sorted(left)} still up {STOP_WITHIN} s after SIGTERM\n{output[-2000:]}\n{worker_log[-3000:]}"
    assert "Warm shutdown" in worker_log
    assert "==> worker stopped (exit status 0)" in output, output[-2000:]
    assert "==> emulator stopped (exit status 0)" in output, output[-2000:]
    assert "exit status 137" not in output  # nothing was SIGKILLed
    assert "exited with 'signal" not in worker_log, worker_log[-3000:]  # nor a pool process killed
