"""The production stack of the README, started from the files a customer copies (deploy/).

`deploy/prextra.env.example` filled in with the test's database, Redis databases and fresh keys;
the commands of the systemd units' `ExecStart=` lines (deploy/systemd/), the installation path
/opt/prextra replaced by this checkout; the nginx site (deploy/nginx/prextra.conf) with its host
name, ports and certificate paths replaced by the test's, inside a minimal nginx.conf of the test's
own (pid, logs and temporary files in the test's folder, never the system nginx on port 80).
Every replacement must find its text: a deploy file that drifts from what the test substitutes
fails the test instead of being tested half.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
UNITS = DEPLOY / "systemd"
INSTALLED = "/opt/prextra"  # where the units expect the code (and its .venv)
VENV_BIN = Path(sys.executable).parent
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"  # /usr/sbin is not on every PATH


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def read_env_file(path: Path) -> dict[str, str]:
    """systemd's EnvironmentFile= format as the template uses it: KEY=value lines, # comments."""
    values = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, separator, value = line.partition("=")
        assert separator and key.strip() == key and key.isupper(), f"not a KEY=value line: {line!r}"
        values[key] = value
    return values


def fill_env_template(overrides: dict[str, str]) -> dict[str, str]:
    """The environment file template with the test's values; each of them must be a variable the
    template already documents, and no "change-me" may be left."""
    values = read_env_file(DEPLOY / "prextra.env.example")
    missing = sorted(set(overrides) - set(values))
    assert not missing, f"deploy/prextra.env.example does not document {missing}"
    values.update(overrides)
    left = sorted(key for key, value in values.items() if "change-me" in value)
    assert not left, f"still to fill in: {left}"
    return values


def unit_service(name: str) -> dict[str, str]:
    """The [Service] section of a unit file (one value per key: the units use no repeated keys)."""
    section, directives = None, {}
    for line in (UNITS / name).read_text().splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        if section == "Service":
            key, _, value = line.partition("=")
            assert key not in directives, f"{name}: {key} given twice"
            directives[key] = value
    return directives


def _expand_specifiers(text: str, instance: str | None) -> str:
    """The systemd specifiers the units use: %i (the instance) and %% (a literal %)."""
    out, index = [], 0
    while index < len(text):
        char = text[index]
        if char != "%":
            out.append(char)
            index += 1
            continue
        spec = text[index + 1 : index + 2]
        if spec == "%":
            out.append("%")
        elif spec == "i" and instance is not None:
            out.append(instance)
        else:
            raise AssertionError(f"specifier %{spec} is not expanded by the test: {text!r}")
        index += 2
    return "".join(out)


def exec_start(name: str, instance: str | None = None) -> list[str]:
    """The command of a unit's ExecStart=, run from this checkout instead of /opt/prextra."""
    line = unit_service(name)["ExecStart"]
    argv = shlex.split(_expand_specifiers(line, instance))
    prefix = f"{INSTALLED}/.venv/bin/"
    assert argv[0].startswith(prefix), f"{name}: ExecStart should run a program of {prefix}"
    argv[0] = str(VENV_BIN / argv[0].removeprefix(prefix))
    return argv


def replace_each(text: str, replacements: dict[str, str], where: str) -> str:
    for old, new in replacements.items():
        assert old in text, f"{where}: {old!r} not found"
        text = text.replace(old, new)
    return text


def nginx_conf(folder: Path, site: str) -> Path:
    """A minimal nginx.conf around the site, everything nginx writes kept in `folder`."""
    temp = folder / "nginx-temp"
    temp.mkdir(exist_ok=True)
    (folder / "prextra.conf").write_text(site)
    # As root, nginx's workers would otherwise run as nobody, who cannot enter the test's folder.
    user = "user root;\n" if os.geteuid() == 0 else ""
    conf = folder / "nginx.conf"
    conf.write_text(
        f"""{user}worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/nginx-error.log warn;
events {{ worker_connections 256; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log {folder}/nginx-access.log;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    include {folder}/prextra.conf;
}}
"""
    )
    return conf


def throwaway_certificate(folder: Path) -> tuple[Path, Path]:
    cert, key = folder / "localhost.pem", folder / "localhost.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"]
        + ["-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost"]
        + ["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
        check=True,
        capture_output=True,
    )
    return cert, key


def wait_for_port(port: int, process: subprocess.Popen, log: Path, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, f"{process.args[0]} exited: {log.read_text()[-3000:]}"
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise AssertionError(f"nothing listens on {port}: {log.read_text()[-3000:]}")


def wait_for_text(log: Path, text: str, process: subprocess.Popen, seconds: float = 60) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        content = log.read_text() if log.exists() else ""
        if text in content:
            return content
        assert process.poll() is None, f"{process.args} exited: {content[-3000:]}"
        time.sleep(0.2)
    raise AssertionError(f"{text!r} never appeared in {log.name}: {content[-3000:]}")


@dataclass
class Service:
    name: str
    process: subprocess.Popen
    log: Path
    stop_signal: int
    exit_status: int | None = None
    left_behind: bool = False  # processes of its group still there when the main one had exited


@dataclass
class Processes:
    """Every process the test starts, each in a session of its own. `stop` stops one as systemd's
    KillMode=mixed does: the signal to the main process only, then (after the timeout) SIGKILL to
    whatever is left of its group; `close` does that for all that still run, on any outcome."""

    folder: Path
    env: dict[str, str]
    services: dict[str, Service] = field(default_factory=dict)

    def start(self, name: str, argv: list[str], stop_signal: int = signal.SIGTERM) -> Service:
        log = self.folder / f"{name}.log"
        with open(log, "wb") as out:
            process = subprocess.Popen(
                argv,
                cwd=ROOT,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        service = self.services[name] = Service(name, process, log, stop_signal)
        return service

    def stop(self, name: str, timeout: float = 30) -> int:
        service = self.services[name]
        if service.exit_status is None:
            process = service.process
            if process.poll() is None:
                process.send_signal(service.stop_signal)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=timeout)
            service.left_behind = process.poll() is not None and _group_alive(process.pid)
            _kill_group(process.pid)
            service.exit_status = process.wait(timeout=10)
        return service.exit_status

    def close(self) -> None:
        for name in reversed(list(self.services)):
            self.stop(name, timeout=15)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)
