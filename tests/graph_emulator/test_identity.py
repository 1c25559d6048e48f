"""Identity: OIDC discovery and the client-credentials token endpoint, as msal uses them.

Documented behaviour: https://learn.microsoft.com/entra/identity-platform/v2-oauth2-client-creds-grant-flow
(token request/response and errors) and docs/graph-notes.md §9 (what msal 1.39 reads and sends);
Graph's 401 InvalidAuthenticationToken: https://learn.microsoft.com/graph/errors.
"""

from __future__ import annotations

import base64
import os

import msal
import pytest

from graph_emulator import GraphEmulator
from graph_emulator.testing import SCOPE, make_app, make_session

from .helpers import graph_error


def test_msal_obtains_a_token_with_only_authority_and_ca_changed(emulator):
    """client-creds-grant-flow "successful response": Bearer token, expires_in 3599."""
    with make_session(emulator.ca_file) as session:
        result = make_app(emulator, session).acquire_token_for_client(SCOPE)
    assert result["token_type"] == "Bearer"
    assert result["expires_in"] == 3599
    assert result["access_token"].count(".") == 2


def test_requests_ca_bundle_does_not_break_the_trust_env_false_session(emulator):
    """docs/graph-notes.md §0.9: REQUESTS_CA_BUNDLE is set here; a trust_env=False session still verifies our CA."""
    assert os.environ.get("REQUESTS_CA_BUNDLE")  # the trap is really present on this machine
    with make_session(emulator.ca_file) as session:
        response = session.get(f"{emulator.authority}/v2.0/.well-known/openid-configuration")
    assert response.status_code == 200


def test_discovery_document_advertises_https_endpoints_of_the_tenant(emulator, anonymous):
    """OIDC discovery (v2-protocols-oidc): msal needs authorization_endpoint and an https token_endpoint."""
    doc = anonymous.get(f"{emulator.authority}/v2.0/.well-known/openid-configuration").json()
    assert doc["token_endpoint"] == f"{emulator.authority}/oauth2/v2.0/token"
    assert doc["authorization_endpoint"].startswith("https://")
    assert doc["issuer"].endswith("/v2.0")


def test_msal_reuses_its_cached_token(emulator):
    """docs/graph-notes.md §0.10: acquire_token_for_client answers from the app's cache until 5 min before expiry."""
    before = emulator.log.next_index()
    with make_session(emulator.ca_file) as session:
        app = make_app(emulator, session)
        sources = [app.acquire_token_for_client(SCOPE)["token_source"] for _ in range(3)]
    assert sources == ["identity_provider", "cache", "cache"]
    posts = [e for e in emulator.requests_log(before) if e["path"].endswith("/oauth2/v2.0/token")]
    assert len(posts) == 1


def test_wrong_secret_is_invalid_client_aadsts7000215(emulator):
    """client-creds-grant-flow "error response": invalid_client, AADSTS7000215 for a bad secret."""
    with make_session(emulator.ca_file) as session:
        result = make_app(emulator, session, secret="not-the-secret").acquire_token_for_client(SCOPE)
    assert result["error"] == "invalid_client"
    assert result["error_codes"] == [7000215]
    assert result["error_description"].startswith("AADSTS7000215:")
    assert {"timestamp", "trace_id", "correlation_id"} <= set(result)


def test_unknown_client_id_is_unauthorized_client_aadsts700016(emulator):
    """Entra error codes: AADSTS700016, application not found in the directory."""
    with make_session(emulator.ca_file) as session:
        result = make_app(emulator, session, client_id="someone-else").acquire_token_for_client(SCOPE)
    assert result["error"] == "unauthorized_client"
    assert result["error_codes"] == [700016]


def test_unknown_tenant_makes_msal_refuse_the_authority(emulator):
    """docs/graph-notes.md §9: a 4xx on discovery raises ValueError in the msal constructor."""
    with make_session(emulator.ca_file) as session, pytest.raises(ValueError):
        make_app(emulator, session, authority=f"{emulator.base_url}/no-such-tenant")


def test_tenant_may_be_named_by_its_guid(emulator):
    """The {tenant} path segment is a GUID or a domain name (client-creds-grant-flow)."""
    with make_session(emulator.ca_file) as session:
        app = make_app(emulator, session, authority=f"{emulator.base_url}/{emulator.identity.tenant_id}")
        assert "access_token" in app.acquire_token_for_client(SCOPE)


def test_scope_must_end_with_default(emulator, anonymous):
    """client-creds-grant-flow: the scope must be `{resource}/.default` (AADSTS1002012)."""
    form = {
        "client_id": emulator.identity.client_id,
        "client_secret": emulator.identity.client_secret,
        "grant_type": "client_credentials",
        "scope": "https://graph.microsoft.com/Contacts.Read",
    }
    response = anonymous.post(f"{emulator.authority}/oauth2/v2.0/token", data=form)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"


def test_extra_form_fields_and_basic_auth_are_accepted(emulator, anonymous):
    """msal sends client_info=1 (and claims when asked); HTTP Basic may carry the secret."""
    identity = emulator.identity
    basic = base64.b64encode(f"{identity.client_id}:{identity.client_secret}".encode()).decode()
    form = {"grant_type": "client_credentials", "scope": SCOPE[0], "client_info": "1", "claims": "{}"}
    response = anonymous.post(
        f"{emulator.authority}/oauth2/v2.0/token", data=form, headers={"Authorization": f"Basic {basic}"}
    )
    assert response.status_code == 200
    assert response.json()["ext_expires_in"] == 3599


def test_graph_call_without_token_is_401_invalid_authentication_token(emulator, anonymous, address):
    """Graph errors doc: 401 InvalidAuthenticationToken with Graph's error body and WWW-Authenticate."""
    response = anonymous.get(f"{emulator.graph_url}/users/{address}/contacts")
    assert response.status_code == 401
    assert graph_error(response)["code"] == "InvalidAuthenticationToken"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_forged_token_is_rejected(emulator, anonymous, address, token):
    """A token the issuer did not sign fails validation (401)."""
    header, claims, _signature = token.split(".")
    response = anonymous.get(
        f"{emulator.graph_url}/users/{address}/contacts", headers={"Authorization": f"Bearer {header}.{claims}.AAAA"}
    )
    assert response.status_code == 401


def test_revoked_and_expired_tokens_are_401_then_msal_gets_a_new_one():
    """A revoked or expired token gives 401 "Access token has expired or is not yet valid."."""
    with GraphEmulator(token_lifetime=1) as emulator, make_session(emulator.ca_file) as session:
        emulator.add_mailbox("a@prextra-demo.ca")
        url = f"{emulator.graph_url}/users/{emulator.mailbox('a@prextra-demo.ca').id}/contacts"
        first = make_app(emulator, session).acquire_token_for_client(SCOPE)["access_token"]
        emulator.revoke_tokens()
        response = session.get(url, headers={"Authorization": f"Bearer {first}"})
        assert response.status_code == 401
        assert "expired" in graph_error(response)["message"]
        # expires_in < 300 means msal never reuses it (docs/graph-notes.md §0.10): a fresh one works
        second = make_app(emulator, session).acquire_token_for_client(SCOPE)["access_token"]
        assert session.get(url, headers={"Authorization": f"Bearer {second}"}).status_code == 200


def test_msal_refuses_plain_http_so_the_emulator_is_https(emulator):
    """docs/graph-notes.md §0.8: msal rejects http:// authorities before any network call."""
    with make_session(emulator.ca_file) as session, pytest.raises(ValueError):
        msal.ConfidentialClientApplication(
            "x", client_credential="y", authority=f"http://{emulator.netloc}/t", http_client=session
        )
    assert emulator.base_url.startswith("https://")
