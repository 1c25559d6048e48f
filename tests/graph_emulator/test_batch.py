"""JSON $batch: up to 20 requests, dependsOn, per-request status, relative URLs, inner throttling.

Documented behaviour: https://learn.microsoft.com/graph/json-batching and docs/graph-notes.md §7.
"""

from __future__ import annotations

from .helpers import graph_error, new_event


def _batch(graph, emulator, requests_):
    return graph.post(f"{emulator.graph_url}/$batch", json={"requests": requests_})


def test_batch_answers_each_request_with_its_status(emulator, graph, address):
    """json-batching: 200 for the batch; each response has id, status, headers and body."""
    response = _batch(
        graph,
        emulator,
        [
            {
                "id": "1",
                "method": "POST",
                "url": f"/users/{address}/events",
                "body": new_event(),
                "headers": {"Content-Type": "application/json"},
            },
            {"id": "2", "method": "GET", "url": f"users/{address}/events/AAMkAAAAAAAA"},
        ],
    )
    assert response.status_code == 200
    by_id = {r["id"]: r for r in response.json()["responses"]}
    assert by_id["1"]["status"] == 201 and by_id["1"]["body"]["subject"] == "Rencontre"
    assert by_id["2"]["status"] == 404
    assert by_id["2"]["body"]["error"]["code"] == "ErrorItemNotFound"


def test_reused_transaction_id_inside_a_batch(emulator, graph, address):
    """Inside $batch as outside: the same body is 201 with the existing event, another is 400."""

    def create(request_id, subject):
        body = new_event(subject, transactionId=f"batch-{address}")
        headers = {"Content-Type": "application/json"}
        return {"id": request_id, "method": "POST", "url": f"/users/{address}/events", "body": body, "headers": headers}

    first = _batch(graph, emulator, [create("1", "Rencontre")]).json()["responses"][0]
    again = _batch(graph, emulator, [create("1", "Rencontre"), create("2", "Autre")]).json()["responses"]
    by_id = {r["id"]: r for r in again}
    assert by_id["1"]["status"] == 201 and by_id["1"]["body"]["id"] == first["body"]["id"]
    assert by_id["2"]["status"] == 400 and by_id["2"]["body"]["error"]["code"] == "ErrorDuplicateTransactionId"


def test_more_than_20_requests_is_400(emulator, graph, address):
    """json-batching: a batch holds at most 20 requests."""
    items = [{"id": str(i), "method": "GET", "url": f"/users/{address}/contacts"} for i in range(21)]
    response = _batch(graph, emulator, items)
    assert response.status_code == 400
    graph_error(response)


def test_duplicate_ids_fail_the_whole_batch(emulator, graph, address):
    """json-batching: ids must be unique, or the batch fails with 400."""
    items = [{"id": "a", "method": "GET", "url": f"/users/{address}/contacts"}] * 2
    assert _batch(graph, emulator, items).status_code == 400


def test_depends_on_runs_in_order_and_failed_dependency_is_424(emulator, graph, address):
    """json-batching: dependsOn sequences requests; a failed dependency gives 424."""
    items = [
        {"id": "3", "method": "GET", "url": f"/users/{address}/contacts", "dependsOn": ["2"]},
        {
            "id": "2",
            "method": "POST",
            "url": f"/users/{address}/contacts",
            "dependsOn": ["1"],
            "body": {"givenName": "Après"},
            "headers": {"Content-Type": "application/json"},
        },
        {"id": "1", "method": "GET", "url": f"/users/{address}/contacts/AAMkAAAAAAAA"},
    ]
    by_id = {r["id"]: r for r in _batch(graph, emulator, items).json()["responses"]}
    assert by_id["1"]["status"] == 404
    assert by_id["2"]["status"] == 424 and by_id["3"]["status"] == 424


def test_depends_on_success_chain(emulator, graph, address):
    """dependsOn: the second request sees the first one's write."""
    items = [
        {
            "id": "1",
            "method": "POST",
            "url": f"/users/{address}/contacts",
            "body": {"givenName": "Un"},
            "headers": {"Content-Type": "application/json"},
        },
        {"id": "2", "method": "GET", "url": f"/users/{address}/contacts", "dependsOn": ["1"]},
    ]
    by_id = {r["id"]: r for r in _batch(graph, emulator, items).json()["responses"]}
    assert [c["givenName"] for c in by_id["2"]["body"]["value"]] == ["Un"]


def test_body_without_content_type_header_is_400_for_that_request(emulator, graph, address):
    """json-batching: headers with Content-Type are required when a body is given."""
    items = [{"id": "1", "method": "POST", "url": f"/users/{address}/contacts", "body": {"givenName": "X"}}]
    response = _batch(graph, emulator, items).json()["responses"][0]
    assert response["status"] == 400


def test_one_request_inside_a_batch_can_be_throttled(emulator, graph, address):
    """json-batching "throttling": an inner request gets its own 429 with Retry-After in its headers."""
    emulator.inject_fault("throttle", path=f"/users/{address}/contacts$", in_batch=True, retry_after=7)
    items = [
        {"id": "1", "method": "GET", "url": f"/users/{address}/contacts"},
        {"id": "2", "method": "GET", "url": f"/users/{address}/events"},
    ]
    by_id = {r["id"]: r for r in _batch(graph, emulator, items).json()["responses"]}
    assert by_id["1"]["status"] == 429 and by_id["1"]["headers"]["Retry-After"] == "7"
    assert by_id["1"]["body"]["error"]["code"] == "ApplicationThrottled"
    assert by_id["2"]["status"] == 200


def test_inner_requests_are_logged_and_percent_encoded_upn_works(emulator, graph, address):
    """Each inner request counts against the limits (json-batching), so each is logged."""
    before = emulator.log.next_index()
    encoded = address.replace("@", "%40")
    items = [{"id": "1", "method": "GET", "url": f"/users/{encoded}/contacts?$top=5"}]
    assert _batch(graph, emulator, items).json()["responses"][0]["status"] == 200
    inner = [e for e in emulator.requests_log(before) if e["inBatch"]]
    assert len(inner) == 1 and inner[0]["path"] == f"/v1.0/users/{address}/contacts"


def test_batch_needs_a_token(emulator, anonymous):
    """The batch itself is authenticated like any Graph call."""
    response = anonymous.post(f"{emulator.graph_url}/$batch", json={"requests": []})
    assert response.status_code == 401


def test_malformed_batch_is_400(emulator, graph):
    """json-batching: the outer status is 400 when the batch is malformed."""
    for body in ({"requests": "x"}, {"requests": [{"id": "1"}]}, {"nope": []}):
        response = graph.post(f"{emulator.graph_url}/$batch", json=body)
        assert response.status_code == 400, body


def test_an_absolute_url_fails_the_whole_batch(emulator, graph, address):
    """json-batching: URLs are relative to the version root; Graph answers an absolute one with
    400 "Invalid batch payload format." (microsoft-graph-docs-contrib issue 8576)."""
    for url in (f"{emulator.graph_url}/users/{address}/contacts", f"https://graph.microsoft.com/v1.0/users/{address}"):
        response = _batch(graph, emulator, [{"id": "1", "method": "GET", "url": url}])
        assert response.status_code == 400
        assert graph_error(response)["message"] == "Invalid batch payload format."


def test_unknown_properties_of_a_request_item_are_ignored(emulator, graph, address):
    """msgraph-sdk-python-core PR 996: Graph runs an item with `depends_on` (not `dependsOn`) and
    does not sequence it; the unknown property is ignored."""
    items = [
        {"id": "1", "method": "GET", "url": f"/users/{address}/contacts"},
        {"id": "2", "method": "GET", "url": f"/users/{address}/events", "depends_on": ["9"], "comment": "x"},
    ]
    response = _batch(graph, emulator, items)
    assert response.status_code == 200
    assert sorted(r["status"] for r in response.json()["responses"]) == [200, 200]
