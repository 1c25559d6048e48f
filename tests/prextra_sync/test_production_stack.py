"""The production stack of the README, from the files a customer copies (deploy/), end to end.

PREXTRA_ENV=production, PostgreSQL and Redis of this machine, `migrate`, `compilemessages`,
`collectstatic`, `check --deploy`; gunicorn, two Celery workers and one beat started with their
systemd units' ExecStart= lines and the environment file template filled in; nginx (Debian's
package) with the site file of deploy/, terminating TLS with a throwaway certificate; the Graph
emulator standing in for Microsoft 365. Headless Chromium then does over HTTPS what an
administrator does on the first day (R1, R3, R4): registers the connection, turns a user's
switches on and creates an activity, which reaches the mailbox (R6); a contact added in
"Outlook" reaches Prextra. On the way, every answer is checked for the security headers, the
cookies for their flags, static files for their cache header; plain HTTP must redirect, a 404
must show no debug page, no log may hold a traceback. The processes are then stopped as the
units' KillMode=mixed stops them, and must exit cleanly.

Runs once per bin/test: in its PostgreSQL + Redis pass (DATABASE_URL is postgres://…); it uses
a database and Redis databases of its own (10 and 11), whatever that pass uses.
"""

from __future__ import annotations

import os
import re
import secrets
import signal
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
import requests
from cryptography.fernet import Fernet
from django.conf import settings
from django.utils import timezone
from playwright.sync_api import expect

from . import stack

pytestmark = [
    pytest.mark.slow,
    pytest.mark.browser,
    pytest.mark.skipif(
        not os.environ.get("DATABASE_URL", "").startswith("postgres"),
        reason="the PostgreSQL + Redis pass of bin/test runs the production stack (once per run)",
    ),
    pytest.mark.skipif(not os.access(stack.NGINX, os.X_OK), reason="needs Debian's nginx (bin/test installs it)"),
]

PG = "postgres://postgres@127.0.0.1:5432"
REDIS = "redis://127.0.0.1:6379"
REDIS_DBS = (10, 11)
PASSWORD = "Mot-de-passe-de-production-2026"
MAILBOX = "admin@prextra-stack.test"
HEADERS = {
    "strict-transport-security": re.compile(r"max-age=31536000; includeSubDomains"),
    "content-security-policy": re.compile(r"default-src 'self'.*frame-ancestors 'none'"),
    "x-content-type-options": re.compile(r"^nosniff$"),
    "referrer-policy": re.compile(r"^same-origin$"),
}
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
TRACEBACK = re.compile(r"Traceback \(most recent call last\)|Internal Server Error|DEBUG = True")


def _database(name: str, action: str) -> None:
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if action == "create":
            connection.execute(f'CREATE DATABASE "{name}"')


def _flush_redis() -> None:
    for number in REDIS_DBS:
        subprocess.run(["redis-cli", "-u", f"{REDIS}/{number}", "flushdb"], check=True, capture_output=True)


def _manage(env: dict[str, str], *args: str, input_env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=stack.ROOT,
        env={**env, **(input_env or {})},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


def _count(database_url: str, sql: str) -> int:
    with psycopg.connect(database_url) as connection:
        return connection.execute(sql).fetchone()[0]


def _until(seconds: float, check, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(1)
    raise AssertionError(f"{what}: not within {seconds} s")


class _SourceAddress(requests.adapters.HTTPAdapter):
    """Connect from a given local address (every 127.x.y.z is this machine): another client."""

    def __init__(self, source: str) -> None:
        self.source = source
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.source, 0)
        return super().init_poolmanager(*args, **kwargs)


def _client_from(source: str, cert: Path) -> requests.Session:
    client = requests.Session()
    client.trust_env = False
    client.verify = str(cert)  # the throwaway certificate names localhost
    client.mount("https://", _SourceAddress(source))
    return client


def _sign_in(client: requests.Session, base: str, code: str, password: str, headers=None) -> str:
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


@pytest.fixture
def stack_folder(tmp_path):
    """A database of its own, created and dropped; Redis databases 10 and 11 emptied."""
    name = f"prextra_stack_{os.getpid()}"
    _database(name, "create")
    _flush_redis()
    yield tmp_path, f"{PG}/{name}"
    _flush_redis()
    _database(name, "drop")


def test_the_production_stack_serves_syncs_and_protects(stack_folder, browser):
    started = time.monotonic()
    folder, database_url = stack_folder
    web_port, http_port, https_port = stack.free_port(), stack.free_port(), stack.free_port()
    env_values = stack.fill_env_template(
        {
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "PREXTRA_ENCRYPTION_KEY": Fernet.generate_key().decode(),
            "DJANGO_ALLOWED_HOSTS": "localhost,127.0.0.1",
            "DATABASE_URL": database_url,
            "CELERY_BROKER_URL": f"{REDIS}/{REDIS_DBS[0]}",
            "REDIS_URL": f"{REDIS}/{REDIS_DBS[1]}",
            "PREXTRA_VAR_DIR": str(folder / "var"),
        }
    )
    assert env_values["PREXTRA_ENV"] == "production"
    # Nothing of the test's own environment leaks into the stack: the file is all it gets.
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/root"), "LANG": "C.UTF-8", **env_values}

    # The units' stop behaviour (README, docs/reliability-notes.md), checked before it is used.
    worker_unit = stack.unit_service("prextra-worker@.service")
    task_limit = int(env_values.get("CELERY_TASK_TIME_LIMIT", settings.CELERY_TASK_TIME_LIMIT))
    assert worker_unit["KillMode"] == "mixed"
    assert int(worker_unit["TimeoutStopSec"]) > task_limit
    for unit in ("prextra-web.service", "prextra-beat.service"):
        assert stack.unit_service(unit)["KillMode"] == "mixed"
        assert stack.unit_service(unit)["EnvironmentFile"] == worker_unit["EnvironmentFile"]

    # The README's deployment steps.
    _manage(env, "migrate", "--noinput", "-v", "0")
    _manage(env, "compilemessages", "--ignore=.venv", "-v", "0")
    _manage(env, "collectstatic", "--noinput", "-v", "0")
    deploy_check = _manage(env, "check", "--deploy", "--fail-level", "WARNING")
    assert "System check identified no issues" in deploy_check, deploy_check
    _manage(
        env,
        "createsuperuser",
        "--noinput",
        "--code",
        "ADMIN",
        "--name",
        "Administrateur Prextra",
        "--email",
        MAILBOX,
        input_env={"DJANGO_SUPERUSER_PASSWORD": PASSWORD},
    )
    _manage(
        env,
        "shell",
        "-c",
        "from accounts.models import Setting, USER_MAINTENANCE_SHOW_FIELDS as KEY;"
        "Setting.objects.filter(key=KEY).update(value='btnexchange')",
    )
    cert, key = stack.throwaway_certificate(folder)
    site = stack.replace_each(
        (stack.DEPLOY / "nginx" / "prextra.conf").read_text(),
        {
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
    nginx_conf = stack.nginx_conf(folder, site)
    nginx = [stack.NGINX, "-e", str(folder / "nginx-error.log"), "-p", str(folder), "-c", str(nginx_conf)]
    tested = subprocess.run([*nginx, "-t"], capture_output=True, text=True)
    assert tested.returncode == 0, tested.stderr

    processes = stack.Processes(folder, env)
    try:
        emulator = processes.start(
            "emulator",
            [sys.executable, "-m", "graph_emulator", "--port", "0", "--cert-dir", str(folder / "emulator")]
            + ["--mailbox", MAILBOX, "--role", "User.Read.All", "--role", "Contacts.Read"]
            + ["--role", "Calendars.ReadWrite"],
        )
        banner = stack.wait_for_text(emulator.log, "Control API:", emulator.process)
        emulator_url = re.search(r"Control API:\s+(https://\S+)/_emulator/", banner).group(1)
        ca_file = re.search(r"CA file:\s+(\S+)", banner).group(1)
        control = requests.Session()
        control.verify = ca_file
        control.trust_env = False

        web_argv = stack.exec_start("prextra-web.service")
        assert "127.0.0.1:8000" in web_argv
        web = processes.start("web", [f"127.0.0.1:{web_port}" if arg == "127.0.0.1:8000" else arg for arg in web_argv])
        for name in ("w1", "w2"):
            processes.start(f"worker-{name}", stack.exec_start("prextra-worker@.service", name))
        beat = processes.start("beat", stack.exec_start("prextra-beat.service"))
        proxy = processes.start("nginx", [*nginx, "-g", "daemon off;"], stop_signal=signal.SIGQUIT)
        stack.wait_for_port(web_port, web.process, web.log)
        stack.wait_for_port(https_port, proxy.process, proxy.log)
        for name in ("w1", "w2"):
            worker = processes.services[f"worker-{name}"]
            log = stack.wait_for_text(worker.log, "ready.", worker.process, seconds=90)
            assert f"{name}@" in log
        stack.wait_for_text(beat.log, "beat: Starting", beat.process)
        base = f"https://localhost:{https_port}"

        # Plain HTTP answers with a permanent redirect to the same path over HTTPS, and nothing else.
        plain = requests.get(f"http://127.0.0.1:{http_port}/crm/contacts/?x=1", allow_redirects=False, timeout=10)
        assert plain.status_code == 301
        assert plain.headers["Location"] == f"https://127.0.0.1:{https_port}/crm/contacts/?x=1"

        context = browser.new_context(ignore_https_errors=True, locale="fr-CA", timezone_id="America/Toronto")
        answers = []
        context.on("response", lambda answer: answers.append(answer))
        page = context.new_page()
        page.set_viewport_size({"width": 1280, "height": 900})
        page.on("dialog", lambda dialog: dialog.accept())

        # Sign in over HTTPS.
        page.goto(f"{base}/")
        assert "/connexion/" in page.url
        page.fill("#id_username", "admin")
        page.fill("#id_password", PASSWORD)
        page.get_by_role("button", name="Se connecter").click()
        page.wait_for_url(f"{base}/")
        expect(page.locator("h1")).to_have_text("Bonjour Administrateur Prextra")

        # R1: the connection to "Microsoft 365" (the emulator), as the administrator enters it.
        page.goto(f"{base}/administration/microsoft-365/")
        page.fill("#id_tenant_id", "prextra-demo")
        page.fill("#id_client_id", "prextra-sync-demo")
        page.fill("#id_client_secret", "demo-secret")
        page.fill("#id_authority_host", emulator_url)
        page.fill("#id_graph_url", f"{emulator_url}/v1.0")
        page.fill("#id_ca_file", ca_file)
        page.locator("form[action$='/microsoft-365/']").get_by_role("button", name="Enregistrer").click()
        expect(page.get_by_text("Secret enregistré (chiffré)")).to_be_visible()
        page.fill("#id_mailbox", MAILBOX)
        page.get_by_role("button", name="Tester").click()
        expect(page.locator("#test-result p.success")).to_be_visible()

        # R3, R4: the user's Exchange dialog, every switch on.
        page.locator("summary", has_text="Administration").first.click()
        page.get_by_role("link", name="Utilisateurs").click()
        page.get_by_role("link", name="ADMIN", exact=True).click()
        page.get_by_role("link", name="Exchange").click()
        dialog = page.locator("dialog#exchange-dialog")
        expect(dialog).to_be_visible()
        for label in (
            "Sync. contacts d'Exchange à Prextra :",
            "Sync. activités Exchange à Prextra :",
            "Sync. activités Prextra à Exchange :",
        ):
            dialog.get_by_label(label).check()
        dialog.get_by_role("button", name="Enregistrer").click()
        expect(dialog.get_by_role("status")).to_contain_text("Enregistré.")
        page.screenshot(path=str(ARTIFACTS / "stack_exchange_dialog.png"))

        # R6: an activity created in the calendar reaches the mailbox.
        subject = f"Visite de production {uuid.uuid4().hex[:6]}"
        day = timezone.localdate() + timedelta(days=1)
        page.goto(f"{base}/crm/calendrier/mois/?month={day:%Y-%m}")
        page.get_by_role("link", name="Nouvelle activité").click()
        activity = page.locator("dialog#activity-dialog")
        expect(activity).to_be_visible()
        activity.get_by_label("Sujet").fill(subject)
        activity.locator("#id_start_date").fill(f"{day:%Y-%m-%d}")
        activity.locator("#id_start_time").fill("14:00")
        activity.locator("#id_end_date").fill(f"{day:%Y-%m-%d}")
        activity.locator("#id_end_time").fill("15:00")
        activity.get_by_role("button", name="Enregistrer").click()
        expect(activity).to_have_count(0)
        sent_at = time.monotonic()

        def pushed():
            events = control.get(f"{emulator_url}/_emulator/mailboxes/{MAILBOX}/events", timeout=10).json()
            return [event for event in events.get("value", events) if event.get("subject") == subject]

        (event,) = _until(60, pushed, "the activity in the mailbox")
        push_seconds = time.monotonic() - sent_at
        assert event["start"]["dateTime"].startswith(f"{day:%Y-%m-%d}")

        # A contact added in "Outlook" appears in the contact search.
        last_name = f"Prod{uuid.uuid4().hex[:6]}"
        created = control.post(
            f"{emulator_url}/_emulator/mailboxes/{MAILBOX}/contacts",
            json={
                "givenName": "Luce",
                "surname": last_name,
                "displayName": f"Luce {last_name}",
                "emailAddresses": [{"address": f"luce.{last_name.lower()}@finloc.com", "name": "Luce"}],
            },
            timeout=10,
        )
        assert created.status_code == 201, created.text
        added_at = time.monotonic()

        def listed():
            page.goto(f"{base}/crm/contacts/?contact_name={last_name}")
            return page.locator("table").get_by_text(last_name).count()

        _until(60, listed, "the Outlook contact in Prextra")
        pull_seconds = time.monotonic() - added_at
        page.screenshot(path=str(ARTIFACTS / "stack_contact_search.png"))

        # A 404 is the product's page, never Django's debug page.
        missing = page.goto(f"{base}/nulle-part/")
        assert missing.status == 404
        expect(page.locator("h1")).to_have_text("Page introuvable")
        assert "Traceback" not in page.content() and "URLconf" not in page.content()

        # Static files: collected, hashed, served with a long cache header.
        stylesheet = next(answer for answer in answers if answer.url.endswith(".css") and "/static/" in answer.url)
        assert stylesheet.status == 200
        assert re.search(r"/static/.+\.[0-9a-f]{12}\.css$", stylesheet.url), stylesheet.url
        max_age = int(re.search(r"max-age=(\d+)", stylesheet.headers["cache-control"]).group(1))
        assert max_age >= 365 * 24 * 3600

        # Every answer of the site (pages, htmx fragments, static files): the security headers.
        ours = [answer for answer in answers if answer.url.startswith(base)]
        assert len(ours) > 20
        for answer in ours:
            headers = answer.headers
            for name, pattern in HEADERS.items():
                assert pattern.search(headers.get(name, "")), f"{answer.url}: {name}={headers.get(name)!r}"
            framing = headers.get("x-frame-options") == "DENY" or "frame-ancestors 'none'" in headers.get(
                "content-security-policy", ""
            )
            assert framing, answer.url
            assert answer.status < 500, answer.url

        # The language switch sets a cookie too (for the sign-in page).
        page.get_by_role("button", name="English").click()
        expect(page.locator("h1")).to_have_text("Page not found")

        # The cookies: HTTPS only, SameSite; the session out of reach of scripts.
        cookies = {cookie["name"]: cookie for cookie in context.cookies()}
        assert {"sessionid", "csrftoken", "django_language"} <= set(cookies)
        for cookie in cookies.values():
            assert cookie["secure"] and cookie["sameSite"] in {"Lax", "Strict"}, cookie
        assert cookies["sessionid"]["httpOnly"]
        context.close()

        # #18 point 2 through the real nginx: the client is the address nginx saw (PREXTRA_TRUSTED_PROXY_HOPS=1).
        # Two clients of this machine, 127.0.0.2 and 127.0.0.3: one's failures never lock out the other,
        # and a forged X-Forwarded-For neither escapes nor resets its lock-out.
        client_a, client_b = _client_from("127.0.0.2", cert), _client_from("127.0.0.3", cert)
        for _attempt in range(5):
            assert _sign_in(client_a, base, "ADMIN", "mauvais-mot-de-passe") == "refused"
        assert _sign_in(client_a, base, "ADMIN", PASSWORD) == "throttled"
        assert _sign_in(client_b, base, "ADMIN", PASSWORD) == "signed in"
        forged = {"X-Forwarded-For": "203.0.113.9"}
        assert _sign_in(client_a, base, "ADMIN", PASSWORD, headers=forged) == "throttled"
        assert _sign_in(_client_from("127.0.0.2", cert), base, "ADMIN", PASSWORD, headers=forged) == "throttled"

        syncs = _count(database_url, "SELECT count(*) FROM exchange_syncrun WHERE result = 'success'")
        failed = _count(database_url, "SELECT count(*) FROM exchange_syncrun WHERE result = 'failed'")
        assert syncs >= 2 and failed == 0, (syncs, failed)
    finally:
        stopped_at = time.monotonic()
        # In the order a host stops them: the proxy and the web, beat, then the workers.
        order = [name for name in ("nginx", "web", "beat", "worker-w1", "worker-w2") if name in processes.services]
        statuses = {name: processes.stop(name) for name in order}
        stop_seconds = time.monotonic() - stopped_at
        processes.close()

    assert statuses == dict.fromkeys(statuses, 0), statuses
    assert not [name for name, service in processes.services.items() if service.left_behind]
    logs = {name: service.log.read_text(errors="replace") for name, service in processes.services.items()}
    for name, text in logs.items():
        assert not TRACEBACK.search(text), f"{name}: {text[-4000:]}"
    for name in ("w1", "w2"):
        assert "Warm shutdown" in logs[f"worker-{name}"]
    requests_served = len((folder / "nginx-access.log").read_text().splitlines())
    print(
        f"\nproduction stack: {time.monotonic() - started:.1f} s in all, {requests_served} requests served by "
        f"nginx, {syncs} syncs completed, activity in the mailbox after {push_seconds:.1f} s, contact in "
        f"Prextra after {pull_seconds:.1f} s, stopped in {stop_seconds:.1f} s"
    )
