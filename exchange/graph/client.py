"""The Microsoft Graph client: tokens through msal, Graph through one pooled requests Session.

The only code in the product that speaks HTTP to Microsoft 365. The emulator and the real
service go through exactly this code; only the authority, the Graph URL, the credentials and the
CA file differ (GraphSettings).

- One msal application per connection and process; msal keeps the app-only token in memory
  until five minutes before it expires (docs/graph-notes.md §0.10).
- `requests.Session` with `trust_env = False`: REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE would
  otherwise silently override `verify` (docs/graph-notes.md §0.9). Microsoft's public CAs come from
  certifi; `ca_file` replaces them for the emulator.
- An outbound proxy, for msal and Graph alike (msal sends through the same Session): the
  explicit setting (PREXTRA_GRAPH_PROXY) wins; otherwise HTTPS_PROXY / HTTP_PROXY / NO_PROXY,
  read explicitly per URL since trust_env is off. HTTPS goes through it as a CONNECT tunnel, so
  the certificate is still checked end to end.
- 429/503/504 (and dropped connections) are retried after Retry-After, a bounded number of times
  (https://learn.microsoft.com/graph/throttling); 401 triggers one token refresh, except
  NoPermissionsInAccessToken: a new token would carry the same (missing) permissions. A Retry-After
  longer than `max_retry_wait` is not cut short: the call raises ThrottledError(retry_after=…),
  the run is deferred until then, and this client sends nothing more before that moment. Inside
  a $batch the batch still returns every item's answer; `check_hold` then raises the deferral.
- A 412 answered to a GET (no precondition was sent) is transient: Graph answers
  ErrorIrresolvableConflict to a few percent of plain GETs under concurrency and the same GET
  succeeds later (learn.microsoft.com/answers/questions/271870).
- Every request sends `Prefer: IdType="ImmutableId"` so ids survive moves between folders
  (https://learn.microsoft.com/graph/outlook-immutable-id).
- Delta rounds are consumed one page at a time (a generator), so memory stays flat whatever
  the size of the mailbox (https://learn.microsoft.com/graph/delta-query-overview); `prefetched`
  reads the next page while the caller stores this one.
"""

from __future__ import annotations

import hashlib
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import quote

import certifi
import msal
import requests
from django.conf import settings as django_settings
from requests.adapters import HTTPAdapter

from . import errors, permissions

logger = logging.getLogger(__name__)

GRAPH_SCOPES = ["https://graph.microsoft.com/.default"]
IMMUTABLE_IDS = 'IdType="ImmutableId"'
RETRY_STATUSES = {429, 500, 502, 503, 504}
BATCH_LIMIT = 20
# The largest page each resource serves (Prefer: odata.maxpagesize; Outlook's default is 10).
# Contacts: Graph caps odata.maxpagesize at 200 for contacts, and may still serve fewer per page
# (learn.microsoft.com/answers/a/2052165): half the requests of pages of 100.
CONTACTS_PAGE_SIZE = 200
# calendarView/delta: no cap is documented; pages of 100 are served as asked, and larger when a
# series expands (msgraph-sdk-dotnet issue 3070), while large pages bring 503/504 on big
# calendars (msgraph-sdk-dotnet issue 1568, microsoft-graph-docs-contrib issue 7574): 100 stays.
EVENTS_PAGE_SIZE = 100
USER_FIELDS = "id,userPrincipalName,mail,proxyAddresses,displayName"


@dataclass(frozen=True)
class GraphSettings:
    """Where and as whom to reach Microsoft 365."""

    tenant_id: str
    client_id: str
    client_secret: str = field(repr=False)
    authority_host: str = "https://login.microsoftonline.com"
    graph_url: str = "https://graph.microsoft.com/v1.0"
    ca_file: str = ""
    timeout: float = 30.0
    max_retries: int = 4
    max_retry_wait: float = 60.0
    proxy: str = field(default="", repr=False)  # may hold a proxy password

    @property
    def authority(self) -> str:
        return f"{self.authority_host.rstrip('/')}/{self.tenant_id}"

    def cache_key(self) -> tuple:
        secret = hashlib.sha256(self.client_secret.encode()).hexdigest()
        return (self.authority, self.client_id, secret, self.ca_file, self.timeout, self.proxy)

    @classmethod
    def from_connection(cls, connection) -> GraphSettings:
        """Settings of an exchange.models.GraphConnection (decrypts its secret)."""
        return cls(
            tenant_id=connection.tenant_id,
            client_id=connection.client_id,
            client_secret=connection.get_secret(),
            authority_host=connection.authority_host,
            graph_url=connection.graph_url.rstrip("/"),
            ca_file=connection.ca_file,
            proxy=django_settings.PREXTRA_GRAPH_PROXY,
        )


@dataclass
class DeltaPage:
    """One page of a delta round: its items, and either the next link or the final delta link."""

    items: list[dict]
    next_link: str | None
    delta_link: str | None


def proxies_for(url: str, explicit: str = "") -> dict[str, str]:
    """The proxy for one URL: the explicit setting, else the standard variables (HTTPS_PROXY,
    HTTP_PROXY, NO_PROXY, any case) read here, since the Session's trust_env is off; {} is direct."""
    if explicit:
        return {"http": explicit, "https": explicit}
    return requests.utils.get_environ_proxies(url)


class GraphSession(requests.Session):
    """A Session that chooses its proxy per URL (`proxies_for`) while trust_env stays off, so the
    proxy variables are honoured and the CA variables still cannot override `verify`."""

    def __init__(self, proxy: str = "") -> None:
        super().__init__()
        self.trust_env = False
        self.proxy = proxy

    def request(self, method, url, *args, **kwargs):
        if not kwargs.get("proxies"):
            kwargs["proxies"] = proxies_for(url, self.proxy)
        return super().request(method, url, *args, **kwargs)


def build_session(ca_file: str = "", proxy: str = "") -> requests.Session:
    """A pooled Session that ignores the CA environment variables, trusts `ca_file` or certifi, and
    goes through `proxy` (or the proxy the standard variables name)."""
    session = GraphSession(proxy)
    session.verify = ca_file or certifi.where()
    adapter = HTTPAdapter(pool_connections=4, pool_maxsize=8, max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


_apps: dict[tuple, tuple[msal.ConfidentialClientApplication, requests.Session]] = {}
_apps_lock = threading.Lock()


def _app_for(settings: GraphSettings) -> tuple[msal.ConfidentialClientApplication, requests.Session]:
    """The process's msal app and Session for these settings (created once: discovery does I/O)."""
    key = settings.cache_key()
    with _apps_lock:
        if key not in _apps:
            session = build_session(settings.ca_file, settings.proxy)
            try:
                app = msal.ConfidentialClientApplication(
                    settings.client_id,
                    client_credential=settings.client_secret,
                    authority=settings.authority,
                    http_client=session,
                    instance_discovery=False,
                    timeout=settings.timeout,
                )
            except requests.exceptions.SSLError as exc:
                session.close()
                raise errors.untrusted_certificate(str(exc)) from None
            except requests.exceptions.RequestException as exc:
                session.close()
                raise errors.unreachable(str(exc)) from None
            except ValueError as exc:
                session.close()
                raise errors.tenant_not_found(str(exc)) from None
            _apps[key] = (app, session)
        return _apps[key]


def forget_apps() -> None:
    """Drop cached msal apps and sessions (after the connection's settings change, and in tests)."""
    with _apps_lock:
        for _app, session in _apps.values():
            session.close()
        _apps.clear()


def _asked_wait(response: requests.Response) -> float | None:
    """The Retry-After header in seconds (it may be seconds or an HTTP date); None without one."""
    header = response.headers.get("Retry-After", "") if response is not None else ""
    if header.strip().isdigit():
        return float(header.strip())
    if header:
        try:
            moment = parsedate_to_datetime(header)
            return (moment - datetime.now(tz=moment.tzinfo)).total_seconds()
        except (TypeError, ValueError):
            return None
    return None


def _retry_after(response: requests.Response, attempt: int, cap: float) -> float:
    """Seconds to wait: the Retry-After header, else exponential backoff; at most `cap`."""
    seconds = _asked_wait(response)
    if seconds is None:
        seconds = min(2.0**attempt, 30.0)
    return max(0.0, min(seconds, cap))


def _no_permissions(response: requests.Response) -> bool:
    return _error_of(response)[0].lower() == permissions.NO_PERMISSIONS


def _error_of(response: requests.Response) -> tuple[str, str]:
    try:
        body = response.json()
        error = body.get("error") or {}
        return str(error.get("code", "")), str(error.get("message", ""))[:300]
    except (ValueError, AttributeError):
        return "", response.text[:200]


class GraphClient:
    """Calls to Microsoft Graph for one connection. Counts its HTTP requests in `request_count`."""

    def __init__(self, settings: GraphSettings, *, sleep: Callable[[float], None] = time.sleep):
        self.settings = settings
        self.app, self.session = _app_for(settings)
        self.sleep = sleep
        self.request_count = 0
        self.held_until = 0.0  # time.monotonic() before which Graph asked us to send nothing

    # --- plumbing -------------------------------------------------------------------------
    def token(self) -> str:
        """An app-only access token (from msal's cache while it is valid)."""
        try:
            result = self.app.acquire_token_for_client(scopes=GRAPH_SCOPES)
        except requests.exceptions.SSLError as exc:
            raise errors.untrusted_certificate(str(exc)) from None
        except requests.exceptions.RequestException as exc:
            raise errors.unreachable(str(exc)) from None
        if "access_token" not in result:
            raise errors.from_token_error(result)
        return result["access_token"]

    def _drop_token(self) -> None:
        cache = self.app.token_cache
        for token in list(cache.search(msal.TokenCache.CredentialType.ACCESS_TOKEN)):
            cache.remove_at(token)

    def url(self, path: str) -> str:
        """An absolute URL: links Graph returned are used verbatim, paths join the Graph root."""
        if path.startswith(("https://", "http://")):
            return path
        return f"{self.settings.graph_url.rstrip('/')}/{path.lstrip('/')}"

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict | None = None,
        json: dict | None = None,
        headers: dict | None = None,
    ) -> dict | None:
        """One Graph call with retries; the parsed JSON body (None for 204). Raises errors.GraphError."""
        url = self.url(path)
        refreshed = False
        attempt = 0
        while True:
            self.check_hold()
            response = self._send(method, url, params, json, headers, attempt)
            if response is None:  # connection dropped or timed out: retry, bounded
                attempt += 1
                continue
            if response.status_code == 401 and not refreshed and not _no_permissions(response):
                # The token may have been revoked or expired early: fetch a new one, once.
                refreshed = True
                self._drop_token()
                continue
            retryable = response.status_code in RETRY_STATUSES or (response.status_code == 412 and method == "GET")
            if retryable:
                self._hold_if_asked(response)
            if retryable and attempt < self.settings.max_retries:
                wait = _retry_after(response, attempt, self.settings.max_retry_wait)
                logger.info(
                    "Graph %s %s answered %s; retrying in %.1f s", method, path[:80], response.status_code, wait
                )
                response.close()
                self.sleep(wait)
                attempt += 1
                continue
            return self._parse(response, method)

    def _hold_if_asked(self, response: requests.Response) -> None:
        """A Retry-After longer than we wait in a run defers the run: Graph's guidance is to wait
        the full value (https://learn.microsoft.com/graph/throttling), retrying early only
        prolongs the throttling."""
        asked = _asked_wait(response)
        if asked is not None and asked > self.settings.max_retry_wait:
            self.held_until = time.monotonic() + asked
            code, message = _error_of(response)
            response.close()
            raise errors.deferred(asked, response.status_code, code, message)

    def check_hold(self) -> None:
        """Raise the deferral (ThrottledError with retry_after) while a Retry-After Graph asked
        for is still running; nothing once it is over."""
        remaining = self.held_until - time.monotonic()
        if remaining > 0:
            raise errors.deferred(remaining, 429, "", "Retry-After still running")

    def _send(self, method, url, params, json, headers, attempt) -> requests.Response | None:
        all_headers = {"Authorization": f"Bearer {self.token()}", "Prefer": IMMUTABLE_IDS}
        if headers:
            all_headers.update(headers)
        self.request_count += 1
        try:
            response = self.session.request(
                method, url, params=params, json=json, headers=all_headers, timeout=self.settings.timeout
            )
            response.content  # noqa: B018 - read the body now, so a drop mid-body is caught here
            return response
        except requests.exceptions.SSLError as exc:
            raise errors.untrusted_certificate(str(exc)) from None
        except (
            requests.exceptions.ConnectionError,
            requests.exceptions.Timeout,
            requests.exceptions.ChunkedEncodingError,
        ) as exc:
            if attempt >= self.settings.max_retries:
                raise errors.unreachable(str(exc)) from None
            wait = min(2.0**attempt, self.settings.max_retry_wait)
            logger.info("Graph %s failed (%s); retrying in %.1f s", method, type(exc).__name__, wait)
            self.sleep(wait)
            return None

    def _parse(self, response: requests.Response, method: str = "GET") -> dict | None:
        if response.ok and (response.status_code == 204 or not response.content):
            return None
        if response.ok:
            try:
                return response.json()
            except ValueError:
                raise errors.unreachable("invalid JSON in a success response") from None
        code, message = _error_of(response)
        error = errors.from_response(response.status_code, code, message)
        if response.status_code == 412 and method == "GET":
            error.transient = True  # no precondition was sent: Graph's 412 to a GET passes (see above)
        raise self.explained(error, response.url)

    def token_roles(self) -> set[str] | None:
        """The application permissions the current token carries (see permissions.roles_in)."""
        return permissions.roles_in(self.token())

    def explained(self, error: errors.GraphError, path: str) -> errors.GraphError:
        """A permission refusal turned into words naming the permission to grant."""
        if error.status not in {401, 403}:
            return error
        return permissions.explained(error, self.token_roles(), path)

    # --- paging ---------------------------------------------------------------------------
    def iter_delta(self, url: str, *, params: dict | None = None, headers: dict | None = None) -> Iterator[DeltaPage]:
        """Follow @odata.nextLink until @odata.deltaLink, one page at a time.

        Query parameters go on the first call only: the links encode them
        (https://learn.microsoft.com/graph/delta-query-overview).
        """
        while True:
            body = self.request("GET", url, params=params, headers=headers) or {}
            next_link = body.get("@odata.nextLink")
            delta_link = body.get("@odata.deltaLink")
            items = body.get("value")
            yield DeltaPage(items if isinstance(items, list) else [], next_link, delta_link)
            if not next_link:
                return
            url, params = next_link, None

    # --- mailboxes ------------------------------------------------------------------------
    @staticmethod
    def mailbox_path(mailbox: str) -> str:
        """`/users/{id | userPrincipalName}`, percent-encoded as Graph accepts it. The sync passes
        the user's object id (exchange.sync.mailbox): the email address need not be the UPN."""
        return f"/users/{quote(mailbox, safe='@')}"

    def find_user(self, address: str) -> dict | None:
        """The directory user whose primary SMTP address (`mail`) or one of whose aliases
        (`proxyAddresses`, "smtp:" + address) is `address`; None when no user has it.

        Needs User.Read.All (https://learn.microsoft.com/graph/api/user-list). `mail eq` is a
        default query; the proxyAddresses one is sent as an advanced query (ConsistencyLevel
        eventual + $count), which Graph accepts whether or not it requires it
        (https://learn.microsoft.com/graph/aad-advanced-queries). Several users with that
        address: errors.MailboxNotFoundError (never guess whose calendar to write).
        """
        literal = address.replace("'", "''")
        queries = [
            ({"$filter": f"mail eq '{literal}'"}, None),
            (
                {"$filter": f"proxyAddresses/any(x:x eq 'smtp:{literal}')", "$count": "true"},
                {"ConsistencyLevel": "eventual"},
            ),
        ]
        for params, headers in queries:
            body = self.request("GET", "/users", params={**params, "$select": USER_FIELDS}, headers=headers) or {}
            users = [u for u in body.get("value") or [] if isinstance(u, dict) and isinstance(u.get("id"), str)]
            if len(users) > 1:
                raise errors.MailboxNotFoundError(
                    errors.failure("graph_ambiguous_mailbox", address=address),
                    code="AmbiguousMailbox",
                )
            if users:
                return users[0]
        return None

    def probe_mailbox(self, mailbox: str) -> None:
        """Read one contact and one event id: proves the token, the permissions and the mailbox.

        https://learn.microsoft.com/graph/api/user-list-contacts and .../user-list-events
        """
        base = self.mailbox_path(mailbox)
        self.request("GET", f"{base}/contacts", params={"$top": "1", "$select": "id"})
        self.request("GET", f"{base}/events", params={"$top": "1", "$select": "id"})

    # --- contacts (read only: contacts flow Outlook → Prextra) ------------------------------
    def contacts_delta(
        self, mailbox: str, delta_link: str = "", page_size: int = CONTACTS_PAGE_SIZE
    ) -> Iterator[DeltaPage]:
        """The contacts of the mailbox's default folder that changed since `delta_link` (all, without it).

        `/users/{id}/contacts/delta` is in the v1.0 metadata and Microsoft's SDKs and has been used
        in production since 2017 (docs/graph-notes.md §2); the documented per-folder form is
        /contactFolders/{id}/contacts/delta (https://learn.microsoft.com/graph/api/contact-delta).
        """
        headers = {"Prefer": f"{IMMUTABLE_IDS}, odata.maxpagesize={page_size}"}
        if delta_link:
            return self.iter_delta(delta_link, headers=headers)
        return self.iter_delta(f"{self.mailbox_path(mailbox)}/contacts/delta", headers=headers)

    def folder_contacts_delta(self, mailbox: str, folder_id: str, delta_link: str = "") -> Iterator[DeltaPage]:
        """The contacts of one contact folder that changed since `delta_link` (all, without it).

        The documented v1.0 form (https://learn.microsoft.com/graph/api/contact-delta); the first
        request carries no query option, so its URL is followed like any link, with the same
        Prefer header as `contacts_delta`."""
        first = f"{self.mailbox_path(mailbox)}/contactFolders/{quote(folder_id, safe='')}/contacts/delta"
        return self.contacts_delta(mailbox, delta_link or first)

    def contact_folders(self, mailbox: str) -> list[dict]:
        """Every contact folder of the mailbox, the default one first: {id, displayName, parentFolderId}.

        Graph v1.0 has no single listing of them all. `GET /contactFolders` holds only the folders
        in the default folder, without it (user-list-contactfolders; corso pull request 1174), and
        deeper folders are reached through `…/childFolders` (corso issue 3550). So: the default
        folder by its well-known name `contacts`, then contactFolders/delta (the mailbox's contact
        folders, https://learn.microsoft.com/graph/api/contactfolder-delta: how other top-level
        folders beside Contacts are found), then the child folders of each folder found, at any
        depth (in case the delta leaves nested ones out). A folder counts only if it hangs from the
        mailbox root through contact folders: one moved to Deleted Items has left Outlook's contacts.
        Cost: 2 + one request per folder (more for long pages).
        """
        base = self.mailbox_path(mailbox)
        params = {"$select": "id,displayName,parentFolderId"}
        default = self.request("GET", f"{base}/contactFolders/contacts", params=params) or {}
        listed = self._all_items(f"{base}/contactFolders/delta", params)
        found = {default["id"]: default} if isinstance(default.get("id"), str) else {}
        _attach(found, [item for item in listed if isinstance(item, dict) and "@removed" not in item], default)
        pending = list(found)
        while pending:
            folder_id = pending.pop(0)
            path = f"{base}/contactFolders/{quote(folder_id, safe='')}/childFolders"
            children = self._all_items(path, params)
            pending += [item["id"] for item in children if _is_folder(item) and item["id"] not in found]
            found.update({item["id"]: item for item in children if _is_folder(item)})
        return list(found.values())

    def _all_items(self, path: str, params: dict) -> list:
        """Every item of a small paged collection (folders), following its links."""
        return [item for page in self.iter_delta(path, params=params) for item in page.items]

    def get_contact(self, mailbox: str, contact_id: str) -> dict:
        """One contact (https://learn.microsoft.com/graph/api/contact-get)."""
        return self.request("GET", f"{self.mailbox_path(mailbox)}/contacts/{quote(contact_id, safe='')}") or {}

    # --- batching ---------------------------------------------------------------------------
    def batch(self, requests_: list[dict]) -> dict[str, dict]:
        """JSON batching: at most 20 requests in one POST; the responses by request id.

        Each inner request is throttled on its own (429 with Retry-After in its headers): those
        are sent again, alone, after the wait, a bounded number of times
        (https://learn.microsoft.com/graph/json-batching). An inner Retry-After longer than
        `max_retry_wait` is not cut short either: the items are answered as they are (the others
        keep their results) and the client holds, so `check_hold` then defers the run.
        """
        if len(requests_) > BATCH_LIMIT:
            raise ValueError("a Graph batch holds at most 20 requests")
        pending = {str(item["id"]): item for item in requests_}
        results: dict[str, dict] = {}
        attempt = 0
        while pending:
            body = self.request("POST", "/$batch", json={"requests": list(pending.values())}) or {}
            responses = body.get("responses") if isinstance(body.get("responses"), list) else []
            answered = {str(item.get("id")): item for item in responses if isinstance(item, dict)}
            retry, wait = {}, 0.0
            for request_id, item in pending.items():
                response = answered.get(request_id, {"status": 503, "headers": {}, "body": {}})
                if response.get("status") in RETRY_STATUSES and attempt < self.settings.max_retries:
                    retry[request_id] = (item, response)
                    wait = max(wait, _inner_wait(response, attempt, self.settings.max_retry_wait))
                else:
                    results[request_id] = response
            longest = max((_inner_asked(response) or 0.0 for _item, response in retry.values()), default=0.0)
            if longest > self.settings.max_retry_wait:
                self.held_until = max(self.held_until, time.monotonic() + longest)
                results.update({request_id: response for request_id, (_item, response) in retry.items()})
                retry = {}
            pending = {request_id: item for request_id, (item, _response) in retry.items()}
            if pending:
                self.sleep(wait)
                attempt += 1
        return results

    # --- events -----------------------------------------------------------------------------
    def get_event(self, mailbox: str, event_id: str) -> dict:
        """One event, times in UTC (https://learn.microsoft.com/graph/api/event-get)."""
        return (
            self.request(
                "GET",
                f"{self.mailbox_path(mailbox)}/events/{quote(event_id, safe='')}",
                headers={"Prefer": f'{IMMUTABLE_IDS}, outlook.timezone="UTC"'},
            )
            or {}
        )

    def find_events_by_property(self, mailbox: str, property_id: str, value: str) -> list[dict]:
        """The events tagged with a single-value extended property of this value, times in UTC
        (https://learn.microsoft.com/graph/api/singlevaluelegacyextendedproperty-get, "Get event
        instances": `$filter=singleValueExtendedProperties/Any(ep: ep/id eq … and ep/value eq …)`)."""
        quoted = value.replace("'", "''")
        condition = f"ep/id eq '{property_id}' and ep/value eq '{quoted}'"
        params = {"$filter": f"singleValueExtendedProperties/Any(ep: {condition})"}
        headers = {"Prefer": f'{IMMUTABLE_IDS}, outlook.timezone="UTC"'}
        body = self.request("GET", f"{self.mailbox_path(mailbox)}/events", params=params, headers=headers) or {}
        return [item for item in body.get("value") or [] if isinstance(item, dict)]

    def events_delta(
        self, mailbox: str, start: datetime, end: datetime, delta_link: str = "", page_size: int = EVENTS_PAGE_SIZE
    ) -> Iterator[DeltaPage]:
        """Events of the window [start, end) that changed since `delta_link`, times in UTC.

        calendarView/delta expands series into occurrences and needs the window on the first call
        only (https://learn.microsoft.com/graph/api/event-delta).
        """
        headers = {"Prefer": f'{IMMUTABLE_IDS}, odata.maxpagesize={page_size}, outlook.timezone="UTC"'}
        if delta_link:
            return self.iter_delta(delta_link, headers=headers)
        params = {"startDateTime": _iso(start), "endDateTime": _iso(end)}
        return self.iter_delta(f"{self.mailbox_path(mailbox)}/calendarView/delta", params=params, headers=headers)

    # --- change-notification subscriptions (https://learn.microsoft.com/graph/api/resources/subscription)
    def create_subscription(self, resource: str, notification_url: str, client_state: str, expires: datetime) -> dict:
        """POST /subscriptions for created, updated and deleted items of `resource`, with the same
        URL for lifecycle notifications; Graph validates the URL (a POST with validationToken
        that must be echoed within 10 s) before it answers 201 with the subscription."""
        body = {
            "changeType": "created,updated,deleted",
            "notificationUrl": notification_url,
            "lifecycleNotificationUrl": notification_url,
            "resource": resource,
            "expirationDateTime": _iso(expires),
            "clientState": client_state,
        }
        return self.request("POST", "/subscriptions", json=body) or {}

    def renew_subscription(self, subscription_id: str, expires: datetime) -> dict:
        """PATCH /subscriptions/{id} with a new expirationDateTime (200 with the subscription); it
        also reauthorizes a subscription after reauthorizationRequired (change-notifications-lifecycle-events)."""
        path = f"/subscriptions/{quote(subscription_id, safe='')}"
        return self.request("PATCH", path, json={"expirationDateTime": _iso(expires)}) or {}

    def list_subscriptions(self) -> list[dict]:
        """Every subscription of this application (GET /subscriptions, following its pages:
        https://learn.microsoft.com/graph/api/subscription-list)."""
        return [item for item in self._all_items("/subscriptions", {}) if isinstance(item, dict)]

    def delete_subscription(self, subscription_id: str) -> None:
        """DELETE /subscriptions/{id} (204); one Graph no longer has (404) is already gone."""
        try:
            self.request("DELETE", f"/subscriptions/{quote(subscription_id, safe='')}")
        except errors.GraphError as exc:
            if exc.status != 404:
                raise


def _is_folder(item: object) -> bool:
    return isinstance(item, dict) and isinstance(item.get("id"), str) and bool(item["id"])


def _attach(found: dict[str, dict], listed: list[dict], default: dict) -> None:
    """Add to `found` the listed folders that hang from the mailbox root (the default folder's
    parent) through contact folders only, whatever order the listing gave them in."""
    roots = {default.get("parentFolderId")} - {None}
    added = True
    while added:
        added = False
        for item in listed:
            if _is_folder(item) and item["id"] not in found and item.get("parentFolderId") in roots | set(found):
                found[item["id"]] = item
                added = True


def _inner_asked(response: dict) -> float | None:
    """The Retry-After of a $batch inner response, in seconds; None without one."""
    headers = response.get("headers") if isinstance(response.get("headers"), dict) else {}
    value = next((str(v) for k, v in headers.items() if k.lower() == "retry-after"), "")
    return float(value) if value.strip().isdigit() else None


def _inner_wait(response: dict, attempt: int, cap: float) -> float:
    seconds = _inner_asked(response)
    if seconds is None:
        seconds = min(2.0**attempt, 30.0)
    return max(0.0, min(seconds, cap))


def _iso(moment: datetime) -> str:
    """An aware datetime as Graph's UTC form, 2026-11-25T15:00:00Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def prefetched(pages: Iterator[DeltaPage]) -> Iterator[DeltaPage]:
    """The pages of `pages`, in order, the next one read in a thread while the caller works on
    this one: a page's network wait and its database writes overlap, so a big import takes
    the longer of the two, not their sum.

    Only this helper's thread speaks HTTP (the caller does no Graph request while iterating);
    the next page is read only once the caller has taken this one, so at most one page waits
    ahead and memory stays flat. An error while reading a page is raised to the caller when it
    asks for that page, as without prefetching. When the caller stops early (an error of its
    own, or a page with a delta link), the thread stops after its current request.
    """
    handoff: queue.Queue = queue.Queue()
    slot = threading.Semaphore(1)  # released by the caller each time it takes a page
    stop = threading.Event()
    finished = object()

    def read() -> None:
        try:
            iterator = iter(pages)
            while True:
                while not slot.acquire(timeout=0.05):
                    if stop.is_set():
                        return
                if stop.is_set():
                    return
                page = next(iterator, finished)
                handoff.put((page, None))
                if page is finished:
                    return
        except BaseException as exc:  # handed to the caller, who raises it in its own thread
            handoff.put((None, exc))

    reader = threading.Thread(target=read, name="graph-prefetch", daemon=True)
    reader.start()
    try:
        while True:
            page, error = handoff.get()
            slot.release()
            if error is not None:
                raise error
            if page is finished:
                return
            yield page
    finally:
        stop.set()
        # A request in flight ends on its own (its timeout); the thread then sees `stop` and exits.
        reader.join(timeout=5)
