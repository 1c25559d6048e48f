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
import re
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import requests
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
UNITS = DEPLOY / "systemd"
INSTALLED = "/opt/prextra"  # where the units expect the code (and its .venv)
VENV_BIN = Path(sys.executable).parent
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"  # /usr/sbin is not on every PATH
PG = "postgres://postgres@127.0.0.1:5432"
REDIS = "redis://127.0.0.1:6379"
REDIS_DBS = (10, 11)  # the stack's broker and cache: never the ones of bin/test's own pass
PASSWORD = "Mot-de-passe-de-production-2026"
# In the order a host stops them: the proxy and the web, beat, then the workers, the emulator last.
STOP_ORDER = ("nginx", "web", "beat")


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


def documented_keys(path: Path) -> set[str]:
    """The variables a template sets, and those it shows commented out (`# KEY=value`)."""
    commented = re.findall(r"^#\s*([A-Z][A-Z0-9_]*)=", path.read_text(), flags=re.MULTILINE)
    return set(read_env_file(path)) | set(commented)


def fill_env_template(overrides: dict[str, str]) -> dict[str, str]:
    """The environment file template with the test's values; each of them must be a variable the
    template already documents (set or commented out), and no "change-me" may be left."""
    values = read_env_file(DEPLOY / "prextra.env.example")
    missing = sorted(set(overrides) - documented_keys(DEPLOY / "prextra.env.example"))
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


# --- The stack's database, Redis databases and manage.py ------------------------------------------
@contextlib.contextmanager
def own_database(name: str, server: str = PG, redis_dbs: tuple[int, int] = REDIS_DBS) -> Iterator[str]:
    """A PostgreSQL database of its own on `server`, created and dropped; the stack's Redis
    databases (10 and 11 unless `redis_dbs` names others) emptied."""
    _database(name, "create", server)
    _flush_redis(redis_dbs)
    try:
        yield f"{server}/{name}"
    finally:
        _flush_redis(redis_dbs)
        _database(name, "drop", server)


def _database(name: str, action: str, server: str = PG) -> None:
    with psycopg.connect(f"{server}/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if action == "create":
            connection.execute(f'CREATE DATABASE "{name}"')


def _flush_redis(redis_dbs: tuple[int, int]) -> None:
    for number in redis_dbs:
        subprocess.run(["redis-cli", "-u", f"{REDIS}/{number}", "flushdb"], check=True, capture_output=True)


@dataclass
class PostgreSQL:
    """A PostgreSQL server of the test's own: this machine's PostgreSQL programs on a cluster in a
    folder of the test and a free port, so that restarting it (`restart`: pg_ctl's fast mode, which
    ends every session as a host's `systemctl restart postgresql` does) cuts the stack's
    connections and nobody else's — the suite around the test keeps its own server."""

    folder: Path
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}"

    def restart(self) -> float:
        """Restart the server; the seconds it was unavailable for."""
        started = time.monotonic()
        self._pg_ctl("restart", "-m", "fast")
        return time.monotonic() - started

    def _pg_ctl(self, *args: str) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        command = [_pg_program("pg_ctl"), "-D", str(self.folder / "data"), "-l", str(self.log), "-w", "-t", "60"]
        subprocess.run(_as_postgres([*command, "-o", options, *args]), check=True, capture_output=True, timeout=90)


def _pg_program(name: str) -> str:
    found = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    assert found, f"PostgreSQL's {name} not found under /usr/lib/postgresql"
    return str(found[-1])


def _as_postgres(argv: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: as root, run it as the postgres user."""
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


@contextlib.contextmanager
def private_postgresql() -> Iterator[PostgreSQL]:
    # Not under pytest's tmp_path: as root, that folder is closed to the postgres user.
    folder = Path(tempfile.mkdtemp(prefix="prextra-pg-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    server = PostgreSQL(folder, free_port(), folder / "server.log")
    initdb = [_pg_program("initdb"), "-D", str(folder / "data"), "-U", "postgres", "-A", "trust", "--no-sync"]
    subprocess.run(_as_postgres([*initdb, "-E", "UTF8", "--locale", "C.UTF-8"]), check=True, capture_output=True)
    server._pg_ctl("start")
    try:
        yield server
    finally:
        with contextlib.suppress(subprocess.SubprocessError):
            server._pg_ctl("stop", "-m", "immediate")
        shutil.rmtree(folder, ignore_errors=True)


def manage(env: dict[str, str], *args: str, input_env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**env, **(input_env or {})},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


def count(database_url: str, sql: str, params: tuple = ()) -> int:
    with psycopg.connect(database_url) as connection:
        return connection.execute(sql, params).fetchone()[0]


def until(seconds: float, check, what: str, every: float = 1):
    """check()'s first true answer within `seconds`, else an AssertionError naming `what`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(every)
    raise AssertionError(f"{what}: not within {seconds} s")


# --- The whole stack --------------------------------------------------------------------------------
@dataclass
class Stack:
    """A running production stack: its processes, its addresses, the emulator's control API."""

    folder: Path
    database_url: str
    env: dict[str, str]
    env_values: dict[str, str]
    processes: Processes
    base: str  # https://localhost:<port>, through nginx
    http_port: int
    https_port: int
    cert: Path
    emulator_url: str
    ca_file: str
    control: requests.Session
    deploy_check: str = ""
    statuses: dict[str, int] = field(default_factory=dict)  # exit status of each stopped process
    stop_seconds: float = 0.0

    def start_worker(self, name: str) -> Service:
        """A worker as `systemctl start prextra-worker@<name>` starts it; returns once it is ready."""
        worker = self.processes.start(f"worker-{name}", exec_start("prextra-worker@.service", name))
        log = wait_for_text(worker.log, "ready.", worker.process, seconds=120)
        assert f"{name}@" in log
        return worker

    @property
    def workers(self) -> list[str]:
        return [name for name in self.processes.services if name.startswith("worker-")]

    def stop_all(self, timeout: float = 60) -> None:
        """Stop everything as the host does at shutdown, in dependency order; statuses recorded.
        Each process gets `timeout` seconds before SIGKILL (systemd's TimeoutStopSec, shortened:
        a clean stop takes seconds, and a hang must fail the test rather than stall it)."""
        stopped_at = time.monotonic()
        order = [name for name in (*STOP_ORDER, *self.workers) if name in self.processes.services]
        for name in order:
            if self.processes.services[name].exit_status is None:
                self.statuses[name] = self.processes.stop(name, timeout=timeout)
        self.stop_seconds = time.monotonic() - stopped_at
        self.processes.close()

    def logs(self) -> dict[str, str]:
        return {name: service.log.read_text(errors="replace") for name, service in self.processes.services.items()}

    def requests_served(self) -> int:
        return len((self.folder / "nginx-access.log").read_text().splitlines())


@contextlib.contextmanager
def production_stack(
    folder: Path,
    database_url: str,
    *,
    admin_email: str,
    mailboxes: list[str],
    workers: tuple[str, ...] = ("w1", "w2"),
    settings: dict[str, str] | None = None,
    redis_dbs: tuple[int, int] = REDIS_DBS,
    notifications: bool = False,
) -> Iterator[Stack]:
    """The README's deployment on this machine: the environment template filled in (`settings` on
    top: variables the template must document; `redis_dbs` the broker's and the cache's Redis
    databases, those of `own_database`), migrate, compilemessages, collectstatic, check
    --deploy, the administrator ADMIN (password PASSWORD, `admin_email`), the Exchange dialog shown;
    then the emulator with `mailboxes`, gunicorn, the `workers`, beat and nginx, each from its
    unit. Everything is stopped on the way out, whatever happened (`Stack.stop_all`).
    `notifications`: PREXTRA_PUBLIC_URL is the stack's HTTPS address, and the emulator trusts its
    throwaway certificate: Graph's change notifications reach the product through nginx."""
    web_port, http_port, https_port = free_port(), free_port(), free_port()
    public = {"PREXTRA_PUBLIC_URL": f"https://localhost:{https_port}"} if notifications else {}
    env_values = fill_env_template(
        {
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "PREXTRA_ENCRYPTION_KEY": Fernet.generate_key().decode(),
            "DJANGO_ALLOWED_HOSTS": "localhost,127.0.0.1",
            "DATABASE_URL": database_url,
            "CELERY_BROKER_URL": f"{REDIS}/{redis_dbs[0]}",
            "REDIS_URL": f"{REDIS}/{redis_dbs[1]}",
            "PREXTRA_VAR_DIR": str(folder / "var"),
            **public,
            **(settings or {}),
        }
    )
    # Nothing of the test's own environment leaks into the stack: the file is all it gets.
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/root"), "LANG": "C.UTF-8", **env_values}

    manage(env, "migrate", "--noinput", "-v", "0")
    manage(env, "compilemessages", "--ignore=.venv", "-v", "0")
    manage(env, "collectstatic", "--noinput", "-v", "0")
    deploy_check = manage(env, "check", "--deploy", "--fail-level", "WARNING")
    manage(
        env,
        "createsuperuser",
        "--noinput",
        "--code",
        "ADMIN",
        "--name",
        "Administrateur Prextra",
        "--email",
        admin_email,
        input_env={"DJANGO_SUPERUSER_PASSWORD": PASSWORD},
    )
    manage(
        env,
        "shell",
        "-c",
        "from accounts.models import Setting, USER_MAINTENANCE_SHOW_FIELDS as KEY;"
        "Setting.objects.filter(key=KEY).update(value='btnexchange')",
    )
    cert, key = throwaway_certificate(folder)
    site = replace_each(
        (DEPLOY / "nginx" / "prextra.conf").read_text(),
        {
            "listen 80 default_server;": f"listen 127.0.0.1:{http_port} default_server;",
            "listen 443 ssl default_server;": f"listen 127.0.0.1:{https_port} ssl default_server;",
            "listen 80;": f"listen 127.0.0.1:{http_port};",
            "listen 443 ssl;": f"listen 127.0.0.1:{https_port} ssl;",
            "server_name prextra.example.com;": "server_name localhost 127.0.0.1;",
            "return 301 https://$host$request_uri;": f"return 301 https://$host:{https_port}$request_uri;",
            "/etc/ssl/certs/prextra.example.com.pem": str(cert),
            "/etc/ssl/private/prextra.example.com.key": str(key),
            "http://127.0.0.1:8000": f"http://127.0.0.1:{web_port}",
        },
        "deploy/nginx/prextra.conf",
    )
    conf = nginx_conf(folder, site)
    nginx = [NGINX, "-e", str(folder / "nginx-error.log"), "-p", str(folder), "-c", str(conf)]
    tested = subprocess.run([*nginx, "-t"], capture_output=True, text=True)
    assert tested.returncode == 0, tested.stderr

    processes = Processes(folder, env)
    stack = None
    try:
        emulator_argv = [sys.executable, "-m", "graph_emulator", "--port", "0", "--cert-dir", str(folder / "emulator")]
        for mailbox in mailboxes:
            emulator_argv += ["--mailbox", mailbox]
        for role in ("User.Read.All", "Contacts.Read", "Calendars.ReadWrite"):
            emulator_argv += ["--role", role]
        if notifications:
            emulator_argv += ["--notify-ca-file", str(cert)]
        emulator = processes.start("emulator", emulator_argv)
        banner = wait_for_text(emulator.log, "Control API:", emulator.process)
        control = requests.Session()
        control.verify = re.search(r"CA file:\s+(\S+)", banner).group(1)
        control.trust_env = False

        web_argv = exec_start("prextra-web.service")
        assert "127.0.0.1:8000" in web_argv
        web = processes.start("web", [f"127.0.0.1:{web_port}" if arg == "127.0.0.1:8000" else arg for arg in web_argv])
        for name in workers:
            processes.start(f"worker-{name}", exec_start("prextra-worker@.service", name))
        beat = processes.start("beat", exec_start("prextra-beat.service"))
        proxy = processes.start("nginx", [*nginx, "-g", "daemon off;"], stop_signal=signal.SIGQUIT)
        wait_for_port(web_port, web.process, web.log)
        wait_for_port(https_port, proxy.process, proxy.log)
        for name in workers:
            worker = processes.services[f"worker-{name}"]
            log = wait_for_text(worker.log, "ready.", worker.process, seconds=120)
            assert f"{name}@" in log
        wait_for_text(beat.log, "beat: Starting", beat.process)
        stack = Stack(
            folder=folder,
            database_url=database_url,
            env=env,
            env_values=env_values,
            processes=processes,
            base=f"https://localhost:{https_port}",
            http_port=http_port,
            https_port=https_port,
            cert=cert,
            emulator_url=re.search(r"Control API:\s+(https://\S+)/_emulator/", banner).group(1),
            ca_file=control.verify,
            control=control,
            deploy_check=deploy_check,
        )
        yield stack
    finally:
        if stack is not None:
            stack.stop_all()
        processes.close()


# --- Clients of the stack -------------------------------------------------------------------------
class _SourceAddress(requests.adapters.HTTPAdapter):
    """Connect from a given local address (every 127.x.y.z is this machine): another client."""

    def __init__(self, source: str) -> None:
        self.source = source
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.source, 0)
        return super().init_poolmanager(*args, **kwargs)


def client_from(source: str, cert: Path) -> requests.Session:
    client = requests.Session()
    client.trust_env = False
    client.verify = str(cert)  # the throwaway certificate names localhost
    client.mount("https://", _SourceAddress(source))
    return client


def sign_in(client: requests.Session, base: str, code: str, password: str, headers=None) -> str:
    """Post the sign-in form as a browser would: "signed in", "throttled" or "refused"."""
    form = client.get(f"{base}/connexion/", timeout=10)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text).group(1)
    answer = client.post(
        f"{base}/connexion/",
        data={"csrfmiddlewaretoken": token, "username": code, "password": password},
        headers={"Referer": f"{base}/connexion/", **(headers or {})},
        allow_redirects=False,
        timeout=10,
    )
    if answer.status_code == 302:
        return "signed in"
    assert answer.status_code == 200, answer.status_code
    return "throttled" if "Trop de tentatives de connexion" in answer.text else "refused"
