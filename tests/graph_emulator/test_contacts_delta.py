"""Contacts delta: full round, incremental rounds, @removed, tokens, paging and replays.

Documented behaviour: https://learn.microsoft.com/graph/api/contact-delta,
https://learn.microsoft.com/graph/delta-query-overview, docs/graph-notes.md §2-§3 (both the documented
per-folder path and the SDK's /contacts/delta path; 410 SyncStateNotFound observed in
microsoft-graph-docs issues #2350 and #2877).
"""

from __future__ import annotations

import pytest

from .helpers import collect_delta, graph_error

PAGE = {"Prefer": "odata.maxpagesize=7"}


@pytest.fixture
def seeded(emulator, address):
    """A mailbox with 20 contacts."""
    emulator.seed(address, contacts=20, seed=11)
    return address


@pytest.mark.parametrize("path", ["contacts/delta", "contacts/delta()", "contactFolders/contacts/contacts/delta"])
def test_full_round_returns_every_contact_then_a_delta_link(graph, user_url, seeded, path):
    """delta-query-overview: follow nextLink until deltaLink; contact-delta's folder path and the SDK forms."""
    items, delta_link, pages = collect_delta(graph, f"{user_url}/{path}", PAGE)
    assert len({i["id"] for i in items}) == 20
    assert pages == 4  # 3 (the short first page, as Graph may serve), 7, 7, 3
    assert "$deltatoken=" in delta_link and delta_link.startswith(user_url.split("/users")[0])


def test_maxpagesize_is_capped_at_200_for_contacts(emulator, graph, user_url, address):
    """Q&A learn.microsoft.com/answers/a/2052165: odata.maxpagesize is capped at 200 for contacts."""
    emulator.seed(address, contacts=450, seed=3)
    first = graph.get(f"{user_url}/contacts/delta", headers={"Prefer": "odata.maxpagesize=500"})
    assert len(first.json()["value"]) == 100  # the short first page of a multi-page round
    assert "odata.maxpagesize=200" in first.headers["Preference-Applied"]
    second = graph.get(first.json()["@odata.nextLink"], headers={"Prefer": "odata.maxpagesize=500"}).json()
    assert len(second["value"]) == 200
    listing = graph.get(f"{user_url}/contacts", headers={"Prefer": "odata.maxpagesize=500"}).json()
    assert len(listing["value"]) == 200


def test_short_pages_can_be_switched_off(emulator, graph, user_url, seeded):
    """The kinder mode, for a test that needs exact pages: every page as full as asked."""
    emulator.api.short_pages = False
    try:
        _items, _link, pages = collect_delta(graph, f"{user_url}/contacts/delta", PAGE)
    finally:
        emulator.api.short_pages = True
    assert pages == 3


def test_folder_id_path_is_the_documented_one(graph, user_url, seeded):
    """contact-delta: GET /users/{id}/contactFolders/{id}/contacts/delta."""
    folder_id = graph.get(f"{user_url}/contactFolders/contacts").json()["id"]
    items, _link, _pages = collect_delta(graph, f"{user_url}/contactFolders/{folder_id}/contacts/delta")
    assert len(items) == 20


def test_next_round_has_only_changes_and_removed_entries(graph, user_url, seeded):
    """delta-query-overview: new/updated items in full; deletions as id + @removed {reason: deleted}."""
    items, delta_link, _ = collect_delta(graph, f"{user_url}/contacts/delta", PAGE)
    changed, gone = items[0]["id"], items[1]["id"]
    graph.patch(f"{user_url}/contacts/{changed}", json={"jobTitle": "Président"})
    graph.delete(f"{user_url}/contacts/{gone}")
    added = graph.post(f"{user_url}/contacts", json={"givenName": "Nouveau"}).json()["id"]
    items, next_link, _ = collect_delta(graph, delta_link)
    by_id = {i["id"]: i for i in items}
    assert set(by_id) == {changed, gone, added}
    assert by_id[changed]["jobTitle"] == "Président"
    assert by_id[gone] == {"@odata.type": "#microsoft.graph.contact", "id": gone, "@removed": {"reason": "deleted"}}
    assert collect_delta(graph, next_link)[0] == []


def test_response_headers_say_track_changes(graph, user_url, seeded):
    """Observed: delta responses carry Preference-Applied: odata.track-changes."""
    response = graph.get(f"{user_url}/contacts/delta", headers=PAGE)
    assert "odata.track-changes" in response.headers["Preference-Applied"]
    assert "odata.maxpagesize=7" in response.headers["Preference-Applied"]


def test_select_on_first_call_is_kept_by_the_tokens(graph, user_url, seeded):
    """contact-delta: $select on the first call applies to the whole round and later rounds; id always returned."""
    items, delta_link, _ = collect_delta(graph, f"{user_url}/contacts/delta?$select=givenName,surname", PAGE)
    assert all(set(i) <= {"@odata.etag", "id", "givenName", "surname"} for i in items)
    graph.patch(f"{user_url}/contacts/{items[0]['id']}", json={"surname": "Roy"})
    later, _link, _ = collect_delta(graph, delta_link)
    assert set(later[0]) == {"@odata.etag", "id", "givenName", "surname"}


def test_unknown_delta_token_is_410_sync_state_not_found(graph, user_url, seeded):
    """Observed (microsoft-graph-docs issues #2350, #2877): 410 Gone with code SyncStateNotFound."""
    response = graph.get(f"{user_url}/contacts/delta?$deltatoken=bogus")
    assert response.status_code == 410
    assert graph_error(response)["code"] == "SyncStateNotFound"


def test_expired_tokens_are_410_until_a_full_resync(emulator, graph, user_url, seeded):
    """delta-query-overview "synchronization reset": expired tokens force a new full round."""
    _items, delta_link, _ = collect_delta(graph, f"{user_url}/contacts/delta", PAGE)
    first_page = graph.get(f"{user_url}/contacts/delta", headers=PAGE).json()["@odata.nextLink"]
    emulator.expire_delta_tokens()
    assert graph.get(delta_link).status_code == 410
    assert graph.get(first_page).status_code == 410  # a stale nextLink too (microsoft-graph-docs issue #2162)
    items, _link, _ = collect_delta(graph, f"{user_url}/contacts/delta")
    assert len(items) == 20


def test_token_of_another_mailbox_is_refused(emulator, graph, user_url, seeded):
    """Tokens are opaque and bound to what they track; replaying one elsewhere is SyncStateNotFound."""
    _items, delta_link, _ = collect_delta(graph, f"{user_url}/contacts/delta")
    emulator.add_mailbox("autre@prextra-demo.ca", upn="autre@prextra-demo.ca")
    other = delta_link.replace(seeded, "autre@prextra-demo.ca")
    assert graph.get(other).status_code == 410


def test_delta_rejects_filter_and_top(graph, user_url):
    """contact-delta: only $select is supported; page size is set with Prefer: odata.maxpagesize."""
    response = graph.get(f"{user_url}/contacts/delta?$top=5")
    assert response.status_code == 400
    assert graph_error(response)["code"] == "ErrorInvalidUrlQuery"


def test_fault_delta_expired_gives_410_once(emulator, graph, user_url, seeded):
    """The emulator's delta_expired fault answers 410 SyncStateNotFound on demand."""
    emulator.inject_fault("delta_expired", path="/contacts/delta", count=1)
    assert graph.get(f"{user_url}/contacts/delta").status_code == 410
    assert graph.get(f"{user_url}/contacts/delta").status_code == 200


def test_fault_duplicates_items_across_pages(emulator, graph, user_url, seeded):
    """delta-query-overview: the same item may be returned more than once; clients must merge idempotently."""
    emulator.inject_fault("delta_duplicate", path="/contacts/delta")
    items, _link, _ = collect_delta(graph, f"{user_url}/contacts/delta", PAGE)
    ids = [i["id"] for i in items]
    assert len(ids) == 23 and len(set(ids)) == 20


def test_fault_replay_repeats_the_round_in_the_next_one(emulator, graph, user_url, seeded):
    """delta-query-overview: changes may be replayed in a later round."""
    _items, delta_link, _ = collect_delta(graph, f"{user_url}/contacts/delta")
    first = graph.get(f"{user_url}/contacts").json()["value"][0]["id"]
    graph.patch(f"{user_url}/contacts/{first}", json={"jobTitle": "X"})
    emulator.inject_fault("delta_replay", path="/contacts/delta")
    items, replaying_link, _ = collect_delta(graph, delta_link)
    again, _link, _ = collect_delta(graph, replaying_link)
    assert [i["id"] for i in items] == [i["id"] for i in again] == [first]


def test_fault_empty_page_still_has_a_next_link(emulator, graph, user_url, seeded):
    """Observed: a delta page may hold zero items and still carry a nextLink."""
    emulator.inject_fault("delta_empty_page", path="/contacts/delta", count=1)
    body = graph.get(f"{user_url}/contacts/delta").json()
    assert body["value"] == [] and "@odata.nextLink" in body
    items, _link, _ = collect_delta(graph, body["@odata.nextLink"])
    assert len(items) == 20


def test_delta_link_survives_a_repeated_next_link_call(graph, user_url, seeded):
    """A client retrying the same nextLink (after a timeout) gets the same page again."""
    first = graph.get(f"{user_url}/contacts/delta", headers=PAGE).json()
    one = graph.get(first["@odata.nextLink"], headers=PAGE).json()
    two = graph.get(first["@odata.nextLink"], headers=PAGE).json()
    assert [i["id"] for i in one["value"]] == [i["id"] for i in two["value"]]


def test_control_api_writes_are_seen_by_delta(emulator, graph, anonymous, user_url, address):
    """Direct control-API writes go through the same store, so the next delta round reports them."""
    _items, delta_link, _ = collect_delta(graph, f"{user_url}/contacts/delta")
    made = anonymous.post(f"{emulator.base_url}/_emulator/mailboxes/{address}/contacts", json={"givenName": "Direct"})
    assert made.status_code == 201
    items, _link, _ = collect_delta(graph, delta_link)
    assert [i["givenName"] for i in items] == ["Direct"]
