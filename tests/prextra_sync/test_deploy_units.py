"""The systemd units of deploy/ (the ones the production stack test runs) stop as documented."""

from django.conf import settings

from . import stack


def test_the_unit_files_stop_as_the_reliability_notes_say():
    """Each unit stops its main process first (KillMode=mixed), and a worker's stop waits longer
    than a task may run (docs/reliability-notes.md)."""
    worker_unit = stack.unit_service("prextra-worker@.service")
    template = stack.read_env_file(stack.DEPLOY / "prextra.env.example")
    task_limit = int(template.get("CELERY_TASK_TIME_LIMIT", settings.CELERY_TASK_TIME_LIMIT))
    assert worker_unit["KillMode"] == "mixed"
    assert int(worker_unit["TimeoutStopSec"]) > task_limit
    for unit in ("prextra-web.service", "prextra-beat.service"):
        assert stack.unit_service(unit)["KillMode"] == "mixed"
        assert stack.unit_service(unit)["EnvironmentFile"] == worker_unit["EnvironmentFile"]
