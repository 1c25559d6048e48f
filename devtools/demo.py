"""Realistic French-Canadian demo data: users, companies with domains, contacts and activities.

Everything is generated from a fixed seed and written with update-or-create on natural keys
(user codes, company codes, contact emails, activity owner + subject + start), and the activity
dates hang on an anchor date stored at the first run, so running it again changes nothing.
"""

from __future__ import annotations

import random
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from faker import Faker

from accounts.models import USER_MAINTENANCE_SHOW_FIELDS, Company, ExchangeProfile, Setting, User
from crm.models import EXCHANGE_GROUP_CODE, Activity, Contact, ContactGroup, Customer, EmailDomain, Prospect, Supplier

DEMO_PASSWORD = "prextra-demo"  # nosec B105 # the documented demo sign-in; devtools is absent in production
DEMO_DOMAIN = "prextra-demo.ca"
ANCHOR_KEY = "DemoDataAnchorDate"
SEED = 2022
DEMO_OUTLOOK_FOLDER = "Chantiers en cours"  # a subfolder of each demo mailbox's Contacts
LOCAL_ZONE = ZoneInfo(settings.TIME_ZONE)

# code, name, administrator, exchange switches (contacts in, activities in, activities out)
DEMO_USERS = [
    ("ADMIN", "Administrateur Prextra", True, (False, False, False)),
    ("MTREMBLAY", "Marie Tremblay", False, (True, True, True)),
    ("JGAGNON", "Jean Gagnon", False, (True, True, False)),
    ("SROY", "Sophie Roy", False, (False, False, False)),
]

CITIES = [
    ("Québec", "QC"),
    ("Montréal", "QC"),
    ("Lévis", "QC"),
    ("Sherbrooke", "QC"),
    ("Trois-Rivières", "QC"),
    ("Saguenay", "QC"),
    ("Rimouski", "QC"),
    ("Gatineau", "QC"),
    ("Drummondville", "QC"),
    ("Laval", "QC"),
    ("Saint-Georges", "QC"),
    ("Granby", "QC"),
    ("Ottawa", "ON"),
    ("Toronto", "ON"),
    ("Moncton", "NB"),
]
AREA_CODES = {"QC": ["418", "514", "819", "450", "581"], "ON": ["613", "416"], "NB": ["506"]}
TITLES = [
    "Directeur général",
    "Directrice des achats",
    "Acheteur",
    "Contrôleuse",
    "Chargé de projets",
    "Responsable de l'entretien",
    "Directeur des opérations",
    "Adjointe administrative",
    "Coordonnateur logistique",
    "Représentante technique",
    "Surintendant de chantier",
    "Comptable",
]
SUBJECTS = [
    "Rencontre de suivi",
    "Appel de relance",
    "Présentation de la soumission",
    "Visite de chantier",
    "Dîner d'affaires",
    "Revue du contrat de service",
    "Démonstration Prextra",
    "Négociation des prix",
    "Suivi de livraison",
    "Formation des utilisateurs",
    "Revue trimestrielle",
    "Inspection préventive",
]
ALL_DAY_SUBJECTS = ["Salon industriel de Québec", "Congrès AQME", "Formation à l'externe", "Vacances"]
COMPANY_SUFFIXES = ["inc.", "ltée", "S.E.N.C.", "inc."]


@dataclass
class DemoReport:
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, name: str, created: bool) -> None:
        key = f"{name} ({'créés' if created else 'inchangés ou mis à jour'})"
        self.counts[key] = self.counts.get(key, 0) + 1


def _upsert(model, defaults: dict, **lookup):
    """update_or_create that writes only when a value differs, so a second run changes nothing."""
    instance = model.objects.filter(**lookup).first()
    if instance is None:
        return model.objects.create(**lookup, **defaults), True
    changed = [name for name, value in defaults.items() if getattr(instance, name) != value]
    if changed:
        for name in changed:
            setattr(instance, name, defaults[name])
        instance.save()
    return instance, False


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "", ascii_text.lower())


def _phone(rng: random.Random, province: str) -> str:
    return f"{rng.choice(AREA_CODES[province])} {rng.randint(200, 999)}-{rng.randint(0, 9999):04d}"


@transaction.atomic
def load_demo() -> DemoReport:
    """Create or refresh the whole demo data set; idempotent."""
    report = DemoReport()
    fake = Faker("fr_CA")
    fake.seed_instance(SEED)
    rng = random.Random(SEED)  # nosec B311 # seeded on purpose: the same demo every load
    anchor, first_load = _anchor_date()
    _enable_exchange_button()
    company = _company(report)
    users = _users(report, company)
    staff = [user for user in users if not user.is_staff]
    organizations = _organizations(report, fake, rng, staff)
    contacts = _contacts(report, fake, rng, organizations, staff)
    if first_load:
        # Only once: afterwards the activities belong to their users (and to Outlook, once
        # synchronized); regenerating them would resurrect what a user moved or deleted.
        _activities(report, rng, staff, contacts, anchor)
    _graph_connection(report)
    return report


def _graph_connection(report: DemoReport) -> None:
    """The demo's Microsoft 365 connection: the bundled Graph emulator (see bin/run)."""
    from django.conf import settings

    from exchange.models import GraphConnection

    if GraphConnection.objects.exists():
        report.add("connexions Microsoft 365", False)
        return
    connection = GraphConnection(
        tenant_id="prextra-demo",
        client_id="prextra-sync-demo",
        authority_host=settings.GRAPH_AUTHORITY_HOST,
        graph_url=settings.GRAPH_URL,
        ca_file=settings.GRAPH_CA_FILE,
    )
    connection.set_secret("demo-secret")
    connection.save()
    report.add("connexions Microsoft 365", True)


def demo_outlook_contacts(seed: int = SEED) -> dict[str, list[dict]]:
    """Outlook contacts for each demo mailbox, at the demo companies' domains (Graph shapes).

    Some match a customer, a prospect or a supplier (R8), some use free-mail domains or unknown
    ones (R9), and a few lack a first name, a last name or an email (R7), so the demo shows
    every rule at work.
    """
    rng = random.Random(seed)  # nosec B311 # seeded on purpose: the same demo every load
    fake = Faker("fr_CA")
    fake.seed_instance(seed)
    domains = list(EmailDomain.objects.order_by("domain").values_list("domain", flat=True))
    mailboxes = {}
    for code, _name, is_admin, switches in DEMO_USERS:
        if is_admin or not any(switches):
            continue
        contacts = [] if mailboxes else [_help_page_contact(*fields) for fields in HELP_PAGE_CONTACTS]
        for index in range(len(contacts), 24):
            first, last = fake.first_name(), fake.last_name()
            domain = rng.choice(domains) if index < 16 else rng.choice(["gmail.com", "videotron.ca", "inconnue.ca"])
            email = f"{_slug(first)}.{_slug(last)}@{domain}"
            if index == 21:
                first = ""
            if index == 22:
                last = ""
            city, province = rng.choice(CITIES)
            contact = {
                "givenName": first,
                "surname": last,
                "displayName": f"{first} {last}".strip(),
                "jobTitle": rng.choice(TITLES),
                "businessPhones": [_phone(rng, province)],
                "businessAddress": {"city": city, "state": province, "countryOrRegion": "Canada"},
                "emailAddresses": [] if index == 23 else [{"address": email, "name": f"{first} {last}"}],
            }
            contacts.append(contact)
        mailboxes[f"{code.lower()}@{DEMO_DOMAIN}"] = contacts
    return mailboxes


def _help_page_contact(first: str, last: str, title: str, email: str, phone: str) -> dict:
    return {
        "givenName": first,
        "surname": last,
        "displayName": f"{first} {last}",
        "jobTitle": title,
        "businessPhones": [phone] if phone else [],
        "emailAddresses": [{"address": email, "name": f"{first} {last}"}],
    }


def in_demo_outlook_folder(index: int) -> bool:
    """Whether the demo Outlook contact at `index` is filed in the subfolder DEMO_OUTLOOK_FOLDER
    (a quarter of them, some at a company's domain, one without an email): Outlook users file
    contacts in subfolders of Contacts, and the sync reads every folder."""
    return index % 4 == 3


def demo_outlook_meetings(contacts: list[dict]) -> list[dict]:
    """Meetings that Outlook contacts organized and sent to the mailbox (emulator control API
    shapes): a one-to-one invitation, accepted (its attendees list nobody but the mailbox), and a
    group meeting not yet answered. Prextra shows them read-only: they belong to their organizer."""
    first, second, *others = [contact["emailAddresses"][0] for contact in contacts if contact["emailAddresses"]]
    day = _demo_day()
    shapes = (
        (first, "accepted", [], "Rencontre avec %(name)s", day + timedelta(days=2), 10),
        (second, "notResponded", others[:2], "Revue de projet – %(name)s", day + timedelta(days=7), 13),
    )
    meetings = []
    for sender, response, invited, subject, when, hour in shapes:
        start = datetime.combine(when, time(hour))
        meetings.append(
            {
                "subject": subject % {"name": sender["name"]},
                "start": {"dateTime": start.isoformat(), "timeZone": "Eastern Standard Time"},
                "end": {"dateTime": (start + timedelta(hours=1)).isoformat(), "timeZone": "Eastern Standard Time"},
                "attendees": [{"type": "required", "emailAddress": dict(address)} for address in invited],
                "organizer": {"emailAddress": dict(sender)},
                "responseStatus": {"response": response},
            }
        )
    return meetings


def _demo_day() -> date:
    """The demo's anchor date when load_demo stored it, else today (read only: no row created)."""
    stored = Setting.objects.filter(key=ANCHOR_KEY).values_list("value", flat=True).first()
    return date.fromisoformat(stored) if stored else timezone.localdate()


def _enable_exchange_button() -> None:
    """R3: the demo shows the Exchange button, so btnexchange joins UserMaintenanceShowFields."""
    setting, _created = Setting.objects.get_or_create(key=USER_MAINTENANCE_SHOW_FIELDS)
    if "btnexchange" not in setting.values():
        setting.value = ",".join([*filter(None, [setting.value.strip(" ,")]), "btnexchange"])
        setting.save()


def _anchor_date() -> tuple[date, bool]:
    """The day the demo was first loaded (activities are spread around it), and whether it is today."""
    row, created = Setting.objects.get_or_create(
        key=ANCHOR_KEY,
        defaults={
            "value": timezone.localdate().isoformat(),
            "description": "Date de référence des activités de démonstration.",
        },
    )
    return date.fromisoformat(row.value), created


def _company(report: DemoReport) -> Company:
    company, created = Company.objects.get_or_create(code="PRX", defaults={"name": "Prextra Démo inc."})
    report.add("compagnies", created)
    return company


def _users(report: DemoReport, company: Company) -> list[User]:
    users = []
    for code, name, is_admin, switches in DEMO_USERS:
        email = f"{code.lower()}@{DEMO_DOMAIN}"
        user = User.objects.filter(code=code).first()
        created = user is None
        if created:
            user = User.objects.create_user(
                code, DEMO_PASSWORD, name=name, email=email, is_staff=is_admin, is_superuser=is_admin
            )
            user.default_company = company
            user.name_on_reports = name
            user.save()
            user.allowed_companies.add(company)
            contacts_in, activities_in, activities_out = switches
            ExchangeProfile.objects.get_or_create(
                user=user,
                defaults={
                    "sync_contacts_in": contacts_in,
                    "sync_activities_in": activities_in,
                    "sync_activities_out": activities_out,
                },
            )
        report.add("utilisateurs", created)
        users.append(user)
    return users


# The companies of the customer's help page (docs/spec/prextra-outlook-sync-help.fr.txt, the
# « Exchange » group's contacts): a customer and a prospect whose domains those contacts use, so
# that the demo shows R8 linking them where the help page shows them waiting in the group.
HELP_PAGE_COMPANIES = [
    (Customer, "FINLOC", "Finloc inc.", "finloc.com", ("Québec", "QC")),
    (Prospect, "CANAM", "Groupe Canam", "groupecanam.com", ("Saint-Georges", "QC")),
]
# Some of that page's contacts (given name, surname, title, email, phone), in the first staff
# mailbox; the hubspot.com and bluejays.com ones match no record and stay in the group (R9).
HELP_PAGE_CONTACTS = [
    ("Eric", "Lavoie", "Président", "eric.lavoie@finloc.com", "(418) 227-7767"),
    ("Caroline", "Larivière", "", "caroline.lariviere@finloc.com", ""),
    ("Denis", "Mathieu", "", "denis.mathieu@finloc.com", ""),
    ("Bianca", "Lecours", "", "bianca.lecours@groupecanam.com", ""),
    ("Chantal", "Marier", "", "chantal.marier@groupecanam.com", ""),
    ("Diane", "Morin", "", "diane.morin@groupecanam.com", ""),
    ("Anshul", "Bhargava", "", "billing@hubspot.com", ""),
    ("Charlie", "Wilson", "", "charlie.wilson@bluejays.com", ""),
]


def _organizations(report, fake, rng, staff) -> list[Customer | Prospect | Supplier]:
    organizations = []
    used_domains: set[str] = set(EmailDomain.objects.values_list("domain", flat=True))
    for model, prefix, count in ((Customer, "C", 30), (Prospect, "P", 15), (Supplier, "F", 15)):
        for number in range(1, count + 1):
            root = fake.last_name()
            name = f"{root} {rng.choice(['Construction', 'Industries', 'Mécanique', 'Distribution', 'Services'])}"
            name = f"{name} {rng.choice(COMPANY_SUFFIXES)}"
            city, province = rng.choice(CITIES)
            phone = _phone(rng, province)
            rep = rng.choice(staff)
            organization, created = _upsert(
                model,
                code=f"{prefix}{number:04d}",
                defaults={
                    "name": name,
                    "city": city,
                    "province": province,
                    "country": "Canada",
                    "phone": phone,
                    "sales_rep": rep,
                },
            )
            report.add(str(model._meta.verbose_name_plural), created)
            domain = _domain_for(organization, name, rng, used_domains)
            organization.demo_domain = domain
            organizations.append(organization)
    for model, code, name, domain, (city, province) in HELP_PAGE_COMPANIES:
        defaults = {"name": name, "city": city, "province": province, "country": "Canada", "sales_rep": staff[0]}
        organization, created = _upsert(model, code=code, defaults=defaults)
        report.add(str(model._meta.verbose_name_plural), created)
        if not organization.domains.exists():
            EmailDomain.objects.create(domain=domain, **{model._meta.model_name: organization})
        organization.demo_domain = domain
        organizations.append(organization)
    return organizations


def _domain_for(organization, name: str, rng: random.Random, used: set[str]) -> str:
    existing = organization.domains.first()
    tld = rng.choice([".ca", ".com", ".qc.ca"])
    if existing:
        return existing.domain
    base = _slug(name.rsplit(" ", 1)[0])[:40] or "entreprise"
    domain = f"{base}{tld}"
    suffix = 2
    while domain in used:
        domain = f"{base}{suffix}{tld}"
        suffix += 1
    used.add(domain)
    owner_field = organization._meta.model_name
    EmailDomain.objects.create(domain=domain, **{owner_field: organization})
    return domain


def _contacts(report, fake, rng, organizations, staff) -> list[Contact]:
    contacts = []
    for organization in organizations:
        owner_field = organization._meta.model_name
        for _index in range(rng.randint(2, 5)):
            contacts.append(_contact(report, fake, rng, {owner_field: organization}, organization, staff))
    groups = [
        ContactGroup.objects.get_or_create(code="SALON", defaults={"name": "Salon industriel"})[0],
        ContactGroup.objects.get_or_create(code="PARTEN", defaults={"name": "Partenaires"})[0],
        ContactGroup.objects.get(code=EXCHANGE_GROUP_CODE),
    ]
    for group in groups[:2]:
        for _index in range(8):
            contacts.append(_contact(report, fake, rng, {"group": group}, None, staff))
    return contacts


def _contact(report, fake, rng, owner: dict, organization, staff) -> Contact:
    first_name, last_name = fake.first_name(), fake.last_name()
    city, province = (organization.city, organization.province) if organization else rng.choice(CITIES)
    domain = organization.demo_domain if organization else rng.choice(["gmail.com", "videotron.ca", "hotmail.com"])
    email = f"{_slug(first_name)[:1]}{_slug(last_name)}{rng.randint(1, 99)}@{domain}"
    contact, created = _upsert(
        Contact,
        email=email,
        defaults={
            "first_name": first_name,
            "last_name": last_name,
            "title": rng.choice(TITLES),
            "phone": _phone(rng, province),
            "extension": str(rng.randint(100, 299)) if rng.random() < 0.4 else "",
            "city": city,
            "province": province,
            "country": "Canada",
            "representative": rng.choice(staff),
            "customer": None,
            "prospect": None,
            "supplier": None,
            "group": None,
            **owner,
        },
    )
    report.add("contacts", created)
    return contact


def _activities(report, rng, staff, contacts, anchor: date) -> None:
    first_day = anchor.replace(day=1) - timedelta(days=30)
    for user in staff:
        day = first_day
        while day <= first_day + timedelta(days=60):
            if day.weekday() < 5:
                for _index in range(rng.randint(1, 3)):
                    _timed_activity(report, rng, user, contacts, day)
                if rng.random() < 0.06:
                    _all_day_activity(report, rng, user, day)
            day += timedelta(days=1)


def _timed_activity(report, rng, user, contacts, day: date) -> None:
    start_local = datetime.combine(day, time(rng.randint(8, 16), rng.choice([0, 15, 30, 45])), LOCAL_ZONE)
    duration = timedelta(minutes=rng.choice([30, 45, 60, 60, 90, 120]))
    contact = rng.choice(contacts)
    _save_activity(
        report,
        user,
        subject=f"{rng.choice(SUBJECTS)} – {contact.last_name}",
        start=start_local,
        end=start_local + duration,
        all_day=False,
        contact=contact,
        location=contact.city,
        is_private=rng.random() < 0.1,
    )


def _all_day_activity(report, rng, user, day: date) -> None:
    days = rng.choice([1, 1, 2, 3])
    start_local = datetime.combine(day, time(0), LOCAL_ZONE)
    end_local = datetime.combine(day + timedelta(days=days), time(0), LOCAL_ZONE)
    _save_activity(
        report,
        user,
        subject=rng.choice(ALL_DAY_SUBJECTS),
        start=start_local,
        end=end_local,
        all_day=True,
        contact=None,
        location="Centre des congrès de Québec" if days > 1 else "",
        is_private=False,
    )


def _save_activity(report, user, *, subject, start, end, **fields) -> None:
    _activity, created = _upsert(Activity, owner=user, subject=subject, start=start, defaults={"end": end, **fields})
    report.add("activités", created)
