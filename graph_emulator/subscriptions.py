"""Change-notification subscriptions on Outlook events and contacts: the book of subscriptions, the
checks of a create or renew request, and the match of a store change to the subscriptions it notifies.

Sources (Microsoft Graph v1.0):
- https://learn.microsoft.com/graph/api/resources/subscription (properties; clientState at most 128
  characters; maximum lifetime per resource: Outlook message, event, contact without resource data
  10,080 minutes — docs/graph-notes.md §8; older copies said 4,230).
- https://learn.microsoft.com/graph/outlook-change-notifications-overview (resource paths
  `/users/{id}/events`, `/users/{id}/contacts`, `/users/{id}/contactFolders/{id}/contacts`; the
  least permissions Calendars.Read and Contacts.Read, for managing the subscription too; "a
  maximum limit of 1000 active subscriptions for Outlook resources per mailbox for all
  applications"; the notification shape `Users/{id}/Messages/{id}`, `#Microsoft.Graph.Message`).
- https://learn.microsoft.com/graph/change-notifications-delivery-webhooks (create, renew 200,
  delete 204, the change notification collection).
Error answers Graph is seen to give: microsoft-graph-docs issue 2988 / contrib 7726 (400
ExtensionError "Subscription expiration can only be 4230 minutes in the future.", the figure
being the resource's maximum); microsoft-graph-docs 5725 / contrib 6599 (404 ResourceNotFound
"The object was not found." for an unknown subscription id); microsoft-graph-docs 21403 (403
ExtensionError "Operation: Create; Exception: [Status Code: Forbidden; Reason: Maximum number of
subscriptions has been reached]"). Messages marked "inferred" have no public sample.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
import uuid
from dataclasses import dataclass

from . import tz
from .errors import GraphError
from .store import Change, Store

MAX_MINUTES = 10_080
MAX_PER_MAILBOX = 1_000
MAX_CLIENT_STATE = 128
CHANGE_TYPES = ("created", "updated", "deleted")
TLS_VERSIONS = ("v1_0", "v1_1", "v1_2", "v1_3")
ODATA_TYPES = {"events": "#Microsoft.Graph.Event", "contacts": "#Microsoft.Graph.Contact"}
SEGMENTS = {"events": "Events", "contacts": "Contacts"}
_FRACTION = re.compile(r"(\.\d{1,6})\d*")


@dataclass
class Subscription:
    """One subscription: what it watches (mailbox, kind, contact folder or None) and where it posts."""

    id: str
    resource: str
    mailbox_id: str
    kind: str
    folder_id: str | None
    change_types: tuple[str, ...]
    client_state: str | None
    notification_url: str
    lifecycle_url: str | None
    expiration: dt.datetime
    application_id: str
    creator_id: str
    tls_version: str = "v1_2"
    paused: bool = False  # after a reauthorizationRequired with pause: deliveries stop until reauthorized

    def expired(self, now: dt.datetime | None = None) -> bool:
        """True once its expirationDateTime has passed."""
        return self.expiration <= (now or dt.datetime.now(dt.UTC))

    def graph(self, base: str | None = None) -> dict:
        """The subscription as Graph returns it (outlook-change-notifications-overview, example 1)."""
        body = {
            "id": self.id,
            "resource": self.resource,
            "applicationId": self.application_id,
            "changeType": ",".join(self.change_types),
            "clientState": self.client_state,
            "notificationUrl": self.notification_url,
            "notificationQueryOptions": None,
            "lifecycleNotificationUrl": self.lifecycle_url,
            "expirationDateTime": tz.format_utc(self.expiration),
            "creatorId": self.creator_id,
            "includeResourceData": False,
            "latestSupportedTlsVersion": self.tls_version,
            "encryptionCertificate": None,
            "encryptionCertificateId": None,
            "notificationUrlAppId": None,
        }
        if base:
            return {"@odata.context": f"{base}/v1.0/$metadata#subscriptions/$entity", **body}
        return body

    def notification(self, change: Change, tenant_id: str) -> dict:
        """The change notification for `change` (change-notifications-delivery-webhooks, "Change
        notification example"; the Outlook casing `Users/{id}/Messages/{id}` of
        outlook-change-notifications-overview, "Receive notifications without resource data")."""
        path = f"Users/{self.mailbox_id}/{SEGMENTS[self.kind]}/{change.item_id}"
        return {
            "subscriptionId": self.id,
            "subscriptionExpirationDateTime": tz.format_utc(self.expiration),
            "changeType": change.change_type,
            "resource": path,
            "resourceData": {
                "@odata.type": ODATA_TYPES[self.kind],
                "@odata.id": path,
                "@odata.etag": f'W/"{change.change_key}"',
                "id": change.item_id,
            },
            "clientState": self.client_state,
            "tenantId": tenant_id,
        }

    def lifecycle(self, event: str, tenant_id: str) -> dict:
        """A lifecycle notification (https://learn.microsoft.com/graph/change-notifications-lifecycle-events,
        "Structure of a lifecycle notification")."""
        return {
            "subscriptionId": self.id,
            "subscriptionExpirationDateTime": tz.format_utc(self.expiration),
            "tenantId": tenant_id,
            "clientState": self.client_state,
            "lifecycleEvent": event,
        }

    def sees(self, change: Change) -> bool:
        """Whether `change` is one this subscription reports."""
        if change.mailbox_id != self.mailbox_id or change.kind != self.kind or self.paused:
            return False
        if change.change_type not in self.change_types:
            return False
        if self.kind == "contacts":
            if self.folder_id is None:
                return change.scope != "folder"
            return change.scope != "mailbox" and change.folder == self.folder_id
        return True


def invalid(message: str, code: str = "InvalidRequest") -> GraphError:
    """400 with Graph's subscription error code (InvalidRequest, as for validation failures)."""
    return GraphError(400, code, message)


def parse_expiration(value: object, now: dt.datetime) -> dt.datetime:
    """expirationDateTime: required, in the future, at most MAX_MINUTES ahead (subscription resource)."""
    if value in (None, ""):
        # The answer Graph is seen to give: microsoft-graph-docs-contrib issue 7399.
        raise invalid("expirationDateTime is a required property for subscription creation.")
    if not isinstance(value, str):
        raise invalid("Invalid expirationDateTime.", "BadRequest")
    text = _FRACTION.sub(r"\1", value.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        message = f"Cannot convert the literal '{value}' to the expected type 'Edm.DateTimeOffset'."
        raise invalid(message, "BadRequest") from None
    moment = moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)
    if moment <= now:
        raise invalid("Subscription expiration must be in the future.", "ExtensionError")  # message inferred
    if moment > now + dt.timedelta(minutes=MAX_MINUTES):
        raise invalid(f"Subscription expiration can only be {MAX_MINUTES} minutes in the future.", "ExtensionError")
    return moment


def parse_change_types(value: object) -> tuple[str, ...]:
    """changeType: a comma-separated subset of created, updated, deleted (subscription resource)."""
    parts = [p.strip() for p in value.split(",")] if isinstance(value, str) else []
    if not parts or any(p not in CHANGE_TYPES for p in parts) or len(set(parts)) != len(parts):
        raise invalid(f"Invalid changeType '{value}'. Supported values: created, updated, deleted.")  # inferred
    return tuple(p for p in CHANGE_TYPES if p in parts)


def check_https(name: str, value: object, required: bool = True) -> str | None:
    """notificationUrl and lifecycleNotificationUrl "must make use of the HTTPS protocol"
    (subscription resource); microsoft-graph-docs issue 87 shows Graph refusing an http URL."""
    if value in (None, "") and not required:
        return None
    if not isinstance(value, str) or not value.lower().startswith("https://") or len(value) <= len("https://"):
        raise invalid(f"The {name} must be a valid URL using the HTTPS scheme.")  # message inferred
    return value


def parse_resource(store: Store, resource: object) -> tuple[object, str, str | None]:
    """(mailbox, "events" | "contacts", folder id or None) for a supported Outlook resource path.

    Application permissions name the mailbox: `users/{id | userPrincipalName}/…`; `me/…` works with
    delegated permissions only (outlook-change-notifications-overview). Query options ($filter,
    $select) are not emulated and refused.
    """
    if not isinstance(resource, str) or not resource.strip():
        raise invalid("resource is a required property for subscription creation.")  # inferred
    if "?" in resource:
        raise invalid("The emulator does not support query options in a subscription resource.")
    parts = [p for p in resource.strip().strip("/").split("/") if p]
    lowered = [p.lower() for p in parts]
    if lowered and lowered[0] == "me":
        raise invalid("/me request is only valid with delegated authentication flow.", "BadRequest")
    if len(parts) < 3 or lowered[0] != "users":
        raise invalid(f"Resource '{resource}' is not supported for change notifications.")  # inferred
    if lowered[2:] == ["events"]:
        kind, folder = "events", None
    elif lowered[2:] == ["contacts"]:
        kind, folder = "contacts", None
    elif len(parts) == 5 and lowered[2] == "contactfolders" and lowered[4] == "contacts":
        kind, folder = "contacts", parts[3]
    else:
        raise invalid(f"Resource '{resource}' is not supported for change notifications.")  # inferred
    mailbox = store.find_user(parts[1])
    if mailbox is None:
        raise GraphError(404, "ErrorInvalidUser", f"The requested user '{parts[1]}' is invalid.")
    if not mailbox.rest_enabled:
        raise GraphError(
            404, "MailboxNotEnabledForRESTAPI", "The mailbox is either inactive, soft-deleted, or is hosted on-premise."
        )
    if folder is not None and folder not in mailbox.folders:
        raise GraphError(404, "ErrorItemNotFound", "The specified object was not found in the store.")
    return mailbox, kind, folder


def not_found() -> GraphError:
    """An unknown (or expired, or removed) subscription id: 404 ResourceNotFound."""
    return GraphError(404, "ResourceNotFound", "The object was not found.")


class SubscriptionBook:
    """The emulator's subscriptions, indexed by mailbox for quick matching of store changes.

    Expired subscriptions are dropped lazily: whenever the book is read (GET, PATCH, DELETE,
    listing, matching a change), so an expired one neither notifies nor answers."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.by_id: dict[str, Subscription] = {}
        self.by_mailbox: dict[str, list[Subscription]] = {}
        self.max_per_mailbox = MAX_PER_MAILBOX
        self.on_change = lambda: None  # the state saver's mark (state.Saver), when there is one

    def add(self, subscription: Subscription) -> None:
        """Register a validated subscription; 403 once the mailbox holds `max_per_mailbox`."""
        with self.lock:
            self._check_room(subscription.mailbox_id)
            self.by_mailbox[subscription.mailbox_id].append(subscription)
            self.by_id[subscription.id] = subscription
        self.on_change()

    def restore(self, subscriptions) -> None:
        """Put back the subscriptions of a saved state (those not expired since)."""
        now = dt.datetime.now(dt.UTC)
        with self.lock:
            for sub in subscriptions:
                if not sub.expired(now):
                    self.by_mailbox.setdefault(sub.mailbox_id, []).append(sub)
                    self.by_id[sub.id] = sub

    def changed(self) -> None:
        """A subscription was renewed or changed in place (PATCH): save it."""
        self.on_change()

    def check_room(self, mailbox_id: str) -> None:
        """403 when the mailbox already holds `max_per_mailbox` live subscriptions."""
        with self.lock:
            self._check_room(mailbox_id)

    def _check_room(self, mailbox_id: str) -> None:
        self._sweep()
        if len(self.by_mailbox.setdefault(mailbox_id, [])) >= self.max_per_mailbox:
            raise GraphError(
                403,
                "ExtensionError",
                "Operation: Create; Exception: [Status Code: Forbidden; Reason: Maximum number of "
                "subscriptions has been reached]",
            )

    def get(self, subscription_id: str) -> Subscription:
        """The live subscription, or 404 ResourceNotFound."""
        with self.lock:
            self._sweep()
            found = self.by_id.get(subscription_id)
        if found is None:
            raise not_found()
        return found

    def remove(self, subscription_id: str) -> Subscription:
        """Delete a subscription (404 when unknown)."""
        with self.lock:
            self._sweep()
            found = self.by_id.pop(subscription_id, None)
            if found is None:
                raise not_found()
            self.by_mailbox[found.mailbox_id].remove(found)
        self.on_change()
        return found

    def listing(self) -> list[Subscription]:
        """Every live subscription, oldest first."""
        with self.lock:
            self._sweep()
            return list(self.by_id.values())

    def matching(self, change: Change) -> list[Subscription]:
        """The live subscriptions that report `change`."""
        with self.lock:
            candidates = self.by_mailbox.get(change.mailbox_id)
            if not candidates:
                return []
            now = dt.datetime.now(dt.UTC)
            return [s for s in candidates if not s.expired(now) and s.sees(change)]

    def clear(self) -> None:
        """Forget every subscription (reset)."""
        with self.lock:
            self.by_id.clear()
            self.by_mailbox.clear()

    def _sweep(self) -> None:
        now = dt.datetime.now(dt.UTC)
        for sub in [s for s in self.by_id.values() if s.expired(now)]:
            del self.by_id[sub.id]
            self.by_mailbox[sub.mailbox_id].remove(sub)


def new_id() -> str:
    """A subscription id: a GUID, as Graph's."""
    return str(uuid.uuid4())
