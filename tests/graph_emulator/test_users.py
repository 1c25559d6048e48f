"""Users as the directory knows them (UPN ≠ primary SMTP, aliases) and the app's permissions."""

from __future__ import annotations

import base64
import json
import uuid

import pytest

from graph_emulator import GraphEmulator
from graph_emulator.testing import SCOPE, make_app, make_session

from .helpers import graph_error, new_event


@pytest.fixture
def person(emulator):
    """A mailbox whose UPN is on the tenant's initial domain, with one alias."""
    tag = uuid.uuid4().hex[:8]
    return emulator.add_mailbox(f"jdoe.{tag}@prextra-demo.ca", aliases=[f"john.{tag}@prextra.ca"])


def test_the_default_upn_is_not_the_smtp_address(person):
    assert person["userPrincipalName"].endswith("@prextra-demo.onmicrosoft.com")
    assert person["userPrincipalName"] != person["address"]


def test_a_user_is_found_by_id_or_upn_but_not_by_its_smtp_address(emulator, graph, person):
    """user-get: GET /users/{id | userPrincipalName}; the primary SMTP address is neither."""
    for key in (person["id"], person["userPrincipalName"]):
        body = graph.get(f"{emulator.graph_url}/users/{key}").json()
        assert body["id"] == person["id"] and body["mail"] == person["address"]
        assert "proxyAddresses" not in body  # returned only on $select
    response = graph.get(f"{emulator.graph_url}/users/{person['address']}")
    assert response.status_code == 404 and graph_error(response)["code"] == "Request_ResourceNotFound"
    response = graph.get(f"{emulator.graph_url}/users/{person['address']}/contacts")
    assert response.status_code == 404 and graph_error(response)["code"] == "ErrorInvalidUser"
    assert graph.get(f"{emulator.graph_url}/users/{person['id']}/contacts").status_code == 200


def test_filter_by_mail_or_by_alias_in_proxy_addresses(emulator, graph, person):
    select = "id,userPrincipalName,mail,proxyAddresses,displayName"
    by_mail = graph.get(
        f"{emulator.graph_url}/users", params={"$filter": f"mail eq '{person['address'].upper()}'", "$select": select}
    ).json()["value"]
    assert [user["id"] for user in by_mail] == [person["id"]]
    assert f"SMTP:{person['address']}" in by_mail[0]["proxyAddresses"]
    alias = person["aliases"][0]
    by_alias = graph.get(
        f"{emulator.graph_url}/users",
        params={"$filter": f"proxyAddresses/any(x:x eq 'smtp:{alias}')", "$select": "id", "$count": "true"},
        headers={"ConsistencyLevel": "eventual"},
    ).json()
    assert by_alias["value"] == [{"id": person["id"]}] and by_alias["@odata.count"] == 1
    nobody = graph.get(f"{emulator.graph_url}/users", params={"$filter": "mail eq 'personne@prextra-demo.ca'"})
    assert nobody.json()["value"] == []


def test_unsupported_filters_and_count_without_eventual_consistency_are_refused(emulator, graph):
    response = graph.get(f"{emulator.graph_url}/users", params={"$filter": "jobTitle eq 'x'"})
    assert response.status_code == 400 and graph_error(response)["code"] == "Request_UnsupportedQuery"
    response = graph.get(f"{emulator.graph_url}/users", params={"$filter": "mail eq 'a@b.c'", "$count": "true"})
    assert response.status_code == 400


@pytest.fixture(scope="module")
def consent():
    """An emulator of its own: its app's consented permissions change from test to test."""
    with GraphEmulator() as running:
        running.add_mailbox("perm@prextra-demo.ca", upn="perm@prextra-demo.ca")
        yield running


def _session_with_roles(emulator: GraphEmulator, roles: list[str]):
    emulator.set_roles(roles)
    session = make_session(emulator.ca_file)
    token = make_app(emulator, session).acquire_token_for_client(SCOPE)["access_token"]
    session.headers["Authorization"] = f"Bearer {token}"
    payload = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    return session, payload


def test_without_admin_consent_the_token_has_no_roles_and_graph_answers_401(consent):
    session, claims = _session_with_roles(consent, [])
    with session:
        assert "roles" not in claims
        response = session.get(f"{consent.graph_url}/users/perm@prextra-demo.ca/contacts")
        assert response.status_code == 401 and graph_error(response)["code"] == "NoPermissionsInAccessToken"


def test_each_endpoint_needs_its_own_permission(consent):
    session, claims = _session_with_roles(consent, ["Contacts.Read", "Calendars.Read"])
    user = f"{consent.graph_url}/users/perm@prextra-demo.ca"
    with session:
        assert claims["roles"] == ["Contacts.Read", "Calendars.Read"]
        assert session.get(f"{user}/contacts").status_code == 200
        assert session.get(f"{user}/events").status_code == 200
        refused = [
            session.post(f"{user}/contacts", json={"givenName": "X"}),
            session.post(f"{user}/events", json=new_event()),
        ]
        assert [(r.status_code, graph_error(r)["code"]) for r in refused] == [(403, "ErrorAccessDenied")] * 2
        response = session.get(f"{consent.graph_url}/users", params={"$filter": "mail eq 'perm@prextra-demo.ca'"})
        assert response.status_code == 403 and graph_error(response)["code"] == "Authorization_RequestDenied"
        batch = session.post(
            f"{consent.graph_url}/$batch",
            json={"requests": [{"id": "1", "method": "DELETE", "url": "/users/perm@prextra-demo.ca/events/AAMkAAAA"}]},
        ).json()
        assert batch["responses"][0]["status"] == 403  # inner requests carry the token's permissions


def test_roles_are_set_through_the_control_api(consent):
    url = f"{consent.base_url}/_emulator/app/roles"
    with make_session(consent.ca_file) as control:
        assert control.put(url, json={"roles": ["User.Read.All"]}).json() == {"roles": ["User.Read.All"]}
        assert control.get(url).json()["roles"] == ["User.Read.All"]
        assert control.put(url, json={"roles": "all"}).status_code == 400


def test_upn_and_aliases_survive_a_save_and_an_older_state_keeps_its_address_as_upn(tmp_path):
    from graph_emulator import state
    from graph_emulator.store import Store

    store = Store()
    box = store.add_mailbox("jdoe@prextra-demo.ca", upn="jdoe@contoso.onmicrosoft.com", aliases=["john@prextra.ca"])
    path = tmp_path / "state.json"
    state.write_atomically(path, state.dump(store))
    data = json.loads(path.read_text())
    old = {key: value for key, value in data["mailboxes"][0].items() if key not in {"upn", "aliases"}}
    loaded, older = Store(), Store()
    state.load(loaded, path)
    path.write_text(json.dumps({**data, "mailboxes": [old]}))
    state.load(older, path)
    assert loaded.find_user("jdoe@contoso.onmicrosoft.com").id == box.id
    assert loaded.find_mailbox("john@prextra.ca").id == box.id and loaded.find_user("john@prextra.ca") is None
    assert older.find_user("jdoe@prextra-demo.ca").id == box.id  # a file from before UPNs: the address serves
