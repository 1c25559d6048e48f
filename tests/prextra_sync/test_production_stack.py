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
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
import requests
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

MAILBOX = "admin@prextra-stack.test"
HEADERS = {
    "strict-transport-security": re.compile(r"max-age=31536000; includeSubDomains"),
    "content-security-policy": re.compile(r"default-src 'self'.*frame-ancestors 'none'"),
    "x-content-type-options": re.compile(r"^nosniff$"),
    "referrer-policy": re.compile(r"^same-origin$"),
}
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
TRACEBACK = re.compile(r"Traceback \(most recent call last\)|Internal Server Error|DEBUG = True")


@pytest.fixture
def stack_folder(tmp_path):
    """A database of its own, created and dropped; Redis databases 10 and 11 emptied."""
    with stack.own_database(f"prextra_stack_{os.getpid()}") as database_url:
        yield tmp_path, database_url


def test_the_production_stack_serves_syncs_and_protects(stack_folder, browser):
    started = time.monotonic()
    folder, database_url = stack_folder
    with stack.production_stack(
        folder, database_url, admin_email=MAILBOX, mailboxes=[MAILBOX], notifications=True
    ) as running:
        assert running.env_values["PREXTRA_ENV"] == "production"
        assert "System check identified no issues" in running.deploy_check, running.deploy_check
        syncs, push_seconds, pull_seconds = _first_day(running, browser)
    processes = running.processes
    statuses, stop_seconds = running.statuses, running.stop_seconds
    assert statuses == dict.fromkeys(statuses, 0), statuses
    assert not [name for name, service in processes.services.items() if service.left_behind]
    logs = running.logs()
    for name, text in logs.items():
        assert not TRACEBACK.search(text), f"{name}: {text[-4000:]}"
    for name in ("w1", "w2"):
        assert "Warm shutdown" in logs[f"worker-{name}"]
    requests_served = running.requests_served()
    print(
        f"\nproduction stack: {time.monotonic() - started:.1f} s in all, {requests_served} requests served by "
        f"nginx, {syncs} syncs completed, activity in the mailbox after {push_seconds:.1f} s, contact in "
        f"Prextra after {pull_seconds:.1f} s, stopped in {stop_seconds:.1f} s"
    )


def _first_day(running: stack.Stack, browser) -> tuple[int, float, float]:
    """What an administrator does on the first day, over HTTPS through nginx; what it checks on
    the way. Returns the syncs completed and the seconds to the mailbox and to Prextra."""
    base, control, emulator_url = running.base, running.control, running.emulator_url
    http_port, https_port, cert = running.http_port, running.https_port, running.cert

    # Plain HTTP answers with a permanent redirect to the same path over HTTPS, and nothing else.
    plain = requests.get(f"http://127.0.0.1:{http_port}/crm/contacts/?x=1", allow_redirects=False, timeout=10)
    assert plain.status_code == 301
    assert plain.headers["Location"] == f"https://127.0.0.1:{https_port}/crm/contacts/?x=1"
    # Another Host name gets no answer (nginx's catch-all server): over HTTP, over HTTPS with the
    # site's name in the handshake, and over HTTPS asked by address (no name: handshake refused).
    foreign = {"Host": "inconnu.example"}
    for url in (
        f"http://127.0.0.1:{http_port}/",
        f"https://localhost:{https_port}/",
        f"https://127.0.0.1:{https_port}/",
    ):
        with pytest.raises(requests.ConnectionError):
            requests.get(url, headers=foreign, allow_redirects=False, timeout=10, verify=str(cert))
    assert "inconnu.example" not in running.logs()["web"]  # Django never saw them

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
    page.fill("#id_password", stack.PASSWORD)
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
    page.fill("#id_ca_file", running.ca_file)
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

    (event,) = stack.until(60, pushed, "the activity in the mailbox")
    push_seconds = time.monotonic() - sent_at
    assert event["start"]["dateTime"].startswith(f"{day:%Y-%m-%d}")

    # The mailbox is subscribed to change notifications (validated by "Graph" through nginx).
    def subscribed():
        listing = control.get(f"{emulator_url}/_emulator/subscriptions", timeout=10).json()["subscriptions"]
        return [sub for sub in listing if sub.get("mailbox") == MAILBOX and sub["notificationUrl"].startswith(base)]

    assert len(stack.until(30, subscribed, "the mailbox's subscriptions")) == 2  # events, the Contacts folder

    # A contact added in "Outlook" appears in the contact search, brought by its notification.
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

    stack.until(60, listed, "the Outlook contact in Prextra")
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

    # Through the real nginx: the client is the address nginx saw (PREXTRA_TRUSTED_PROXY_HOPS=1).
    # Two clients of this machine, 127.0.0.2 and 127.0.0.3: one's failures never lock out the other,
    # and a forged X-Forwarded-For neither escapes nor resets its lock-out.
    client_a, client_b = stack.client_from("127.0.0.2", cert), stack.client_from("127.0.0.3", cert)
    for _attempt in range(5):
        assert stack.sign_in(client_a, base, "ADMIN", "mauvais-mot-de-passe") == "refused"
    assert stack.sign_in(client_a, base, "ADMIN", stack.PASSWORD) == "throttled"
    assert stack.sign_in(client_b, base, "ADMIN", stack.PASSWORD) == "signed in"
    forged = {"X-Forwarded-For": "203.0.113.9"}
    assert stack.sign_in(client_a, base, "ADMIN", stack.PASSWORD, headers=forged) == "throttled"
    assert (
        stack.sign_in(stack.client_from("127.0.0.2", cert), base, "ADMIN", stack.PASSWORD, headers=forged)
        == "throttled"
    )

    syncs = stack.count(running.database_url, "SELECT count(*) FROM exchange_syncrun WHERE result = 'success'")
    failed = stack.count(running.database_url, "SELECT count(*) FROM exchange_syncrun WHERE result = 'failed'")
    assert syncs >= 2 and failed == 0, (syncs, failed)
    # The contact came with its change notification (through nginx), not with a poll.
    notified = stack.count(
        running.database_url,
        "SELECT count(*) FROM exchange_syncrun"
        " WHERE trigger = 'notified' AND direction = 'contacts_in' AND created > 0",
    )
    assert notified >= 1
    return syncs, push_seconds, pull_seconds
