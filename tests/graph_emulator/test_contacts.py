"""Contacts: list, get, create, update, delete, folders, paging, $select, $filter and errors.

Documented behaviour: https://learn.microsoft.com/graph/api/user-list-contacts,
https://learn.microsoft.com/graph/api/user-post-contacts, https://learn.microsoft.com/graph/api/contact-update,
https://learn.microsoft.com/graph/api/contact-delete, https://learn.microsoft.com/graph/api/resources/contact,
https://learn.microsoft.com/graph/api/user-list-contactfolders, https://learn.microsoft.com/graph/paging,
https://learn.microsoft.com/graph/errors.
"""

from __future__ import annotations

import json

from .helpers import graph_error


def _create(graph, user_url, **fields):
    body = {"givenName": "Marie", "surname": "Tremblay", "emailAddresses": [{"address": "marie@tremblay.ca"}]}
    body.update(fields)
    response = graph.post(f"{user_url}/contacts", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def test_create_returns_201_with_the_full_contact(graph, user_url):
    """user-post-contacts: 201 Created and the contact, with id, changeKey, etag and timestamps."""
    contact = _create(graph, user_url, companyName="Béton Gagnon")
    assert contact["displayName"] == "Marie Tremblay"
    assert contact["@odata.etag"] == f'W/"{contact["changeKey"]}"'
    assert contact["createdDateTime"].endswith("Z") and len(contact["createdDateTime"]) == 28
    assert contact["emailAddresses"] == [{"name": "marie@tremblay.ca", "address": "marie@tremblay.ca"}]
    assert contact["homeAddress"] == {} and contact["businessPhones"] == []


def test_get_by_id_and_by_upn_or_user_id(emulator, graph, user_url, address):
    """Mailbox paths accept the user id (GUID) or the userPrincipalName, also percent-encoded."""
    contact = _create(graph, user_url)
    user_id = emulator.mailbox(address).id
    for user in (address, address.replace("@", "%40"), user_id, address.upper()):
        response = graph.get(f"{emulator.graph_url}/users/{user}/contacts/{contact['id']}")
        assert response.status_code == 200
        assert response.json()["id"] == contact["id"]


def test_users_key_segment_form_is_accepted(emulator, graph, user_url, address):
    """OData key syntax users('{upn}') addresses the same mailbox as users/{upn}."""
    contact = _create(graph, user_url)
    response = graph.get(f"{emulator.graph_url}/users('{address}')/contacts")
    assert [c["id"] for c in response.json()["value"]] == [contact["id"]]


def test_update_changes_change_key_etag_and_last_modified(graph, user_url):
    """contact-update: 200 with the updated contact; every change gets a new changeKey."""
    contact = _create(graph, user_url)
    response = graph.patch(f"{user_url}/contacts/{contact['id']}", json={"jobTitle": "Estimateur"})
    assert response.status_code == 200
    updated = response.json()
    assert updated["jobTitle"] == "Estimateur"
    assert updated["changeKey"] != contact["changeKey"]
    assert updated["@odata.etag"] != contact["@odata.etag"]
    assert updated["lastModifiedDateTime"] >= contact["lastModifiedDateTime"]
    assert updated["createdDateTime"] == contact["createdDateTime"]


def test_stale_if_match_is_412_error_irresolvable_conflict(graph, user_url):
    """docs/graph-notes.md §4.2: a stale change key in If-Match gives 412 ErrorIrresolvableConflict."""
    contact = _create(graph, user_url)
    graph.patch(f"{user_url}/contacts/{contact['id']}", json={"jobTitle": "A"})
    response = graph.patch(
        f"{user_url}/contacts/{contact['id']}", json={"jobTitle": "B"}, headers={"If-Match": contact["@odata.etag"]}
    )
    assert response.status_code == 412
    assert graph_error(response)["code"] == "ErrorIrresolvableConflict"


def test_delete_is_204_then_404_error_item_not_found(graph, user_url):
    """contact-delete: 204 No Content; afterwards the item is ErrorItemNotFound (404)."""
    contact = _create(graph, user_url)
    assert graph.delete(f"{user_url}/contacts/{contact['id']}").status_code == 204
    response = graph.get(f"{user_url}/contacts/{contact['id']}")
    assert response.status_code == 404
    error = graph_error(response)
    assert error["code"] == "ErrorItemNotFound"
    assert error["message"] == "The specified object was not found in the store."


def test_malformed_id_is_400_error_invalid_id_malformed(graph, user_url):
    """Outlook rejects an id it cannot parse (ErrorInvalidIdMalformed) rather than searching for it."""
    response = graph.get(f"{user_url}/contacts/not-an-id")
    assert response.status_code == 400
    assert graph_error(response)["code"] == "ErrorInvalidIdMalformed"


def test_unknown_mailbox_is_404_error_invalid_user(emulator, graph):
    """Observed Graph answer (microsoft-graph-docs issues #4097, #7909): 404 ErrorInvalidUser for an unknown mailbox."""
    response = graph.get(f"{emulator.graph_url}/users/nobody@prextra-demo.ca/contacts")
    assert response.status_code == 404
    error = graph_error(response)
    assert error["code"] == "ErrorInvalidUser"
    assert error["message"] == "The requested user 'nobody@prextra-demo.ca' is invalid."


def test_mailbox_without_rest_is_mailbox_not_enabled_for_rest_api(emulator, graph, anonymous, user_url, address):
    """docs/graph-notes.md §5: a user without an Exchange Online mailbox gives MailboxNotEnabledForRESTAPI."""
    anonymous.patch(f"{emulator.base_url}/_emulator/mailboxes/{address}", json={"restEnabled": False})
    response = graph.get(f"{user_url}/contacts")
    assert response.status_code == 404
    assert graph_error(response)["code"] == "MailboxNotEnabledForRESTAPI"


def test_error_echoes_client_request_id(graph, user_url):
    """errors doc: innerError carries request-id and the client's client-request-id."""
    response = graph.get(f"{user_url}/contacts/AAMkAAAA", headers={"client-request-id": "abc-123"})
    assert graph_error(response)["innerError"]["client-request-id"] == "abc-123"
    assert response.headers["client-request-id"] == "abc-123"
    assert response.headers["request-id"] == graph_error(response)["innerError"]["request-id"]


def test_list_pages_with_top_and_absolute_next_link(emulator, graph, user_url, address):
    """paging doc: follow @odata.nextLink, an absolute URL on the service's base, until it is absent."""
    emulator.seed(address, contacts=25, seed=3)
    url, seen, pages = f"{user_url}/contacts?$top=10", [], 0
    while url:
        body = graph.get(url).json()
        pages += 1
        seen += [c["id"] for c in body["value"]]
        url = body.get("@odata.nextLink")
        assert url is None or url.startswith(emulator.graph_url)
    assert pages == 3 and len(seen) == len(set(seen)) == 25


def test_default_page_size_is_10_and_maxpagesize_is_honoured(emulator, graph, user_url, address):
    """paging doc: Outlook's default page is 10; Prefer: odata.maxpagesize sets it."""
    emulator.seed(address, contacts=30, seed=4)
    assert len(graph.get(f"{user_url}/contacts").json()["value"]) == 10
    body = graph.get(f"{user_url}/contacts", headers={"Prefer": "odata.maxpagesize=25"}).json()
    assert len(body["value"]) == 25


def test_select_returns_only_chosen_properties_plus_id_and_etag(graph, user_url):
    """user-list-contacts supports $select; id and @odata.etag always come back."""
    _create(graph, user_url)
    item = graph.get(f"{user_url}/contacts?$select=givenName,emailAddresses").json()["value"][0]
    assert set(item) == {"@odata.etag", "id", "givenName", "emailAddresses"}


def test_select_of_unknown_property_is_400(graph, user_url):
    """OData: selecting a property the type lacks is a 400."""
    response = graph.get(f"{user_url}/contacts?$select=shoeSize")
    assert response.status_code == 400
    assert "shoeSize" in graph_error(response)["message"]


def test_filter_by_email_address(graph, user_url):
    """user-list-contacts: $filter=emailAddresses/any(a:a/address eq '…')."""
    _create(graph, user_url, emailAddresses=[{"address": "jean@roy.ca"}])
    _create(graph, user_url)
    url = f"{user_url}/contacts?$filter=emailAddresses/any(a:a/address eq 'JEAN@roy.ca')"
    assert [c["emailAddresses"][0]["address"] for c in graph.get(url).json()["value"]] == ["jean@roy.ca"]


def test_contact_folders_lists_children_of_the_default_folder(graph, user_url):
    """user-list-contactfolders: the collection *in* the default Contacts folder (empty at first)."""
    assert graph.get(f"{user_url}/contactFolders").json()["value"] == []
    default = graph.get(f"{user_url}/contactFolders/contacts").json()
    created = graph.post(f"{user_url}/contactFolders", json={"displayName": "Fournisseurs"}).json()
    listed = graph.get(f"{user_url}/contactFolders").json()["value"]
    assert [f["id"] for f in listed] == [created["id"]]
    assert created["parentFolderId"] == default["id"]


def test_contacts_list_reads_the_default_folder_only(graph, user_url):
    """user-list-contacts: /contacts is the default folder; other folders via contactFolders/{id}/contacts."""
    folder = graph.post(f"{user_url}/contactFolders", json={"displayName": "Autres"}).json()
    graph.post(f"{user_url}/contactFolders/{folder['id']}/contacts", json={"givenName": "Ailleurs"})
    mine = _create(graph, user_url)
    assert [c["id"] for c in graph.get(f"{user_url}/contacts").json()["value"]] == [mine["id"]]
    in_folder = graph.get(f"{user_url}/contactFolders/{folder['id']}/contacts").json()["value"]
    assert [c["givenName"] for c in in_folder] == ["Ailleurs"]
    assert in_folder[0]["parentFolderId"] == folder["id"]


def test_well_known_folder_name_contacts_addresses_the_default_folder(graph, user_url):
    """contactFolders/contacts is the default folder (well-known name)."""
    mine = _create(graph, user_url)
    listed = graph.get(f"{user_url}/contactFolders/contacts/contacts").json()["value"]
    assert [c["id"] for c in listed] == [mine["id"]]


def test_malformed_json_is_400_not_500(graph, user_url):
    """Graph answers 400 BadRequest "Unable to read JSON request payload" for invalid JSON."""
    response = graph.post(f"{user_url}/contacts", data=b"{not json", headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert graph_error(response)["code"] == "BadRequest"


def test_empty_body_is_400(graph, user_url):
    """Graph: "Empty Payload. JSON content expected."."""
    response = graph.post(f"{user_url}/contacts", data=b"", headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert "Empty Payload" in graph_error(response)["message"]


def test_unknown_property_is_400_request_body_read(graph, user_url):
    """OData: a property not defined by microsoft.graph.contact is RequestBodyRead."""
    response = graph.post(f"{user_url}/contacts", json={"givenName": "A", "shoeSize": 42})
    assert response.status_code == 400
    assert graph_error(response)["code"] == "RequestBodyRead"


def test_wrong_types_are_400_request_body_read(graph, user_url):
    """OData: a number for a string, a string for a collection, an array body: all RequestBodyRead."""
    for body in ({"givenName": 3}, {"businessPhones": "514"}, {"emailAddresses": [{"address": ["x"]}]}):
        response = graph.post(f"{user_url}/contacts", json=body)
        assert response.status_code == 400, body
        assert graph_error(response)["code"] == "RequestBodyRead"
    response = graph.post(f"{user_url}/contacts", data=json.dumps([1]), headers={"Content-Type": "application/json"})
    assert response.status_code == 400


def test_odata_type_and_echoed_read_only_properties_are_accepted(graph, user_url):
    """SDKs send @odata.type (and nested ones); an item read back can be PATCHed as is."""
    body = {
        "@odata.type": "#microsoft.graph.contact",
        "givenName": "Luc",
        "emailAddresses": [{"@odata.type": "#microsoft.graph.emailAddress", "address": "luc@roy.ca"}],
    }
    contact = graph.post(f"{user_url}/contacts", json=body).json()
    response = graph.patch(f"{user_url}/contacts/{contact['id']}", json=contact)
    assert response.status_code == 200


def test_wrong_odata_type_is_400(graph, user_url):
    """A body typed as another entity does not belong in the contacts collection."""
    response = graph.post(f"{user_url}/contacts", json={"@odata.type": "#microsoft.graph.event"})
    assert response.status_code == 400


def test_oversized_body_is_413_with_graph_error(graph, user_url):
    """errors doc: 413 Request Entity Too Large; never a 500."""
    response = graph.post(
        f"{user_url}/contacts",
        data=b"{" + b" " * (5 * 1024 * 1024) + b"}",
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert graph_error(response)["code"] == "RequestEntityTooLarge"


def test_unknown_segment_is_400_and_me_needs_delegated_auth(emulator, graph, user_url):
    """Graph: "Resource not found for the segment …"; /me is invalid with app-only tokens."""
    assert graph.get(f"{user_url}/mailFolders2").status_code == 400
    response = graph.get(f"{emulator.graph_url}/me/contacts")
    assert response.status_code == 400
    assert "delegated" in graph_error(response)["message"]


def test_wrong_method_is_405(graph, user_url):
    """A method the resource does not support is 405 with Graph's error body."""
    response = graph.put(f"{user_url}/contacts", json={})
    assert response.status_code == 405
    graph_error(response)
