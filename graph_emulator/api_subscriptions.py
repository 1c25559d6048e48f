"""`/v1.0/subscriptions`: create (201, after validating the notification URLs), list, get, renew
(PATCH, 200), delete (204) and reauthorize (204) change-notification subscriptions.

https://learn.microsoft.com/graph/api/subscription-post-subscriptions, subscription-list,
subscription-get, subscription-update, subscription-delete, subscription-reauthorize;
https://learn.microsoft.com/graph/change-notifications-delivery-webhooks. Managing a subscription
needs the read permission of its resource, Calendars.Read or Contacts.Read (or their ReadWrite),
whatever the method (outlook-change-notifications-overview, "Request permissions"). The checks and
error answers are in subscriptions.py, the outgoing HTTPS in notify.py.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import TYPE_CHECKING

from . import api as api_mod
from . import permissions
from . import subscriptions as subs
from .errors import bad_request
from .wire import Request, Response

if TYPE_CHECKING:
    from .api import GraphApi

JSON = "application/json; charset=utf-8"
ALLOWED = {
    "changeType",
    "notificationUrl",
    "lifecycleNotificationUrl",
    "resource",
    "expirationDateTime",
    "clientState",
    "latestSupportedTlsVersion",
    "includeResourceData",
    "@odata.type",
    "notificationQueryOptions",
    "notificationUrlAppId",
    "encryptionCertificate",
    "encryptionCertificateId",
}


def route(api: GraphApi, req: Request, segments: list[str]) -> Response:
    """Answer `/subscriptions[/{id}[/reauthorize]]`."""
    json_body, require = api_mod.json_body, api_mod.require
    if api.subscriptions is None:
        raise bad_request("Change notifications are not available.")
    if len(segments) == 1:
        require(req, "GET", "POST")
        if req.method == "POST":
            return _create(api, req, json_body(req))
        return _list(api, req)
    sub = api.subscriptions.book.get(segments[1])
    permissions.require_subscription(req, sub.kind)
    if len(segments) == 3 and segments[2].lower() in ("reauthorize", "microsoft.graph.reauthorize"):
        require(req, "POST")
        sub.paused = False
        return Response(204)
    if len(segments) != 2:
        raise bad_request(f"Resource not found for the segment '{segments[2]}'.")
    require(req, "GET", "PATCH", "DELETE")
    if req.method == "DELETE":
        api.subscriptions.book.remove(sub.id)
        return Response(204)
    if req.method == "PATCH":
        return _renew(api, req, sub, json_body(req))
    return Response(200, sub.graph(req.base), content_type=JSON)


def _create(api: GraphApi, req: Request, body: dict) -> Response:
    service = api.subscriptions
    unknown = sorted(set(body) - ALLOWED)
    if unknown:
        raise bad_request(f"The property '{unknown[0]}' does not exist on type 'microsoft.graph.subscription'.")
    mailbox, kind, folder = subs.parse_resource(api.store, body.get("resource"))
    permissions.require_subscription(req, kind)
    change_types = subs.parse_change_types(body.get("changeType"))
    notification_url = subs.check_https("notificationUrl", body.get("notificationUrl"))
    lifecycle_url = subs.check_https("lifecycleNotificationUrl", body.get("lifecycleNotificationUrl"), required=False)
    expiration = subs.parse_expiration(body.get("expirationDateTime"), dt.datetime.now(dt.UTC))
    client_state = body.get("clientState")
    if client_state is not None and (not isinstance(client_state, str) or len(client_state) > subs.MAX_CLIENT_STATE):
        raise subs.invalid(f"clientState must be a string of at most {subs.MAX_CLIENT_STATE} characters.")  # inferred
    if body.get("includeResourceData"):
        raise subs.invalid("The emulator does not support includeResourceData (rich notifications).")
    tls_version = body.get("latestSupportedTlsVersion") or "v1_2"
    if tls_version not in subs.TLS_VERSIONS:
        raise subs.invalid(f"Invalid latestSupportedTlsVersion '{tls_version}'.")  # inferred
    service.book.check_room(mailbox.id)  # before the handshake; add() checks again
    service.notifier.validate(notification_url)
    if lifecycle_url:
        service.notifier.validate(lifecycle_url)
    sub = subs.Subscription(
        id=subs.new_id(),
        resource=body["resource"],
        mailbox_id=mailbox.id,
        kind=kind,
        folder_id=folder,
        change_types=change_types,
        client_state=client_state,
        notification_url=notification_url,
        lifecycle_url=lifecycle_url,
        expiration=expiration,
        application_id=api.identity.client_id,
        creator_id=service.creator_id,
        tls_version=tls_version,
    )
    service.book.add(sub)
    return Response(201, sub.graph(req.base), content_type=JSON)


def _renew(api: GraphApi, req: Request, sub: subs.Subscription, body: dict) -> Response:
    """PATCH: a new expirationDateTime (same limits as create) and/or notificationUrl (validated);
    renewing also reauthorizes (change-notifications-lifecycle-events)."""
    unknown = sorted(set(body) - {"expirationDateTime", "notificationUrl", "@odata.type"})
    if unknown:
        raise bad_request(f"The property '{unknown[0]}' cannot be updated on a subscription.")  # inferred
    if "expirationDateTime" not in body and "notificationUrl" not in body:
        # "To renew the subscription, the expirationDateTime property is required"
        # (change-notifications-delivery-webhooks); the message is inferred.
        raise subs.invalid("expirationDateTime is a required property for subscription renewal.")
    expiration = None
    if "expirationDateTime" in body:
        expiration = subs.parse_expiration(body["expirationDateTime"], dt.datetime.now(dt.UTC))
    url = None
    if "notificationUrl" in body:
        url = subs.check_https("notificationUrl", body["notificationUrl"])
        api.subscriptions.notifier.validate(url)
    sub.expiration = expiration or sub.expiration
    sub.notification_url = url or sub.notification_url
    sub.paused = False
    api.subscriptions.book.changed()
    return Response(200, sub.graph(req.base), content_type=JSON)


def _list(api: GraphApi, req: Request) -> Response:
    """The app's subscriptions (with application permissions: all it created, subscription-list)."""
    value = [s.graph() for s in api.subscriptions.book.listing()]
    body = {"@odata.context": f"{req.base}/v1.0/$metadata#subscriptions", "value": value}
    return Response(200, body, content_type=JSON)


class SubscriptionService:
    """What the Graph routes need: the book and the notifier (set by the server)."""

    def __init__(self, book: subs.SubscriptionBook, notifier, client_id: str) -> None:
        self.book = book
        self.notifier = notifier
        # With application permissions, creatorId is the app's service principal id (subscription resource).
        self.creator_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"service-principal:{client_id}"))
