"""Every URL of the product × anonymous, CRM staff, another CRM user, administrator: every page
needs a login; only administrators change users, settings and the connection.

One table says who may do what; each cell is requested for real, both ways (who may gets the
page, who may not is refused, and a refused POST changes nothing). A URL added to the product
without a row here fails `test_every_url_is_in_the_matrix`. Then CSRF: every POST without its
token is refused, even for an administrator.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from accounts.models import Setting
from crm.models import Activity, Contact, ContactGroup, Customer, EmailDomain, ErpImport, Prospect, Supplier
from exchange.models import JournalEntry, SyncState

CONFLICT = {"code": "conflict", "params": {"field": "subject", "winner": "outlook"}}

pytestmark = pytest.mark.django_db

ROLES = ("anonymous", "crm", "other", "admin")
OK = "ok"  # the page or the action's redirect (200/302), or its form answered with errors (400)
LOGIN = "login"  # sent to the sign-in page
DENIED = "denied"  # 403
HIDDEN = "hidden"  # 404: another user's private activity does not exist for them
ADMIN_LOGIN = "admin-login"  # Django's admin sends non-staff to its own sign-in

EVERYONE = (LOGIN, OK, OK, OK)
ADMINISTRATORS = (LOGIN, DENIED, DENIED, OK)

# (URL name, argument key, method, expected for anonymous / crm (Bob, the owner) / other (Charlie) / admin)
MATRIX = [
    ("home", None, "get", EVERYONE),
    ("contact_groups", None, "get", EVERYONE),
    ("contact_group_create", None, "get", EVERYONE),
    ("contact_group_edit", "group", "get", EVERYONE),
    ("contact_group_contacts", "group", "get", EVERYONE),
    ("contact_search", None, "get", EVERYONE),
    ("contact_detail", "contact", "get", EVERYONE),
    ("contact_assign", "contact", "get", EVERYONE),
    ("record_search", None, "get", EVERYONE),
    ("contact_create", None, "get", EVERYONE),
    ("contact_create", None, "post", EVERYONE),
    ("contact_edit", "contact", "get", EVERYONE),
    ("contact_edit", "contact", "post", EVERYONE),
    ("calendar_month", None, "get", EVERYONE),
    ("calendar_day", None, "get", EVERYONE),
    ("activity_create", None, "get", EVERYONE),
    ("activity_contacts", None, "get", EVERYONE),
    ("imported_activities", None, "get", EVERYONE),
    ("activity_detail", "private", "get", EVERYONE),  # others see it as « Occupé » (checked below)
    ("activity_detail", "public", "get", EVERYONE),
    ("activity_edit", "private", "get", (LOGIN, OK, HIDDEN, HIDDEN)),
    ("activity_edit", "private", "post", (LOGIN, OK, HIDDEN, HIDDEN)),
    ("activity_delete", "private", "post", (LOGIN, OK, HIDDEN, HIDDEN)),
    ("activity_edit", "public", "get", (LOGIN, OK, DENIED, OK)),
    ("activity_edit", "public", "post", (LOGIN, OK, DENIED, OK)),
    ("activity_delete", "public", "get", (LOGIN, OK, DENIED, OK)),
    *[
        row
        for kind in ("customer", "prospect", "supplier")
        for row in (
            (f"{kind}_list", None, "get", EVERYONE),
            (f"{kind}_create", None, "get", EVERYONE),
            (f"{kind}_create", None, "post", EVERYONE),
            (f"{kind}_detail", kind, "get", EVERYONE),
            # Bob's record: Bob (its representative) and administrators change it, Charlie may not.
            (f"{kind}_edit", kind, "get", (LOGIN, OK, DENIED, OK)),
            (f"{kind}_edit", kind, "post", (LOGIN, OK, DENIED, OK)),
            (f"{kind}_set_active", kind, "post", (LOGIN, OK, DENIED, OK)),
            (f"{kind}_domain_add", kind, "get", (LOGIN, OK, DENIED, OK)),
            (f"{kind}_domain_add", kind, "post", (LOGIN, OK, DENIED, OK)),
            # Alice finds the domain gone: Bob removed it just before her.
            (f"{kind}_domain_remove", f"{kind}_domain", "post", (LOGIN, OK, DENIED, HIDDEN)),
        )
    ],
    ("user_list", None, "get", ADMINISTRATORS),
    ("user_create", None, "get", ADMINISTRATORS),
    ("user_create", None, "post", ADMINISTRATORS),
    ("user_detail", "bob", "get", ADMINISTRATORS),
    ("user_edit", "bob", "get", ADMINISTRATORS),
    ("user_edit", "bob", "post", ADMINISTRATORS),
    ("user_delete", "charlie", "get", ADMINISTRATORS),
    ("user_deactivate", "charlie", "post", ADMINISTRATORS),
    ("user_exchange", "bob", "get", ADMINISTRATORS),
    ("user_exchange", "bob", "post", ADMINISTRATORS),
    ("user_exchange_preview", "bob", "get", ADMINISTRATORS),
    ("user_exchange_preview", "bob", "post", ADMINISTRATORS),
    ("settings_list", None, "get", ADMINISTRATORS),
    ("setting_edit", "setting", "get", ADMINISTRATORS),
    ("setting_edit", "setting", "post", ADMINISTRATORS),
    ("erp_imports", None, "get", ADMINISTRATORS),
    ("erp_imports", None, "post", ADMINISTRATORS),  # no file: the form answers with its errors
    ("erp_import_detail", "erp_import", "get", ADMINISTRATORS),
    ("erp_import_confirm", "erp_import", "post", ADMINISTRATORS),
    ("graph_connection", None, "get", ADMINISTRATORS),
    ("graph_connection", None, "post", ADMINISTRATORS),
    ("graph_connection_test", None, "post", ADMINISTRATORS),
    ("sync_status", None, "get", ADMINISTRATORS),
    ("sync_now", "sync", "post", ADMINISTRATORS),
    ("brake_decision", "sync", "post", ADMINISTRATORS),
    ("journal", None, "get", ADMINISTRATORS),
    ("resync_item", "entry", "post", ADMINISTRATORS),
    ("restore_conflict", "entry", "post", ADMINISTRATORS),
    ("admin:index", None, "get", (ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, OK)),
    ("login", None, "get", (OK, OK, OK, OK)),
    # The email code page (R2) exists only while a sign-in waits for its code: anyone else is sent
    # to the sign-in page (tests/accounts/test_email_code.py walks through it).
    ("login_code", None, "get", (LOGIN, LOGIN, LOGIN, LOGIN)),
    ("login_code", None, "post", (LOGIN, LOGIN, LOGIN, LOGIN)),
    ("set_language", None, "post", (OK, OK, OK, OK)),
    ("logout", None, "post", (LOGIN, LOGIN, LOGIN, LOGIN)),  # signed out, back to the sign-in page
    # Public, for Microsoft Graph (exchange/notifications.py): no login, no CSRF token; each item
    # is checked by its clientState. A form body is not a notification collection: 400.
    ("graph_notifications", None, "post", (OK, OK, OK, OK)),
    ("graph_notifications", None, "get", ("405", "405", "405", "405")),
]
# The only POST that needs no CSRF token (Graph cannot hold one): test_the_notification_endpoint_alone_is_csrf_exempt.
CSRF_EXEMPT = {"graph_notifications"}
# Django's admin has its own access checks (staff only, shown above for its index).
NOT_IN_MATRIX = {"admin"}


@pytest.fixture
def world(crm_user, outsider, admin_user):
    group = ContactGroup.objects.get_or_create(code="EXC", defaults={"name": "Exchange"})[0]
    contact = Contact.objects.create(first_name="Diane", last_name="Morin", email="diane@exemple.ca", group=group)
    start = timezone.now().replace(microsecond=0) + timedelta(days=1)
    end = start + timedelta(hours=1)
    private = Activity.objects.create(owner=crm_user, subject="Secret de Bob", start=start, end=end, is_private=True)
    public = Activity.objects.create(owner=crm_user, subject="Visite publique", start=start, end=end)
    entry = JournalEntry.objects.create(
        user=crm_user, direction="activities_in", action="conflict", activity=public,
        outlook_id="o-1", reasons=[CONFLICT], changes={"subject": ["Perdu", "Gagnant"]},
    )  # fmt: skip
    setting = Setting.objects.get(key="UserMaintenanceShowFields")
    setting.value = "btnexchange"  # the Exchange dialog exists only then (R3)
    setting.save()
    SyncState.objects.create(  # a brake waiting for an administrator's decision
        user=crm_user, direction="contacts_in", pending_confirmation=True, pending_deletions=[contact.pk]
    )
    erp_import = ErpImport.objects.create(  # a previewed file, waiting for an administrator's go
        kind="customer", file_name="clients.csv", file_data=b"code;nom\nPIRATE;Pirate inc.\n",
        status=ErpImport.Status.PREVIEWED, counts={"preview": {"created": 1}},
    )  # fmt: skip
    records = {}
    for kind, model in (("customer", Customer), ("prospect", Prospect), ("supplier", Supplier)):
        record = model.objects.create(code=f"{kind[0].upper()}0001", name=f"Fiche {kind}", sales_rep=crm_user)
        domain = EmailDomain.objects.create(domain=f"{kind}.example.com", **{kind: record})
        records |= {kind: [record.pk], f"{kind}_domain": [record.pk, domain.pk]}
    return {
        "users": {"crm": crm_user, "other": outsider, "admin": admin_user},
        "args": {
            **records,
            "group": [group.pk],
            "contact": [contact.pk],
            "private": [private.pk],
            "public": [public.pk],
            "bob": [crm_user.pk],
            "charlie": [outsider.pk],
            "setting": [setting.pk],
            "sync": [crm_user.pk, "contacts_in"],
            "entry": [entry.pk],
            "erp_import": [erp_import.pk],
        },
    }


def _client(world, role: str) -> Client:
    client = Client()
    if role != "anonymous":
        client.force_login(world["users"][role])
    return client


def _outcome(response) -> str:
    location = response.headers.get("Location", "")
    if response.status_code == 302 and location.startswith("/connexion/"):
        return LOGIN
    if response.status_code == 302 and location.startswith("/admin/login/"):
        return ADMIN_LOGIN
    return {200: OK, 302: OK, 400: OK, 403: DENIED, 404: HIDDEN}.get(response.status_code, str(response.status_code))


def _names(resolver: URLResolver, prefix: str = "") -> set[str]:
    names = set()
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            if pattern.namespace in NOT_IN_MATRIX:
                continue
            names |= _names(pattern, f"{prefix}{pattern.namespace}:" if pattern.namespace else prefix)
        elif isinstance(pattern, URLPattern) and pattern.name:
            names.add(f"{prefix}{pattern.name}")
    return names


def test_every_url_is_in_the_matrix():
    covered = {name for name, _key, _method, _expected in MATRIX}
    assert _names(get_resolver()) - covered == set()


@pytest.mark.parametrize(("name", "key", "method", "expected"), MATRIX, ids=lambda value: str(value))
def test_access(world, name, key, method, expected):
    url = reverse(name, args=world["args"][key] if key else [])
    for role, wanted in zip(ROLES, expected, strict=True):
        response = getattr(_client(world, role), method)(url, {"direction": "contacts_in"} if method == "post" else {})
        assert _outcome(response) == wanted, f"{role} {method.upper()} {url}: {response.status_code}"


def test_refused_posts_change_nothing(world):
    private, public = world["args"]["private"][0], world["args"]["public"][0]
    charlie = _client(world, "other")
    charlie.post(reverse("activity_edit", args=[public]), {"subject": "Piraté"})
    charlie.post(reverse("activity_delete", args=[public]))
    charlie.post(reverse("activity_delete", args=[private]))
    charlie.post(reverse("user_deactivate", args=[world["users"]["admin"].pk]))
    charlie.post(reverse("setting_edit", args=world["args"]["setting"]), {"value": "piraté"})
    charlie.post(reverse("customer_edit", args=world["args"]["customer"]), {"code": "C0001", "name": "Piraté"})
    charlie.post(reverse("customer_set_active", args=world["args"]["customer"]), {"active": "0"})
    charlie.post(reverse("customer_domain_add", args=world["args"]["customer"]), {"domain": "pirate.com"})
    charlie.post(reverse("customer_domain_remove", args=world["args"]["customer_domain"]))
    charlie.post(reverse("erp_import_confirm", args=world["args"]["erp_import"]))
    charlie.post(reverse("erp_imports"), {"kind": "customer", "file": SimpleUploadedFile("c.csv", b"code;nom\nX;Y\n")})
    assert ErpImport.objects.get().status == ErpImport.Status.PREVIEWED
    assert not Customer.objects.filter(code__in=["PIRATE", "X"]).exists()
    assert Activity.objects.filter(subject="Visite publique", is_deleted=False).count() == 1
    assert Activity.objects.filter(subject="Secret de Bob", is_deleted=False).count() == 1
    assert world["users"]["admin"].__class__.objects.get(pk=world["users"]["admin"].pk).is_active
    assert not Setting.objects.filter(value="piraté").exists()
    customer = Customer.objects.get(pk=world["args"]["customer"][0])
    assert customer.name == "Fiche customer" and customer.is_active
    assert list(customer.domains.values_list("domain", flat=True)) == ["customer.example.com"]


def test_another_users_private_activity_shows_only_busy(world):
    url = reverse("activity_detail", args=world["args"]["private"])
    for role in ("other", "admin"):
        html = _client(world, role).get(url).content.decode()
        assert "Occupé" in html and "Secret de Bob" not in html, role
    assert "Secret de Bob" in _client(world, "crm").get(url).content.decode()


@pytest.mark.parametrize(
    ("name", "key", "method", "expected"),
    [row for row in MATRIX if row[2] == "post" and row[0] not in {"login", "logout", *CSRF_EXEMPT}],
    ids=lambda value: str(value),
)
def test_every_post_without_its_csrf_token_is_refused(world, name, key, method, expected):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world["users"]["admin"])
    response = client.post(reverse(name, args=world["args"][key] if key else []), {"direction": "contacts_in"})
    assert response.status_code == 403
    assert b"CSRF" in response.content


def test_the_notification_endpoint_alone_is_csrf_exempt(world):
    """Graph posts without a session or a token: accepted (202), nothing queued for an empty batch."""
    client = Client(enforce_csrf_checks=True)
    response = client.post(reverse("graph_notifications"), b'{"value": []}', content_type="application/json")
    assert response.status_code == 202
