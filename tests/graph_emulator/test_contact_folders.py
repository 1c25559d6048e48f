"""Contact folders as Exchange Online keeps them: a tree at any depth, per-folder delta, moves
and folder deletion.

Documented or reported behaviour: https://learn.microsoft.com/graph/api/user-list-contactfolders
(the folders *in* the default Contacts folder; corso pull request 1174: the default folder is not in
that listing), https://learn.microsoft.com/graph/api/contactfolder-list-childfolders,
https://learn.microsoft.com/graph/api/contact-delta (per folder; corso issue 3550: /contacts/delta
misses a nested folder's contact), https://learn.microsoft.com/graph/api/contactfolder-delta and
https://learn.microsoft.com/graph/outlook-immutable-id (a moved item keeps its id).
"""

from __future__ import annotations

from .helpers import collect_delta, graph_error


def _folder(graph, url, name):
    response = graph.post(url, json={"displayName": name})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def _contact(graph, url, name):
    response = graph.post(url, json={"givenName": name})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def test_child_folders_nest_at_any_depth_and_each_has_its_own_delta(graph, user_url):
    clients = _folder(graph, f"{user_url}/contactFolders", "Clients")
    quebec = _folder(graph, f"{user_url}/contactFolders/{clients}/childFolders", "Québec")
    deep = _folder(graph, f"{user_url}/contactFolders/{quebec}/childFolders", "Chantiers")
    nested = _contact(graph, f"{user_url}/contactFolders/{deep}/contacts", "Profond")
    default = _contact(graph, f"{user_url}/contacts", "Défaut")
    listed = graph.get(f"{user_url}/contactFolders/{clients}/childFolders").json()["value"]
    assert [f["id"] for f in listed] == [quebec]
    assert [f["id"] for f in graph.get(f"{user_url}/contactFolders").json()["value"]] == [clients]
    # The plain /contacts/delta covers the default folder only, as Graph's does.
    assert [i["id"] for i in collect_delta(graph, f"{user_url}/contacts/delta")[0]] == [default]
    items = collect_delta(graph, f"{user_url}/contactFolders/{deep}/contacts/delta")[0]
    assert [i["id"] for i in items] == [nested]
    via_child = graph.get(f"{user_url}/contactFolders/{quebec}/childFolders/{deep}/contacts").json()["value"]
    assert [c["id"] for c in via_child] == [nested]
    # GET /contacts/{id} reads a contact of any folder.
    assert graph.get(f"{user_url}/contacts/{nested}").json()["parentFolderId"] == deep


def test_a_move_is_removed_in_the_old_folder_and_new_in_the_other_with_the_same_id(emulator, graph, user_url, address):
    target = _folder(graph, f"{user_url}/contactFolders", "Fournisseurs")
    moved = _contact(graph, f"{user_url}/contacts", "Mobile")
    _items, old_link, _pages = collect_delta(graph, f"{user_url}/contacts/delta")
    _items, new_link, _pages = collect_delta(graph, f"{user_url}/contactFolders/{target}/contacts/delta")
    emulator.store.move_contact(emulator.mailbox(address), moved, target)
    assert collect_delta(graph, old_link)[0] == [
        {"@odata.type": "#microsoft.graph.contact", "id": moved, "@removed": {"reason": "deleted"}}
    ]
    arrived = collect_delta(graph, new_link)[0]
    assert [(i["id"], i["parentFolderId"]) for i in arrived] == [(moved, target)]


def test_deleting_a_folder_takes_its_subfolders_and_contacts_and_its_delta_then_404s(graph, user_url):
    top = _folder(graph, f"{user_url}/contactFolders", "Anciens")
    child = _folder(graph, f"{user_url}/contactFolders/{top}/childFolders", "Très anciens")
    gone = _contact(graph, f"{user_url}/contactFolders/{child}/contacts", "Parti")
    _items, link, _pages = collect_delta(graph, f"{user_url}/contactFolders/{child}/contacts/delta")
    assert graph.delete(f"{user_url}/contactFolders/{top}").status_code == 204
    assert graph_error(graph.get(f"{user_url}/contacts/{gone}"))["code"] == "ErrorItemNotFound"
    response = graph.get(link)
    assert response.status_code == 404 and graph_error(response)["code"] == "ErrorItemNotFound"
    assert graph.delete(f"{user_url}/contactFolders/contacts").status_code == 403


def test_folder_delta_lists_every_folder_flat_then_changes(emulator, graph, user_url, address):
    """contactfolder-delta covers the mailbox's contact folders, a top-level one beside Contacts too."""
    mailbox = emulator.mailbox(address)
    child = _folder(graph, f"{user_url}/contactFolders", "Clients")
    deep = _folder(graph, f"{user_url}/contactFolders/{child}/childFolders", "Montréal")
    other = emulator.store.create_folder(mailbox, "Carnet personnel", mailbox.root_folder_id)["id"]
    items, link, _pages = collect_delta(graph, f"{user_url}/contactFolders/delta")
    assert {i["id"] for i in items} == {mailbox.default_folder_id, child, deep, other}
    assert next(i for i in items if i["id"] == other)["parentFolderId"] == mailbox.root_folder_id
    graph.delete(f"{user_url}/contactFolders/{child}")
    changes = collect_delta(graph, link)[0]
    assert {(i["id"], "@removed" in i) for i in changes} == {(child, True), (deep, True)}


def test_control_api_files_moves_and_deletes(emulator, graph, user_url, address):
    control = f"{emulator.base_url}/_emulator/mailboxes/{address}"
    folder = graph.post(f"{control}/contactFolders", json={"displayName": "Hors arbre", "parentFolderId": "root"})
    assert folder.status_code == 201
    folder_id = folder.json()["id"]
    made = graph.post(f"{control}/contacts", json={"givenName": "Classé", "parentFolderId": folder_id}).json()
    assert made["parentFolderId"] == folder_id
    moved = graph.post(f"{control}/contacts/{made['id']}/move", json={"destinationId": "contacts"})
    assert moved.status_code == 404  # the destination is a folder id, as Outlook's own
    default = emulator.mailbox(address).default_folder_id
    moved = graph.post(f"{control}/contacts/{made['id']}/move", json={"destinationId": default})
    assert moved.json()["parentFolderId"] == default
    assert graph.delete(f"{control}/contactFolders/{folder_id}").status_code == 204


def test_a_folder_deleted_in_outlook_goes_to_deleted_items_and_its_delta_still_answers(
    emulator, graph, user_url, address
):
    """Outlook's delete moves the folder (ids unchanged) out of the contact tree, like events."""
    mailbox = emulator.mailbox(address)
    folder = _folder(graph, f"{user_url}/contactFolders", "Corbeille bientôt")
    kept = _contact(graph, f"{user_url}/contactFolders/{folder}/contacts", "Toujours là")
    control = f"{emulator.base_url}/_emulator/mailboxes/{address}/contactFolders/{folder}/move"
    moved = graph.post(control, json={"destinationId": "deleteditems"}).json()
    assert moved["parentFolderId"] == mailbox.deleted_items_id
    assert graph.get(f"{user_url}/contactFolders").json()["value"] == []
    assert graph.get(f"{user_url}/contacts/{kept}").status_code == 200
    items = collect_delta(graph, f"{user_url}/contactFolders/{folder}/contacts/delta")[0]
    assert [i["id"] for i in items] == [kept]
    back = graph.post(control, json={"destinationId": "root"}).json()
    assert back["parentFolderId"] == mailbox.root_folder_id
