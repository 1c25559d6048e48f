"""CRM › Maintenance › Clients, Prospects, Fournisseurs: a list per kind, a record page, its
creation, edition, deactivation and email domains. One set of views serves the three kinds: the
URLs pass `kind` (crm/records.py KINDS).

Everyone reads every record; administrators and the record's representative change it (403 for
the others). A record is never deleted: its contacts and activities keep pointing to it, so it is
deactivated instead. Adding or removing a domain re-links the synchronized contacts at once (the
exchange app's receiver of EmailDomain writes) and the message says what that did.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from prextra_sync.lists import configure_table, render_list

from .calendar import cards_of
from .models import EmailDomain
from .record_forms import DomainForm, RecordFilterForm, record_form_class
from .records import KINDS, add_domain, can_edit, recent_activities, remove_domain, search_records, search_words
from .tables import RecordTable

ACTIVITIES_SHOWN = 10
RECORDS_SHOWN = 8  # of each kind, in the record picker
CONTACTS_SHOWN = 100


def _record(kind: str, pk: int):
    return get_object_or_404(KINDS[kind].model.objects.select_related("sales_rep"), pk=pk)


def _editable_record(request: HttpRequest, kind: str, pk: int):
    record = _record(kind, pk)
    if not can_edit(request.user, record):
        raise PermissionDenied
    return record


def _contact_search_url(kind, record) -> str:
    """Contact search (R11) narrowed to the record's contacts, where the page's first ones end."""
    query = urlencode({"owner_type": kind.key, "name": record.name, "status": "tous"})
    return f"{reverse('contact_search')}?{query}"


@vary_on_headers("HX-Request")
def record_list(request: HttpRequest, kind: str) -> HttpResponse:
    """A kind's list: search, representative, Actif/Inactif/Tous, paged by « Nbre lignes »."""
    record_kind = KINDS[kind]
    form = RecordFilterForm(request.GET)
    table = None
    if form.is_valid():
        records = form.filter_qs(record_kind.model.objects.select_related("sales_rep"), kind=record_kind)
        table = configure_table(request, RecordTable(records, detail_url_name=record_kind.url_name("detail")))
    context = {"kind": record_kind, "form": form, "table": table}
    return render_list(request, "crm/record_list.html", context, status=200 if table is not None else 400)


def record_detail(request: HttpRequest, kind: str, pk: int, domain_form: DomainForm | None = None) -> HttpResponse:
    """A record: its fields, email domains, contacts and its contacts' latest activities, private
    ones of other users reduced to « Occupé » as in the calendars."""
    record_kind = KINDS[kind]
    record = _record(kind, pk)
    editable = can_edit(request.user, record)
    activities = recent_activities(record, record_kind)[:ACTIVITIES_SHOWN]
    context = {
        "kind": record_kind,
        "record": record,
        "can_edit": editable,
        "domains": record.domains.all(),
        "contacts": record.contacts.select_related("representative")[:CONTACTS_SHOWN],
        "contact_count": record.contacts.count(),
        "contacts_shown": CONTACTS_SHOWN,
        "all_contacts_url": _contact_search_url(record_kind, record),
        "recent": cards_of(activities, request.user, with_notes=True),
        "domain_form": (domain_form or DomainForm(kind=record_kind)) if editable else None,
    }
    return render(request, "crm/record_detail.html", context, status=400 if domain_form is not None else 200)


def record_create(request: HttpRequest, kind: str) -> HttpResponse:
    """A new record of `kind`; its representative is the user unless they choose another."""
    record_kind = KINDS[kind]
    form_class = record_form_class(record_kind)
    if request.method == "POST":
        form = form_class(request.POST)
        if form.is_valid():
            record = form.save()
            messages.success(request, _("La fiche « %(name)s » a été créée.") % {"name": record.name})
            return redirect(record_kind.url_name("detail"), pk=record.pk)
    else:
        form = form_class(initial={"sales_rep": request.user.pk})
    context = {"kind": record_kind, "form": form, "record": None}
    return render(request, "crm/record_form.html", context, status=400 if form.is_bound else 200)


def record_edit(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    """Edit a record (administrators and its representative)."""
    record_kind = KINDS[kind]
    record = _editable_record(request, kind, pk)
    form = record_form_class(record_kind)(request.POST if request.method == "POST" else None, instance=record)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("La fiche « %(name)s » a été enregistrée.") % {"name": record.name})
        return redirect(record_kind.url_name("detail"), pk=record.pk)
    context = {"kind": record_kind, "form": form, "record": record}
    return render(request, "crm/record_form.html", context, status=400 if form.is_bound else 200)


@require_POST
def record_set_active(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    """Deactivate (or reactivate) a record: it leaves the lists and the linking of contacts (R8),
    its contacts and activities stay."""
    record = _editable_record(request, kind, pk)
    record.is_active = request.POST.get("active") == "1"
    record.save(update_fields=["is_active"])
    text = _("La fiche « %(name)s » est réactivée.") if record.is_active else _("La fiche « %(name)s » est désactivée.")
    messages.success(request, text % {"name": record.name})
    return redirect(KINDS[kind].url_name("detail"), pk=record.pk)


def record_domain_add(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    """Add an email domain to a record; say how many contacts it now links (R8). A GET shows the
    record page, whose form posts here."""
    record_kind = KINDS[kind]
    record = _editable_record(request, kind, pk)
    if request.method != "POST":
        return record_detail(request, kind, pk)
    form = DomainForm(request.POST, kind=record_kind)
    if not form.is_valid():
        return record_detail(request, kind, pk, domain_form=form)
    domain = form.cleaned_data["domain"]
    count = add_domain(record, record_kind, domain)
    text = ngettext(
        "Domaine %(domain)s ajouté : %(count)s contact associé à %(name)s",
        "Domaine %(domain)s ajouté : %(count)s contacts associés à %(name)s",
        count,
    )
    messages.success(request, text % {"domain": domain, "count": count, "name": record.name})
    return redirect(record_kind.url_name("detail"), pk=record.pk)


@require_POST
def record_domain_remove(request: HttpRequest, kind: str, pk: int, domain_pk: int) -> HttpResponse:
    """Remove an email domain from a record; say how many contacts the re-linking moved (R8, R9)."""
    record_kind = KINDS[kind]
    record = _editable_record(request, kind, pk)
    row = get_object_or_404(EmailDomain, pk=domain_pk, **{record_kind.key: record})
    count = remove_domain(record, record_kind, row)
    text = ngettext(
        "Domaine %(domain)s retiré : %(count)s contact n'est plus associé à %(name)s",
        "Domaine %(domain)s retiré : %(count)s contacts ne sont plus associés à %(name)s",
        count,
    )
    messages.success(request, text % {"domain": row.domain, "count": count, "name": record.name})
    return redirect(record_kind.url_name("detail"), pk=record.pk)


def record_search(request: HttpRequest) -> HttpResponse:
    """Search-as-you-type for a customer, prospect or supplier (the record picker of the contact
    page's « Association à une fiche »): active records by name, code or email domain, by kind."""
    typed = request.GET.get("record_search") or request.GET.get("q") or ""
    groups = search_records(typed, RECORDS_SHOWN)
    context = {"groups": groups, "searched": len("".join(search_words(typed))) >= 2}
    return render(request, "crm/fragment_record_picker.html#results", context)
