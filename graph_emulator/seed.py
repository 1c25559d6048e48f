"""Deterministic, realistic fr-CA mailbox content for tests and the demo.

Quebec surnames and given names, Quebec cities and postal codes, .ca company domains and
free-mail domains; contacts missing a first name, a last name or an email; single, multi-day,
all-day and recurring events (with an exception and a cancelled occurrence), meetings with
several attendees. The same seed, anchor date and mailbox state give the same data.
"""

from __future__ import annotations

import datetime as dt
import random
import unicodedata

from .store import Mailbox, Store

SURNAMES = [
    "Tremblay",
    "Gagnon",
    "Roy",
    "Côté",
    "Bouchard",
    "Gauthier",
    "Morin",
    "Lavoie",
    "Fortin",
    "Gagné",
    "Ouellet",
    "Pelletier",
    "Bélanger",
    "Lévesque",
    "Bergeron",
    "Leblanc",
    "Paquette",
    "Girard",
    "Simard",
    "Boucher",
    "Caron",
    "Beaulieu",
    "Cloutier",
    "Dubé",
    "Poirier",
    "Fournier",
    "Lapointe",
    "Leclerc",
    "Lefebvre",
    "Poulin",
    "Thibault",
    "St-Pierre",
    "Nadeau",
    "Martin",
    "Landry",
    "Martel",
    "Bédard",
    "Grenier",
    "Lessard",
    "Bernier",
    "Richard",
    "Michaud",
    "Hébert",
    "Desjardins",
    "Couture",
    "Turcotte",
    "Lachance",
    "Parent",
    "Blais",
    "Gosselin",
    "Savard",
    "Proulx",
    "Beaudoin",
    "Demers",
    "Perreault",
    "Boudreau",
    "Lemieux",
    "Cyr",
    "Perron",
    "Dufour",
    "Dion",
    "Mercier",
    "Bolduc",
    "Bérubé",
    "Boisvert",
    "Langlois",
    "Ménard",
    "Therrien",
    "Plante",
    "Bilodeau",
    "Blanchette",
    "Dussault",
    "Champagne",
    "Paradis",
    "Fortier",
    "Vallée",
    "Gingras",
    "Laroche",
]
GIVEN = [
    "Marie",
    "Jean",
    "Sophie",
    "Mathieu",
    "Julie",
    "Éric",
    "Isabelle",
    "Patrick",
    "Nathalie",
    "Sylvain",
    "Geneviève",
    "Marc-André",
    "Catherine",
    "François",
    "Valérie",
    "Simon",
    "Émilie",
    "Alexandre",
    "Mélanie",
    "Martin",
    "Chantal",
    "Stéphane",
    "Annie",
    "Luc",
    "Josée",
    "Guillaume",
    "Karine",
    "Maxime",
    "Caroline",
    "Olivier",
    "Véronique",
    "Jean-François",
    "Marie-Ève",
    "Pierre-Luc",
    "Audrey",
    "Félix",
    "Léa",
    "Gabriel",
    "Chloé",
    "Samuel",
    "Amélie",
    "Benoît",
    "Louise",
    "Réjean",
]
CITIES = (
    ("Montréal", "H"),
    ("Québec", "G"),
    ("Laval", "H"),
    ("Gatineau", "J"),
    ("Longueuil", "J"),
    ("Sherbrooke", "J"),
    ("Lévis", "G"),
    ("Saguenay", "G"),
    ("Trois-Rivières", "G"),
    ("Terrebonne", "J"),
    ("Saint-Jean-sur-Richelieu", "J"),
    ("Drummondville", "J"),
    ("Saint-Jérôme", "J"),
    ("Granby", "J"),
    ("Rimouski", "G"),
    ("Rouyn-Noranda", "J"),
    ("Victoriaville", "G"),
    ("Boucherville", "J"),
)
STREETS = (
    "rue Saint-Denis",
    "boulevard René-Lévesque Ouest",
    "chemin Sainte-Foy",
    "avenue du Mont-Royal Est",
    "rue Sherbrooke Ouest",
    "rue King Ouest",
    "boulevard Laurier",
    "rue Principale",
    "boulevard des Forges",
    "rue Notre-Dame Est",
)
COMPANY_KINDS = (
    "Construction {} inc.",
    "Excavations {} ltée",
    "Groupe {} et associés",
    "Béton {}",
    "Toitures {} inc.",
    "Électricité {} ltée",
    "Plomberie {} inc.",
    "Entreprises {}",
)
FREE_MAIL = (
    "gmail.com",
    "hotmail.com",
    "videotron.ca",
    "outlook.com",
    "yahoo.ca",
    "sympatico.ca",
    "live.ca",
    "bell.net",
)
JOBS = (
    "Directeur des achats",
    "Chargée de projet",
    "Estimateur",
    "Contremaître",
    "Président",
    "Comptable",
    "Adjointe administrative",
    "Ingénieur civil",
    "Surintendant de chantier",
    "Directrice générale",
)
AREA_CODES = ("514", "438", "450", "579", "418", "581", "819", "873")
SUBJECTS = (
    "Rencontre de chantier – {company}",
    "Appel avec {person}",
    "Soumission {company}",
    "Visite de chantier à {city}",
    "Revue de projet {company}",
    "Dîner d'affaires avec {person}",
    "Inspection finale – {city}",
    "Suivi de facturation {company}",
)
ZONE = "Eastern Standard Time"


def _slug(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in plain.lower() if ch.isalnum() or ch == "-").strip("-")


def _postal(rng: random.Random, letter: str) -> str:
    letters = "ABCEGHJKLMNPRSTVXY"
    return (
        f"{letter}{rng.randint(0, 9)}{rng.choice(letters)} {rng.randint(1, 9)}{rng.choice(letters)}{rng.randint(0, 9)}"
    )


def _phone(rng: random.Random) -> str:
    return f"{rng.choice(AREA_CODES)} 555-{rng.randint(100, 9999):04d}"


def contact_fields(rng: random.Random) -> dict:
    """One contact, as a Graph request body would carry it (already valid)."""
    given, surname = rng.choice(GIVEN), rng.choice(SURNAMES)
    company = rng.choice(COMPANY_KINDS).format(rng.choice(SURNAMES))
    city, letter = rng.choice(CITIES)
    roll = rng.random()
    fields: dict = {
        "givenName": None if roll < 0.05 else given,
        "surname": None if 0.05 <= roll < 0.10 else surname,
        "companyName": company,
        "jobTitle": rng.choice(JOBS),
        "businessPhones": [_phone(rng)],
        "mobilePhone": _phone(rng) if rng.random() < 0.6 else None,
        "businessAddress": {
            "street": f"{rng.randint(10, 9999)}, {rng.choice(STREETS)}",
            "city": city,
            "state": "QC",
            "countryOrRegion": "Canada",
            "postalCode": _postal(rng, letter),
        },
        "categories": ["Clients"] if rng.random() < 0.3 else [],
        "emailAddresses": [],
    }
    if not 0.10 <= roll < 0.20:
        fields["emailAddresses"] = _emails(rng, given, surname, company)
    return fields


def _emails(rng: random.Random, given: str, surname: str, company: str) -> list[dict]:
    local = f"{_slug(given)}.{_slug(surname)}"
    name = f"{given} {surname}"
    if rng.random() < 0.3:
        domain = rng.choice(FREE_MAIL)
    else:
        domain = _slug(company.split(" ", 1)[1].replace(" inc.", "").replace(" ltée", "")) + rng.choice(
            (".ca", ".qc.ca", ".com")
        )
    emails = [{"name": name, "address": f"{local}@{domain}"}]
    if rng.random() < 0.1:
        emails.append({"name": name, "address": f"{_slug(given)}{rng.randint(1, 99)}@{rng.choice(FREE_MAIL)}"})
    return emails


def _when(day: dt.date, hour: int, minute: int = 0) -> dict:
    return {"dateTime": dt.datetime.combine(day, dt.time(hour, minute)).isoformat(), "timeZone": ZONE}


def _attendees(rng: random.Random, count: int) -> list[dict]:
    people = []
    for _ in range(count):
        given, surname = rng.choice(GIVEN), rng.choice(SURNAMES)
        domain = rng.choice(("tremblay-construction.ca", "beton-gagnon.qc.ca", "groupe-roy.ca", "gmail.com"))
        address = f"{_slug(given)}.{_slug(surname)}@{domain}"
        people.append(
            {
                "type": rng.choice(("required", "required", "optional")),
                "emailAddress": {"name": f"{given} {surname}", "address": address},
            }
        )
    return people


def event_fields(rng: random.Random, anchor: dt.date, index: int) -> dict:
    """One event body: single, all-day, multi-day or recurring, some with attendees."""
    city, _letter = rng.choice(CITIES)
    company = rng.choice(COMPANY_KINDS).format(rng.choice(SURNAMES))
    person = f"{rng.choice(GIVEN)} {rng.choice(SURNAMES)}"
    day = anchor + dt.timedelta(days=rng.randint(-45, 75))
    fields: dict = {
        "subject": rng.choice(SUBJECTS).format(company=company, person=person, city=city),
        "body": {
            "contentType": "text",
            "content": f"Ordre du jour : avancement des travaux à {city}.\nApporter les plans.",
        },
        "location": {"displayName": f"{rng.randint(10, 999)}, {rng.choice(STREETS)}, {city}"},
        "sensitivity": "private" if rng.random() < 0.08 else "normal",
        "categories": ["Chantier"] if rng.random() < 0.3 else [],
    }
    kind = index % 10
    if kind == 0:
        fields.update(isAllDay=True, start=_when(day, 0), end=_when(day + dt.timedelta(days=1), 0))
        fields["showAs"] = "free"
    elif kind == 1:
        fields.update(isAllDay=True, start=_when(day, 0), end=_when(day + dt.timedelta(days=rng.randint(2, 4)), 0))
    elif kind == 2:
        fields.update(start=_when(day, 14), end=_when(day + dt.timedelta(days=2), 11))
    elif kind == 3:
        fields.update(start=_when(day, 9), end=_when(day, 10), recurrence=_recurrence(rng, day))
    else:
        hour = rng.randint(7, 16)
        fields.update(start=_when(day, hour, rng.choice((0, 30))), end=_when(day, hour + 1, 30))
    if kind in (3, 4, 5) or rng.random() < 0.1:
        fields["attendees"] = _attendees(rng, rng.randint(2, 5))
    return fields


def _recurrence(rng: random.Random, day: dt.date) -> dict:
    weekday = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")[day.weekday()]
    style = rng.randint(0, 2)
    if style == 0:
        pattern = {"type": "weekly", "interval": 1, "daysOfWeek": [weekday]}
        rng_ = {"type": "endDate", "startDate": day.isoformat(), "endDate": (day + dt.timedelta(weeks=12)).isoformat()}
    elif style == 1:
        pattern = {"type": "daily", "interval": 1}
        rng_ = {"type": "numbered", "startDate": day.isoformat(), "numberOfOccurrences": 5}
    else:
        pattern = {"type": "relativeMonthly", "interval": 1, "daysOfWeek": [weekday], "index": "first"}
        rng_ = {"type": "noEnd", "startDate": day.isoformat()}
    return {"pattern": pattern, "range": rng_}


def seed_mailbox(
    store: Store, mailbox: Mailbox, contacts: int = 0, events: int = 0, seed: int = 0, anchor: dt.date | None = None
) -> dict:
    """Add `contacts` contacts and `events` events; the first series gets an exception and a cancellation."""
    # Seeded on purpose: the same mailbox every time.
    rng = random.Random(f"{seed}:{mailbox.address.lower()}")  # nosec B311
    anchor = anchor or dt.datetime.now(dt.UTC).date()
    with store.lock:
        for _ in range(contacts):
            store.create_contact(mailbox, contact_fields(rng), rng=rng)
        series = []
        for index in range(events):
            record, _notes = store.create_event(mailbox, event_fields(rng, anchor, index), rng=rng)
            if record["recurrence"] is not None:
                series.append(record)
        if series:
            _vary_first_series(store, mailbox, series[0])
    return {"contacts": contacts, "events": events}


def _vary_first_series(store: Store, mailbox: Mailbox, record: dict) -> None:
    from . import events as ev
    from . import ids

    window = (record["start"] - dt.timedelta(days=1), record["start"] + dt.timedelta(days=400))
    found = ev.expand(ev.shape(record), window, store.floating)
    if len(found) >= 3:
        store.update_event(
            mailbox,
            ids.occurrence_id(record["id"], found[1].key),
            {"subject": record["fields"]["subject"] + " (déplacée)"},
        )
        store.delete_event(mailbox, ids.occurrence_id(record["id"], found[2].key))
