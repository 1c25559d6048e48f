"""The demo's "Outlook": a server-rendered page to watch and edit a mailbox by hand.

Plain HTML forms that POST back (then redirect), French first with English secondary. All
output goes through html.escape. Writes use the same store as Graph, so the product's next
delta round carries them over.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from html import escape
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, quote

from . import contacts, events, tz
from .errors import GraphError
from .wire import Response

if TYPE_CHECKING:
    from .server import GraphEmulator
    from .store import Mailbox
    from .wire import Request

ROOT = "/_emulator/"
PAGE_SIZE = 50
ZONES = ("Eastern Standard Time", "UTC", "Pacific Standard Time", "Atlantic Standard Time")
HTML = "text/html; charset=utf-8"
STYLE = """
body{font-family:system-ui,sans-serif;margin:0;background:#f3f2f1;color:#201f1e}
header{background:#0f6cbd;color:#fff;padding:.6rem 1.2rem}header a{color:#fff}header .en{color:#dbe9f7}
main{padding:1rem 1.2rem;max-width:72rem}table{border-collapse:collapse;width:100%;background:#fff}
th,td{border-bottom:1px solid #e1dfdd;padding:.35rem .5rem;text-align:left;vertical-align:top}
th{background:#faf9f8}.en{color:#605e5c;font-size:.85em}.err{background:#fde7e9;padding:.5rem}
form.inline{display:inline}label{display:block;margin:.4rem 0}input[type=text],input[type=email],
textarea,select,input[type=datetime-local]{width:28rem;max-width:100%}nav a{margin-right:1rem}
button{cursor:pointer}
"""


def e(value: object) -> str:
    """Escape anything for HTML text or attribute values."""
    return escape("" if value is None else str(value), quote=True)


def _page(title: str, body: str, status: int = 200) -> Response:
    html = (
        f'<!doctype html><html lang="fr-CA"><head><meta charset="utf-8"><title>{e(title)}</title>'
        f'<style>{STYLE}</style></head><body><header><a href="{ROOT}">Outlook (émulateur)</a> '
        f'<span class="en">Graph emulator</span></header><main>{body}</main></body></html>'
    )
    return Response(status, html, content_type=HTML)


def _redirect(location: str) -> Response:
    return Response(303, b"", {"Location": location}, HTML)


def _form(req: Request) -> dict[str, str]:
    try:
        text = req.body.decode("utf-8")
    except UnicodeDecodeError:
        text = ""
    return {k: v[0] for k, v in parse_qs(text, keep_blank_values=True).items()}


def _mailbox_url(address: str, view: str = "contacts", page: int = 1) -> str:
    return f"{ROOT}outlook/mailbox?address={quote(address)}&view={view}&page={page}"


def handle(emulator: GraphEmulator, req: Request, parts: list[str]) -> Response:
    """Route an Outlook-page request."""
    route = (req.method, "/".join(parts))
    pages = {
        ("GET", ""): _index,
        ("POST", "mailboxes"): _create_mailbox,
        ("GET", "mailbox"): _mailbox_page,
        ("POST", "seed"): _seed,
        ("GET", "contact"): _contact_form,
        ("POST", "contact"): _save_contact,
        ("POST", "contact/delete"): _delete_contact,
        ("POST", "contact/move"): _move_contact,
        ("POST", "folder"): _create_folder,
        ("POST", "folder/delete"): _delete_folder,
        ("GET", "event"): _event_form,
        ("POST", "event"): _save_event,
        ("POST", "event/delete"): _delete_event,
    }
    handler = pages.get(route)
    if handler is None:
        return _page("Introuvable", "<p>Page introuvable. <span class='en'>Not found.</span></p>", 404)
    return handler(emulator, req)


def _index(emulator: GraphEmulator, req: Request) -> Response:
    rows = []
    with emulator.store.lock:
        for m in emulator.store.mailboxes.values():
            rows.append(
                f'<tr><td><a href="{e(_mailbox_url(m.address))}">{e(m.address)}</a></td>'
                f"<td>{e(m.display_name)}</td><td>{len(m.contacts)}</td><td>{len(m.events)}</td></tr>"
            )
    body = (
        "<h1>Boîtes aux lettres <span class='en'>Mailboxes</span></h1>"
        "<table><tr><th>Adresse</th><th>Nom</th><th>Contacts</th><th>Événements</th></tr>"
        + ("".join(rows) or "<tr><td colspan=4>Aucune boîte. <span class='en'>None yet.</span></td></tr>")
        + "</table><h2>Nouvelle boîte <span class='en'>New mailbox</span></h2>"
        f'<form method="post" action="{ROOT}outlook/mailboxes"><label>Adresse '
        '<input type="email" name="address" required placeholder="marie.tremblay@prextra-demo.ca"></label>'
        "<button>Créer <span class='en'>Create</span></button></form>"
        f"<p class='en'>Graph: {e(emulator.graph_url)} · Authority: {e(emulator.authority)} · "
        f"CA: {e(emulator.ca_file)}</p>"
    )
    return _page("Outlook (émulateur)", body)


def _create_mailbox(emulator: GraphEmulator, req: Request) -> Response:
    address = _form(req).get("address", "").strip()
    if "@" not in address:
        return _page("Erreur", "<p class='err'>Adresse invalide. <span class='en'>Invalid address.</span></p>", 400)
    emulator.add_mailbox(address)
    return _redirect(_mailbox_url(address))


def _find(emulator: GraphEmulator, address: str) -> Mailbox | None:
    return emulator.store.find_mailbox(address) if address else None


def _not_found() -> Response:
    return _page("Introuvable", "<p class='err'>Boîte inconnue. <span class='en'>Unknown mailbox.</span></p>", 404)


def _mailbox_page(emulator: GraphEmulator, req: Request) -> Response:
    mailbox = _find(emulator, req.query.get("address", ""))
    if mailbox is None:
        return _not_found()
    view = "events" if req.query.get("view") == "events" else "contacts"
    page = max(1, int(req.query.get("page", "1")) if req.query.get("page", "1").isdigit() else 1)
    with emulator.store.lock:
        table, total = (_events_table if view == "events" else _contacts_table)(emulator, mailbox, page)
    addr = mailbox.address
    nav = (
        f'<nav><a href="{e(_mailbox_url(addr, "contacts"))}">Contacts</a>'
        f"<a href=\"{e(_mailbox_url(addr, 'events'))}\">Calendrier <span class='en'>Calendar</span></a>"
        f'<a href="{e(ROOT)}outlook/contact?address={e(quote(addr))}">+ Contact</a>'
        f'<a href="{e(ROOT)}outlook/event?address={e(quote(addr))}">+ Événement '
        "<span class='en'>Event</span></a></nav>"
    )
    pager = _pager(addr, view, page, total)
    seed = (
        f'<form method="post" action="{ROOT}outlook/seed"><input type="hidden" name="address" value="{e(addr)}">'
        "Générer <input type='number' name='contacts' value='20' min='0' max='5000'> contacts et "
        "<input type='number' name='events' value='10' min='0' max='2000'> événements "
        "<button>Générer <span class='en'>Seed</span></button></form>"
    )
    title = f"{mailbox.display_name} <{addr}>"
    with emulator.store.lock:
        tree = _folders_section(mailbox) if view == "contacts" else ""
    return _page(title, f"<h1>{e(title)}</h1>{nav}{tree}{pager}{table}{pager}<h2>Données</h2>{seed}")


def _folder_paths(mailbox: Mailbox) -> list[tuple[str, str]]:
    """(id, "Contacts / Clients / Québec") for every contact folder, in tree order."""
    paths: list[tuple[str, str]] = []

    def walk(parent: str, prefix: str) -> None:
        for folder in mailbox.folders.values():
            if folder["parentFolderId"] == parent:
                path = f"{prefix}{folder['displayName']}"
                paths.append((folder["id"], path))
                walk(folder["id"], f"{path} / ")

    walk(mailbox.root_folder_id, "")
    return paths


def _folder_options(paths: list[tuple[str, str]], selected: str = "") -> str:
    return "".join(
        f'<option value="{e(fid)}"{" selected" if fid == selected else ""}>{e(path)}</option>' for fid, path in paths
    )


def _folders_section(mailbox: Mailbox) -> str:
    """The folder tree: delete a folder (with its subfolders and contacts), or add one anywhere."""
    paths = _folder_paths(mailbox)
    hidden = f'<input type="hidden" name="address" value="{e(mailbox.address)}">'
    rows = "".join(
        f"<li>{e(path)}"
        + (
            ""
            if fid == mailbox.default_folder_id
            else f'<form class="inline" method="post" action="{ROOT}outlook/folder/delete">{hidden}'
            f'<input type="hidden" name="id" value="{e(fid)}"><button>Supprimer <span class="en">Delete</span>'
            "</button></form>"
        )
        + "</li>"
        for fid, path in paths
    )
    create = (
        f'<form method="post" action="{ROOT}outlook/folder">{hidden}'
        "Nouveau dossier <input name='displayName' required> dans <select name='parent'>"
        f"<option value='root'>(racine de la boîte)</option>{_folder_options(paths, mailbox.default_folder_id)}"
        "</select> <button>Créer <span class='en'>Create folder</span></button></form>"
    )
    return f"<h2>Dossiers <span class='en'>Folders</span></h2><ul>{rows}</ul>{create}"


def _pager(address: str, view: str, page: int, total: int) -> str:
    pages = max(1, -(-total // PAGE_SIZE))
    links = []
    if page > 1:
        links.append(f'<a href="{e(_mailbox_url(address, view, page - 1))}">« Précédent</a>')
    if page < pages:
        links.append(f'<a href="{e(_mailbox_url(address, view, page + 1))}">Suivant »</a>')
    return f"<p>Page {page} / {pages} ({total}) {' '.join(links)}</p>"


def _delete_button(kind: str, address: str, item_id: str) -> str:
    return (
        f'<form class="inline" method="post" action="{ROOT}outlook/{kind}/delete">'
        f'<input type="hidden" name="address" value="{e(address)}"><input type="hidden" name="id" value="{e(item_id)}">'
        "<button>Supprimer <span class='en'>Delete</span></button></form>"
    )


def _move_form(mailbox: Mailbox, paths: list[tuple[str, str]], record: dict) -> str:
    """Move the contact to another folder, as Outlook does (same id; Graph v1.0 has no contact move)."""
    return (
        f'<form class="inline" method="post" action="{ROOT}outlook/contact/move">'
        f'<input type="hidden" name="address" value="{e(mailbox.address)}">'
        f'<input type="hidden" name="id" value="{e(record["graph"]["id"])}">'
        f'<select name="folder">{_folder_options(paths, record["folder"])}</select>'
        "<button>Déplacer <span class='en'>Move</span></button></form>"
    )


def _contacts_table(emulator: GraphEmulator, mailbox: Mailbox, page: int) -> tuple[str, int]:
    records = list(mailbox.contacts.values())
    paths = _folder_paths(mailbox)
    rows = []
    for record in records[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]:
        c = record["graph"]
        email = ", ".join(x["address"] for x in c["emailAddresses"])
        edit = f"{ROOT}outlook/contact?address={quote(mailbox.address)}&id={quote(c['id'])}"
        rows.append(
            f"<tr><td>{e(c['givenName'])}</td><td>{e(c['surname'])}</td><td>{e(c['companyName'])}</td>"
            f"<td>{e(email)}</td><td>{e(', '.join(c['businessPhones']))}</td>"
            f"<td>{_move_form(mailbox, paths, record)}</td>"
            f'<td><a href="{e(edit)}">Modifier</a> {_delete_button("contact", mailbox.address, c["id"])}</td></tr>'
        )
    head = (
        "<tr><th>Prénom</th><th>Nom</th><th>Entreprise</th><th>Courriel</th><th>Téléphone</th>"
        "<th>Dossier</th><th></th></tr>"
    )
    return f"<table>{head}{''.join(rows)}</table>", len(records)


def _when(value: dict, all_day: bool) -> str:
    text = value["dateTime"][:16].replace("T", " ")
    return text[:10] if all_day else text


def _events_table(emulator: GraphEmulator, mailbox: Mailbox, page: int) -> tuple[str, int]:
    ctx = emulator.render_context(mailbox, "Eastern Standard Time")
    records = sorted(mailbox.events.values(), key=lambda r: _sort_key(r, emulator))
    rows = []
    for record in records[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]:
        ev = events.render(record, ctx)
        kind = "Série" if ev["type"] == "seriesMaster" else ("Journée" if ev["isAllDay"] else "")
        edit = f"{ROOT}outlook/event?address={quote(mailbox.address)}&id={quote(ev['id'])}"
        rows.append(
            f"<tr><td>{e(ev['subject'])}</td><td>{e(_when(ev['start'], ev['isAllDay']))}</td>"
            f"<td>{e(_when(ev['end'], ev['isAllDay']))}</td><td>{e(kind)}</td>"
            f"<td>{e(ev['location']['displayName'])}</td>"
            f"<td>{len(ev['attendees'])}</td>"
            f'<td><a href="{e(edit)}">Modifier</a> {_delete_button("event", mailbox.address, ev["id"])}</td></tr>'
        )
    head = (
        "<tr><th>Objet</th><th>Début (HNE)</th><th>Fin</th><th>Type</th><th>Lieu</th>"
        "<th>Participants</th><th></th></tr>"
    )
    return f"<table>{head}{''.join(rows)}</table>", len(records)


def _sort_key(record: dict, emulator: GraphEmulator) -> dt.datetime:
    start = record["start"]
    return tz.localize(start, emulator.store.floating) if record["all_day"] else start


def _seed(emulator: GraphEmulator, req: Request) -> Response:
    form = _form(req)
    mailbox = _find(emulator, form.get("address", ""))
    if mailbox is None:
        return _not_found()
    counts = [min(5000, int(form.get(k) or 0)) if (form.get(k) or "0").isdigit() else 0 for k in ("contacts", "events")]
    emulator.seed(mailbox.address, counts[0], counts[1], seed=len(mailbox.contacts) + len(mailbox.events))
    return _redirect(_mailbox_url(mailbox.address))


def _field(label: str, name: str, value: object, kind: str = "text") -> str:
    return f'<label>{label} <input type="{kind}" name="{e(name)}" value="{e(value)}"></label>'


def _contact_form(emulator: GraphEmulator, req: Request, error: str = "", values: dict | None = None) -> Response:
    mailbox = _find(emulator, req.query.get("address", "") or (values or {}).get("address", ""))
    if mailbox is None:
        return _not_found()
    item_id = req.query.get("id", "") or (values or {}).get("id", "")
    record = mailbox.contacts.get(item_id) if item_id else None
    c = record["graph"] if record else {}
    v = values or {
        "givenName": c.get("givenName"),
        "surname": c.get("surname"),
        "companyName": c.get("companyName"),
        "jobTitle": c.get("jobTitle"),
        "email": ", ".join(x["address"] for x in c.get("emailAddresses", [])),
        "phone": ", ".join(c.get("businessPhones", [])),
        "mobilePhone": c.get("mobilePhone"),
        "city": (c.get("businessAddress") or {}).get("city"),
    }
    body = (
        f"<h1>{'Modifier le contact' if record else 'Nouveau contact'} <span class='en'>Contact</span></h1>"
        + (f"<p class='err'>{e(error)}</p>" if error else "")
        + f'<form method="post" action="{ROOT}outlook/contact">'
        f'<input type="hidden" name="address" value="{e(mailbox.address)}">'
        f'<input type="hidden" name="id" value="{e(item_id)}">'
        + _field("Prénom <span class='en'>First name</span>", "givenName", v.get("givenName"))
        + _field("Nom <span class='en'>Last name</span>", "surname", v.get("surname"))
        + _field("Entreprise <span class='en'>Company</span>", "companyName", v.get("companyName"))
        + _field("Titre <span class='en'>Job title</span>", "jobTitle", v.get("jobTitle"))
        + _field("Courriels (virgules) <span class='en'>Emails</span>", "email", v.get("email"))
        + _field("Téléphones <span class='en'>Business phones</span>", "phone", v.get("phone"))
        + _field("Cellulaire <span class='en'>Mobile</span>", "mobilePhone", v.get("mobilePhone"))
        + _field("Ville <span class='en'>City</span>", "city", v.get("city"))
        + "<button>Enregistrer <span class='en'>Save</span></button></form>"
    )
    return _page("Contact", body, 400 if error else 200)


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _save_contact(emulator: GraphEmulator, req: Request) -> Response:
    form = _form(req)
    mailbox = _find(emulator, form.get("address", ""))
    if mailbox is None:
        return _not_found()
    body = {
        "givenName": form.get("givenName") or None,
        "surname": form.get("surname") or None,
        "companyName": form.get("companyName") or None,
        "jobTitle": form.get("jobTitle") or None,
        "emailAddresses": [{"address": a, "name": a} for a in _split(form.get("email", ""))],
        "businessPhones": _split(form.get("phone", "")),
        "mobilePhone": form.get("mobilePhone") or None,
        "businessAddress": {"city": form.get("city") or None},
    }
    try:
        fields = contacts.validate(body)
        if form.get("id"):
            emulator.store.update_contact(mailbox, form["id"], fields)
        else:
            emulator.store.create_contact(mailbox, fields)
    except GraphError as exc:
        req.query.clear()
        return _contact_form(emulator, req, exc.message, form)
    return _redirect(_mailbox_url(mailbox.address))


def _delete_contact(emulator: GraphEmulator, req: Request) -> Response:
    form = _form(req)
    mailbox = _find(emulator, form.get("address", ""))
    if mailbox is None:
        return _not_found()
    with contextlib.suppress(GraphError):  # already gone: nothing to do
        emulator.store.delete_contact(mailbox, form.get("id", ""))
    return _redirect(_mailbox_url(mailbox.address))


def _move_contact(emulator: GraphEmulator, req: Request) -> Response:
    form = _form(req)
    mailbox = _find(emulator, form.get("address", ""))
    if mailbox is None:
        return _not_found()
    with contextlib.suppress(GraphError):  # the contact or the folder is gone: nothing to do
        emulator.store.move_contact(mailbox, form.get("id", ""), form.get("folder", ""))
    return _redirect(_mailbox_url(mailbox.address))


def _create_folder(emulator: GraphEmulator, req: Request) -> Response:
    form = _form(req)
    mailbox = _find(emulator, form.get("address", ""))
    if mailbox is None:
        return _not_found()
    parent = mailbox.root_folder_id if form.get("parent") == "root" else form.get("parent")
    name = (form.get("displayName") or "").strip()
    if name:
        with contextlib.suppress(GraphError):  # same name beside it, or the parent is gone
            emulator.store.create_folder(mailbox, name, parent)
    return _redirect(_mailbox_url(mailbox.address))


def _delete_folder(emulator: GraphEmulator, req: Request) -> Response:
    form = _form(req)
    mailbox = _find(emulator, form.get("address", ""))
    if mailbox is None:
        return _not_found()
    with contextlib.suppress(GraphError):  # already gone, or the default folder
        emulator.store.delete_folder(mailbox, form.get("id", ""))
    return _redirect(_mailbox_url(mailbox.address))


def _event_values(emulator: GraphEmulator, mailbox: Mailbox, record: dict | None) -> dict:
    if record is None:
        now = dt.datetime.now(tz.resolve_zone(ZONES[0])).replace(tzinfo=None)
        start = now.replace(minute=0, second=0, microsecond=0) + dt.timedelta(hours=1)
        return {
            "start": start.strftime("%Y-%m-%dT%H:%M"),
            "end": (start + dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
            "timeZone": ZONES[0],
            "sensitivity": "normal",
        }
    ev = events.render(record, emulator.render_context(mailbox, record["tz_start"]))
    return {
        "subject": ev["subject"],
        "start": ev["start"]["dateTime"][:16],
        "end": ev["end"]["dateTime"][:16],
        "timeZone": record["tz_start"],
        "isAllDay": "on" if ev["isAllDay"] else "",
        "location": ev["location"]["displayName"],
        "body": events.html_to_text(record["fields"]["body"]["content"]),
        "attendees": ", ".join(events.attendee_addresses(ev["attendees"])),
        "categories": ", ".join(ev["categories"]),
        "sensitivity": ev["sensitivity"],
    }


def _options(values: tuple[str, ...], chosen: str) -> str:
    return "".join(f'<option value="{e(v)}"{" selected" if v == chosen else ""}>{e(v)}</option>' for v in values)


def _event_form(emulator: GraphEmulator, req: Request, error: str = "", values: dict | None = None) -> Response:
    mailbox = _find(emulator, req.query.get("address", "") or (values or {}).get("address", ""))
    if mailbox is None:
        return _not_found()
    item_id = req.query.get("id", "") or (values or {}).get("id", "")
    record = mailbox.events.get(item_id) if item_id else None
    v = values or _event_values(emulator, mailbox, record)
    checked = " checked" if v.get("isAllDay") else ""
    body = (
        f"<h1>{'Modifier' if record else 'Nouvel'} événement <span class='en'>Event</span></h1>"
        + (f"<p class='err'>{e(error)}</p>" if error else "")
        + f'<form method="post" action="{ROOT}outlook/event">'
        f'<input type="hidden" name="address" value="{e(mailbox.address)}">'
        f'<input type="hidden" name="id" value="{e(item_id)}">'
        + _field("Objet <span class='en'>Subject</span>", "subject", v.get("subject"))
        + _field("Début <span class='en'>Start</span>", "start", v.get("start"), "datetime-local")
        + _field("Fin <span class='en'>End</span>", "end", v.get("end"), "datetime-local")
        + f"<label>Fuseau <span class='en'>Time zone</span> <select name='timeZone'>"
        f"{_options(ZONES, v.get('timeZone', ZONES[0]))}</select></label>"
        + f"<label><input type='checkbox' name='isAllDay'{checked}> Toute la journée "
        "<span class='en'>All day</span></label>"
        + _field("Lieu <span class='en'>Location</span>", "location", v.get("location"))
        + f"<label>Description <textarea name='body' rows='4'>{e(v.get('body'))}</textarea></label>"
        + _field(
            "Participants (courriels, virgules) <span class='en'>Attendees</span>", "attendees", v.get("attendees")
        )
        + _field("Catégories", "categories", v.get("categories"))
        + "<label>Confidentialité <span class='en'>Sensitivity</span> <select name='sensitivity'>"
        + _options(events.SENSITIVITY, v.get("sensitivity", "normal"))
        + "</select></label>"
        + "<button>Enregistrer <span class='en'>Save</span></button></form>"
    )
    return _page("Événement", body, 400 if error else 200)


def _event_body(form: dict[str, str]) -> dict:
    all_day = bool(form.get("isAllDay"))
    zone = form.get("timeZone") or ZONES[0]
    start, end = form.get("start", ""), form.get("end", "")
    if all_day:
        start, end = start[:10] + "T00:00", end[:10] + "T00:00"
        if end <= start:
            end = (dt.date.fromisoformat(start[:10]) + dt.timedelta(days=1)).isoformat() + "T00:00"
    return {
        "subject": form.get("subject", ""),
        "start": {"dateTime": start + ":00" if len(start) == 16 else start, "timeZone": zone},
        "end": {"dateTime": end + ":00" if len(end) == 16 else end, "timeZone": zone},
        "isAllDay": all_day,
        "location": {"displayName": form.get("location", "")},
        "body": {"contentType": "text", "content": form.get("body", "")},
        "attendees": [
            {"type": "required", "emailAddress": {"address": a, "name": a}} for a in _split(form.get("attendees", ""))
        ],
        "categories": _split(form.get("categories", "")),
        "sensitivity": form.get("sensitivity") or "normal",
    }


def _save_event(emulator: GraphEmulator, req: Request) -> Response:
    form = _form(req)
    mailbox = _find(emulator, form.get("address", ""))
    if mailbox is None:
        return _not_found()
    try:
        fields = events.validate(_event_body(form))
        if form.get("id"):
            emulator.store.update_event(mailbox, form["id"], fields)
        else:
            emulator.store.create_event(mailbox, fields)
    except (GraphError, ValueError) as exc:
        req.query.clear()
        return _event_form(emulator, req, getattr(exc, "message", str(exc)), form)
    return _redirect(_mailbox_url(mailbox.address, "events"))


def _delete_event(emulator: GraphEmulator, req: Request) -> Response:
    form = _form(req)
    mailbox = _find(emulator, form.get("address", ""))
    if mailbox is None:
        return _not_found()
    with contextlib.suppress(GraphError):  # already gone: nothing to do
        emulator.store.delete_event(mailbox, form.get("id", ""))
    return _redirect(_mailbox_url(mailbox.address, "events"))
