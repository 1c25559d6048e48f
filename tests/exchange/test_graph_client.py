"""The product's Graph client against the emulator: msal tokens, retries, typed errors in words."""

from __future__ import annotations

import socket
import threading
import time

import pytest
from django.urls import reverse

from exchange.graph import errors
from exchange.graph.client import GraphClient, GraphSettings, prefetched
from exchange.sync.contacts import sync_contacts

from .tunnel_proxy import TunnelProxy


def _settings(emulator, **overrides) -> GraphSettings:
    values = {
        "tenant_id": "prextra-demo",
        "client_id": "prextra-sync-demo",
        "client_secret": "demo-secret",
        "authority_host": emulator.base_url,
        "graph_url": emulator.graph_url,
        "ca_file": str(emulator.ca_file),
        "max_retries": 2,
    }
    return GraphSettings(**{**values, **overrides})


def _client(emulator, **overrides) -> GraphClient:
    client = GraphClient(_settings(emulator, **overrides), sleep=lambda seconds: client.slept.append(seconds))
    client.slept = []
    return client


def test_msal_obtains_a_token_through_the_products_client(graph_emulator):
    assert _client(graph_emulator).token()


def test_the_environments_ca_bundle_does_not_override_the_trusted_ca(graph_emulator, monkeypatch):
    # docs/graph-notes.md §0.9: REQUESTS_CA_BUNDLE silently beats Session.verify unless trust_env is off.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    monkeypatch.setenv("CURL_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt")
    client = _client(graph_emulator, timeout=29.0)  # another cache key: a fresh msal app and session
    assert client.token()


def test_the_secret_never_appears_in_the_settings_repr(graph_emulator):
    assert "demo-secret" not in repr(_settings(graph_emulator))


def test_wrong_secret_is_told_plainly(graph_emulator):
    with pytest.raises(errors.GraphAuthError, match="Le secret client est invalide"):
        _client(graph_emulator, client_secret="mauvais").token()


def test_unknown_application_is_told_plainly(graph_emulator):
    with pytest.raises(errors.GraphAuthError) as failure:
        _client(graph_emulator, client_id="inconnue").token()
    assert not failure.value.transient


def test_untrusted_certificate_is_told_plainly(graph_emulator):
    with pytest.raises(errors.CertificateError, match="certificat"):
        _client(graph_emulator, ca_file="/etc/ssl/certs/ca-certificates.crt").token()


def test_unreachable_service_is_a_temporary_failure(graph_emulator):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"https://127.0.0.1:{port}"
    with pytest.raises(errors.GraphUnavailableError) as failure:
        _client(graph_emulator, authority_host=url, graph_url=f"{url}/v1.0").token()
    assert failure.value.transient


def test_unknown_mailbox_is_told_plainly(graph_emulator):
    with pytest.raises(errors.MailboxNotFoundError, match="Boîte aux lettres introuvable"):
        _client(graph_emulator).probe_mailbox("personne@prextra-demo.ca")


def test_unknown_item_is_item_not_found(graph_emulator):
    graph_emulator.add_mailbox("items@prextra-demo.ca", upn="items@prextra-demo.ca")
    with pytest.raises(errors.ItemNotFoundError):
        _client(graph_emulator).request("GET", "/users/items@prextra-demo.ca/contacts/AAMkAGVmMDEzMTM4LTZmYWUtNDdkNC1h")


def test_throttling_waits_for_retry_after_then_succeeds(graph_emulator):
    graph_emulator.add_mailbox("throttle@prextra-demo.ca", upn="throttle@prextra-demo.ca")
    graph_emulator.inject_fault("throttle", method="GET", path="/contacts", count=1, retry_after=3)
    client = _client(graph_emulator)
    client.probe_mailbox("throttle@prextra-demo.ca")
    assert client.slept == [3.0]


def test_a_retry_after_longer_than_the_cap_defers_instead_of_retrying_early(graph_emulator):
    """throttling guidance: wait the full Retry-After; the client raises it to defer the run."""
    graph_emulator.add_mailbox("long-wait@prextra-demo.ca")
    graph_emulator.inject_fault("throttle", method="GET", path="/long-wait@.*/contacts", count=1, retry_after=600)
    client = _client(graph_emulator)
    with pytest.raises(errors.ThrottledError) as failure:
        client.probe_mailbox("long-wait@prextra-demo.ca")
    assert failure.value.transient and failure.value.retry_after == 600
    assert client.slept == [] and client.request_count == 1
    with pytest.raises(errors.ThrottledError) as again:  # nothing is sent before the moment Graph named
        client.probe_mailbox("long-wait@prextra-demo.ca")
    assert client.request_count == 1 and 590 < again.value.retry_after <= 600


def test_a_412_on_a_get_is_retried_as_transient(graph_emulator):
    """learn.microsoft.com/answers/questions/271870: a few plain GETs get 412 ErrorIrresolvableConflict."""
    graph_emulator.add_mailbox("get412@prextra-demo.ca", upn="get412@prextra-demo.ca")
    spec = {"method": "GET", "path": "/get412@.*/contacts", "status": 412, "code": "ErrorIrresolvableConflict"}
    graph_emulator.inject_fault("error", count=1, **spec)
    client = _client(graph_emulator)
    client.probe_mailbox("get412@prextra-demo.ca")
    assert len(client.slept) == 1
    graph_emulator.inject_fault("error", count=None, **spec)
    try:
        with pytest.raises(errors.ChangeConflictError) as failure:
            client.probe_mailbox("get412@prextra-demo.ca")
    finally:
        graph_emulator.clear_faults()
    assert failure.value.transient and len(client.slept) == 3


def test_a_412_on_a_patch_is_still_a_conflict(graph_emulator):
    graph_emulator.add_mailbox("patch412@prextra-demo.ca")
    graph_emulator.inject_fault("error", method="PATCH", status=412, code="ErrorIrresolvableConflict")
    client = _client(graph_emulator)
    with pytest.raises(errors.ChangeConflictError) as failure:
        client.request("PATCH", "/users/patch412@prextra-demo.ca/events/AAMkAGVmMDEzMTM4LTZm", json={"subject": "Y"})
    assert not failure.value.transient and client.slept == []


def test_retries_are_bounded(graph_emulator):
    graph_emulator.add_mailbox("down@prextra-demo.ca", upn="down@prextra-demo.ca")
    graph_emulator.inject_fault("unavailable", method="GET", path="/contacts", count=None)
    client = _client(graph_emulator)
    try:
        with pytest.raises(errors.GraphUnavailableError) as failure:
            client.probe_mailbox("down@prextra-demo.ca")
    finally:
        graph_emulator.clear_faults()
    assert failure.value.transient
    assert len(client.slept) == 2  # max_retries


def test_revoked_token_is_refreshed_once(graph_emulator):
    """A token revoked before it expires is answered 401: the client fetches one new token and the
    refused call then succeeds (a single refresh per call; docs/graph-notes.md §10, "Auth on Graph")."""
    graph_emulator.add_mailbox("revoked@prextra-demo.ca", upn="revoked@prextra-demo.ca")
    client = _client(graph_emulator)
    client.probe_mailbox("revoked@prextra-demo.ca")
    graph_emulator.revoke_tokens()
    before = graph_emulator.log.next_index()
    client.probe_mailbox("revoked@prextra-demo.ca")
    served = [
        (entry["method"], entry["path"].rsplit("/", 1)[-1], entry["status"])
        for entry in graph_emulator.requests_log(before)
    ]
    # The 401 costs one token request and one repeat of the refused call; nothing is retried twice.
    assert served == [
        ("GET", "contacts", 401),
        ("POST", "token", 200),
        ("GET", "contacts", 200),
        ("GET", "events", 200),
    ]


def test_every_request_asks_for_immutable_ids(graph_emulator):
    graph_emulator.add_mailbox("immutable@prextra-demo.ca", upn="immutable@prextra-demo.ca")
    client = _client(graph_emulator)
    sent = []
    original = client.session.request

    def spy(method, url, **kwargs):
        sent.append(kwargs["headers"]["Prefer"])
        return original(method, url, **kwargs)

    client.session.request = spy
    try:
        client.probe_mailbox("immutable@prextra-demo.ca")
        list(client.contacts_delta("immutable@prextra-demo.ca"))
    finally:
        client.session.request = original
    assert sent and all('IdType="ImmutableId"' in prefer for prefer in sent)


@pytest.mark.django_db
def test_connection_test_screen_reads_the_mailbox(client, admin_user, connection, graph_emulator):
    graph_emulator.add_mailbox("alice@prextra.test")
    client.force_login(admin_user)
    response = client.post(reverse("graph_connection_test"), {"mailbox": "alice@prextra.test"}, HTTP_HX_REQUEST="true")
    page = response.content.decode()
    # Found by its SMTP address although its UPN is another one (the emulator's default).
    assert "Connexion réussie : jeton obtenu et boîte alice@prextra.test lue" in page
    assert "(utilisateur alice@prextra-demo.onmicrosoft.com)" in page
    connection.refresh_from_db()
    assert connection.last_test_ok


@pytest.mark.django_db
def test_connection_test_screen_explains_a_bad_secret(client, admin_user, connection):
    connection.set_secret("mauvais")
    connection.save()
    client.force_login(admin_user)
    response = client.post(reverse("graph_connection_test"), {"mailbox": ""}, follow=True)
    page = response.content.decode()
    assert "Le secret client est invalide ou expiré" in page
    assert "mauvais" not in page


def _pages(log: list, count: int, fail_at: int | None = None):
    for number in range(count):
        log.append(f"read {number}")
        if number == fail_at:
            raise errors.DeltaExpiredError("410")
        yield number


def test_prefetched_pages_come_in_order_with_at_most_one_read_ahead():
    log: list[str] = []
    for page in prefetched(_pages(log, 5)):
        time.sleep(0.02)  # the caller's work on this page, while the next one is read
        assert f"read {page}" in log
        assert f"read {page + 2}" not in log  # never more than the next page waits
        log.append(f"stored {page}")
    assert [entry for entry in log if entry.startswith("stored")] == [f"stored {n}" for n in range(5)]


def test_prefetched_raises_a_reading_error_when_its_page_is_asked_for():
    seen = []
    with pytest.raises(errors.DeltaExpiredError):
        for page in prefetched(_pages([], 5, fail_at=3)):
            seen.append(page)
    assert seen == [0, 1, 2]  # the pages before the failure were all delivered, in order


def test_prefetched_stops_reading_when_the_caller_stops():
    log: list[str] = []
    for page in prefetched(_pages(log, 1000)):
        if page == 2:
            break
    time.sleep(0.2)
    assert len([entry for entry in log if entry.startswith("read")]) <= 5
    assert not [thread for thread in threading.enumerate() if thread.name == "graph-prefetch"]


# --- outbound proxy (PREXTRA_GRAPH_PROXY, HTTPS_PROXY) ---------------------------------------------------------


def _split_hosts(emulator, **overrides) -> GraphClient:
    """Tokens from https://localhost:PORT, Graph at https://127.0.0.1:PORT: two tunnels to tell apart."""
    return _client(emulator, authority_host=f"https://localhost:{emulator.port}", **overrides)


def test_an_explicit_proxy_carries_the_token_and_the_graph_requests(graph_emulator):
    graph_emulator.add_mailbox("proxied@prextra-demo.ca", upn="proxied@prextra-demo.ca")
    with TunnelProxy() as proxy:
        _split_hosts(graph_emulator, proxy=proxy.url).probe_mailbox("proxied@prextra-demo.ca")
    port = graph_emulator.port
    assert {f"localhost:{port}", f"127.0.0.1:{port}"} <= set(proxy.targets)


def test_the_standard_proxy_variables_are_honoured_and_no_proxy_goes_direct(graph_emulator, monkeypatch):
    graph_emulator.add_mailbox("env-proxy@prextra-demo.ca", upn="env-proxy@prextra-demo.ca")
    port = graph_emulator.port
    with TunnelProxy() as proxy:
        _split_hosts(graph_emulator, timeout=28.0).probe_mailbox("env-proxy@prextra-demo.ca")
        assert proxy.targets == []  # no variable, no setting: direct
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        _split_hosts(graph_emulator, timeout=27.0).probe_mailbox("env-proxy@prextra-demo.ca")
        assert {f"localhost:{port}", f"127.0.0.1:{port}"} <= set(proxy.targets)
        monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
        tunnels = len(proxy.targets)
        _split_hosts(graph_emulator, timeout=26.0).probe_mailbox("env-proxy@prextra-demo.ca")
        assert len(proxy.targets) == tunnels


def test_the_explicit_proxy_wins_over_the_variables(graph_emulator, monkeypatch):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}"
    monkeypatch.setenv("HTTPS_PROXY", dead)
    with TunnelProxy() as proxy:
        assert _client(graph_emulator, timeout=25.0, proxy=proxy.url).token()
    assert proxy.targets


def test_a_sync_runs_through_the_configured_proxy(connection, mailbox_user, outlook, settings):
    outlook.add_contact("Luc", "Roy", "luc.roy@finloc.com")
    with TunnelProxy() as proxy:
        settings.PREXTRA_GRAPH_PROXY = proxy.url
        client = GraphClient(GraphSettings.from_connection(connection))
        run = sync_contacts(mailbox_user, client=client)
    assert (run.result, run.created + run.skipped) == ("success", 1)
    assert f"127.0.0.1:{connection.graph_url.split(':')[2].split('/')[0]}" in proxy.targets
