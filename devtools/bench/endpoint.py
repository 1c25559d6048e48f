"""The product's change-notification endpoint over HTTPS, where the emulator posts as Graph would.

As bin/run serves it: a gunicorn of its own, with TLS on the emulator's own certificate (which
the emulator trusts for its outgoing calls), on the bench's throwaway database. While inside,
PREXTRA_PUBLIC_URL names it in this process too, so subscriptions made here point at it; child
processes (worker, beat) are given it in their environment by the scenario.
"""

from __future__ import annotations

import subprocess  # nosec B404 # the benchmark starts its own gunicorn
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests
from django.test.utils import override_settings

from graph_emulator import tls

from .load import _free_port
from .world import PYTHON, ROOT, World


@contextmanager
def https_endpoint(world: World, env: dict[str, str]) -> Iterator[str]:
    """gunicorn (1 process × 4 threads, as bin/run) serving the app over TLS; yields its https root.
    `env`: the child environment (its broker is where the endpoint queues the notified syncs)."""
    folder = Path(world.emulator.ca_file).parent
    port = _free_port()
    url = f"https://127.0.0.1:{port}"
    command = [PYTHON, "-m", "gunicorn", "prextra_sync.wsgi", "--bind", f"127.0.0.1:{port}",
               "--workers", "1", "--threads", "4", "--log-level", "warning",
               "--certfile", str(folder / tls.CERT_FILE), "--keyfile", str(folder / tls.KEY_FILE)]  # fmt: skip
    child_env = {**env, "PREXTRA_PUBLIC_URL": url, "DJANGO_ALLOWED_HOSTS": "127.0.0.1"}
    # No shell, and every argument is the benchmark's own (nothing a user typed).
    output = {"stdout": subprocess.PIPE, "stderr": subprocess.STDOUT, "text": True}
    server = subprocess.Popen(command, cwd=ROOT, env=child_env, **output)  # nosec B603
    try:
        _wait_until_up(url, world.emulator.ca_file, server)
        with override_settings(PREXTRA_PUBLIC_URL=url):
            yield url
    finally:
        server.terminate()
        try:
            server.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.communicate()


def _wait_until_up(url: str, ca_file: str, server: subprocess.Popen) -> None:
    """Until the endpoint answers over TLS, trusting the emulator's CA (as the emulator does)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError("the notification endpoint exited: " + (server.communicate()[0] or "")[-1500:])
        try:
            requests.get(f"{url}/connexion/", timeout=5, verify=ca_file)
            return
        except (requests.ConnectionError, requests.Timeout):  # not listening yet, or its first page slow
            time.sleep(0.2)
    raise RuntimeError("the notification endpoint did not start")
