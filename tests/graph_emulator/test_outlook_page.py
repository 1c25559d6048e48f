"""The demo's "Outlook" page: pick a mailbox, see contacts and events, add/edit/delete by hand.

Everything is server-rendered, escaped with html.escape, and written through the same store
as Graph (so the product's next delta round picks the change up).
"""

from __future__ import annotations

from urllib.parse import quote

from .helpers import collect_delta


def _page(emulator, session, path, **params):
    response = session.get(f"{emulator.base_url}/_emulator/{path}", params=params)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("text/html")
    return response.text


def test_index_lists_mailboxes_in_french(emulator, anonymous, address):
    """The index shows every mailbox and the form to create one."""
    html = _page(emulator, anonymous, "")
    assert "Boîtes aux lettres" in html and address in html and 'name="address"' in html


def test_create_edit_delete_a_contact_by_hand_and_delta_sees_it(emulator, anonymous, graph, user_url, address):
    """A contact added in the page is a Graph contact; editing and deleting flow to delta too."""
    _items, delta_link, _ = collect_delta(graph, f"{user_url}/contacts/delta")
    form = {"address": address, "givenName": "Josée", "surname": "Côté", "email": "josee@cote.ca", "city": "Lévis"}
    created = anonymous.post(f"{emulator.base_url}/_emulator/outlook/contact", data=form, allow_redirects=False)
    assert created.status_code == 303
    items, delta_link, _ = collect_delta(graph, delta_link)
    assert [(i["givenName"], i["emailAddresses"][0]["address"]) for i in items] == [("Josée", "josee@cote.ca")]
    contact_id = items[0]["id"]
    assert "Josée" in _page(emulator, anonymous, "outlook/mailbox", address=address)
    edit_page = _page(emulator, anonymous, "outlook/contact", address=address, id=contact_id)
    assert 'value="Côté"' in edit_page
    anonymous.post(f"{emulator.base_url}/_emulator/outlook/contact", data=dict(form, id=contact_id, surname="Roy"))
    anonymous.post(f"{emulator.base_url}/_emulator/outlook/contact/delete", data={"address": address, "id": contact_id})
    items, _link, _ = collect_delta(graph, delta_link)
    assert items == [{"@odata.type": "#microsoft.graph.contact", "id": contact_id, "@removed": {"reason": "deleted"}}]


def test_create_an_event_by_hand(emulator, anonymous, graph, user_url, address):
    """An event added in the page (Eastern time) shows up in calendarView."""
    form = {
        "address": address,
        "subject": "Visite de chantier",
        "start": "2025-03-12T10:00",
        "end": "2025-03-12T11:30",
        "timeZone": "Eastern Standard Time",
        "location": "Laval",
        "attendees": "",
        "sensitivity": "normal",
    }
    response = anonymous.post(f"{emulator.base_url}/_emulator/outlook/event", data=form, allow_redirects=False)
    assert response.status_code == 303
    window = "startDateTime=2025-03-12T00:00:00Z&endDateTime=2025-03-13T00:00:00Z"
    items = graph.get(f"{user_url}/calendarView?{window}").json()["value"]
    assert [(i["subject"], i["start"]["dateTime"][:16]) for i in items] == [("Visite de chantier", "2025-03-12T14:00")]
    assert "Visite de chantier" in _page(emulator, anonymous, "outlook/mailbox", address=address, view="events")
    event_id = items[0]["id"]
    assert "Visite de chantier" in _page(emulator, anonymous, "outlook/event", address=address, id=event_id)
    anonymous.post(f"{emulator.base_url}/_emulator/outlook/event/delete", data={"address": address, "id": event_id})
    assert graph.get(f"{user_url}/calendarView?{window}").json()["value"] == []  # gone to Deleted Items
    assert graph.get(f"{user_url}/events/{event_id}").status_code == 200


def test_invalid_event_form_shows_an_error_not_a_500(emulator, anonymous, address):
    """An end before the start re-displays the form with the error (400)."""
    form = {
        "address": address,
        "subject": "X",
        "start": "2025-03-12T10:00",
        "end": "2025-03-12T09:00",
        "timeZone": "Eastern Standard Time",
    }
    response = anonymous.post(f"{emulator.base_url}/_emulator/outlook/event", data=form)
    assert response.status_code == 400 and "class='err'" in response.text


def test_everything_is_html_escaped(emulator, anonymous, graph, user_url, address):
    """html.escape on all output: a hostile contact name is shown, never executed."""
    graph.post(f"{user_url}/contacts", json={"givenName": "<script>alert(1)</script>", "companyName": '"><b>x'})
    html = _page(emulator, anonymous, "outlook/mailbox", address=address)
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
    assert '"><b>x' not in html


def test_unknown_mailbox_page_is_404(emulator, anonymous):
    """A mailbox that does not exist gets a 404 page."""
    url = f"{emulator.base_url}/_emulator/outlook/mailbox?address={quote('nobody@x.ca')}"
    assert anonymous.get(url).status_code == 404


def test_folders_by_hand_create_move_and_delete(emulator, anonymous, graph, user_url, address):
    """The page files contacts as Outlook does: a folder anywhere, a move (same id), a deletion."""
    mailbox = emulator.mailbox(address)
    base = f"{emulator.base_url}/_emulator/outlook"
    anonymous.post(f"{base}/folder", data={"address": address, "displayName": "Clients", "parent": "root"})
    (folder_id,) = [f for f in mailbox.folders if f != mailbox.default_folder_id]
    assert mailbox.folders[folder_id]["parentFolderId"] == mailbox.root_folder_id
    contact_id = graph.post(f"{user_url}/contacts", json={"givenName": "Josée"}).json()["id"]
    assert "Clients" in _page(emulator, anonymous, "outlook/mailbox", address=address)
    anonymous.post(f"{base}/contact/move", data={"address": address, "id": contact_id, "folder": folder_id})
    assert graph.get(f"{user_url}/contacts/{contact_id}").json()["parentFolderId"] == folder_id
    anonymous.post(f"{base}/folder/delete", data={"address": address, "id": folder_id})
    assert folder_id not in mailbox.folders and contact_id not in mailbox.contacts
