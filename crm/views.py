"""CRM screens.

Every screen needs a signed-in user (LoginRequiredMiddleware); the CRM screens are open to all
CRM staff. Lists render only their "results" partial when htmx asks (sort, page, filter).
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.db.models import Count, Prefetch, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.views.decorators.vary import vary_on_headers

from prextra_sync.lists import configure_table, render_list

from .calendar import ActivityCard, card_lists
from .forms import (
    ContactAssignForm,
    ContactForm,
    ContactGroupFilterForm,
    ContactGroupForm,
    ContactSearchForm,
    GroupContactFilterForm,
    owner_from_reference,
)
from .models import Activity, Contact, ContactGroup, OutlookContact
from .services import assign_contact_owner, can_assign, candidate_companies
from .tables import ContactGroupTable, ContactSearchTable, GroupContactTable

ACTIVITIES_SHOWN = 10


def home(request: HttpRequest) -> HttpResponse:
    """The signed-in user's home: their activities of the next two weeks."""
    now = timezone.now()
    upcoming = (
        Activity.objects.alive()
        .filter(owner=request.user, end__gte=now, start__lt=now + timedelta(days=14))
        .select_related("contact")
        .order_by("start")[:15]
    )
    return render(request, "crm/home.html", {"upcoming": upcoming})


def _filtered_table(request: HttpRequest, form, qs: QuerySet, table_class, **filter_kwargs):
    """The configured table of `qs` filtered by `form`, or None when the query string is invalid."""
    if not form.is_valid():
        return None
    return configure_table(request, table_class(form.filter_qs(qs, **filter_kwargs)))


def _list_response(request: HttpRequest, template: str, context: dict) -> HttpResponse:
    status = 200 if context["table"] is not None else 400
    return render_list(request, template, context, status=status)


@vary_on_headers("HX-Request")
def contact_groups(request: HttpRequest) -> HttpResponse:
    """CRM › Maintenance › Groupes de contacts (R10): the groups, their contact counts, Actif/Inactif/Tous."""
    form = ContactGroupFilterForm(request.GET)
    groups = ContactGroup.objects.annotate(contact_count=Count("contacts"))
    table = _filtered_table(request, form, groups, ContactGroupTable)
    return _list_response(request, "crm/contact_groups.html", {"form": form, "table": table})


def contact_group_create(request: HttpRequest) -> HttpResponse:
    """Create a contact group (R10)."""
    form = ContactGroupForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        group = form.save()
        messages.success(request, _("Le groupe « %(name)s » a été créé.") % {"name": group.name})
        return redirect("contact_groups")
    return render(request, "crm/contact_group_form.html", {"form": form, "group": None})


def contact_group_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Edit a contact group (R10); the Exchange group keeps its code and stays active (R9)."""
    group = get_object_or_404(ContactGroup, pk=pk)
    form = ContactGroupForm(request.POST if request.method == "POST" else None, instance=group)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Le groupe « %(name)s » a été enregistré.") % {"name": group.name})
        return redirect("contact_groups")
    return render(request, "crm/contact_group_form.html", {"form": form, "group": group})


@vary_on_headers("HX-Request")
def contact_group_contacts(request: HttpRequest, pk: int) -> HttpResponse:
    """A group's Contacts screen (R10); for EXC, the synchronized contacts that matched nothing (R9)."""
    group = get_object_or_404(ContactGroup, pk=pk)
    form = GroupContactFilterForm(request.GET)
    contacts = group.contacts.select_related("representative")
    table = _filtered_table(request, form, contacts, GroupContactTable)
    return _list_response(request, "crm/contact_group_contacts.html", {"group": group, "form": form, "table": table})


def _search_queryset() -> QuerySet:
    """All contacts with what a result row shows (owner, representative): one query per page (R11).

    Joins come from select_related, which COUNT drops: counting 100,000 contacts stays a plain count.
    """
    return Contact.objects.select_related("customer", "prospect", "supplier", "group", "representative")


@vary_on_headers("HX-Request")
def contact_search(request: HttpRequest) -> HttpResponse:
    """CRM › Maintenance › Recherche de contacts (R11): every filter combinable, all in the GET query.

    Whatever the filters and the page: one COUNT and one query for the page's rows (plus the
    session, the user and the two user lists of the form). See ContactSearchForm for "Événement".
    """
    form = ContactSearchForm(request.GET)
    table = _filtered_table(request, form, _search_queryset(), ContactSearchTable, viewer=request.user)
    return _list_response(request, "crm/contact_search.html", {"form": form, "table": table})


def _activities_for_user(contact: Contact, viewer) -> tuple[list[ActivityCard], list[ActivityCard]]:
    """The contact's next and latest activities as the calendars' cards: private ones of other
    users reduced to "Occupé"; one query each, and one question to the sync about both."""
    now = timezone.now()
    alive = Activity.objects.alive().filter(contact=contact)
    upcoming = alive.filter(end__gte=now).order_by("start", "pk")[:ACTIVITIES_SHOWN]
    recent = alive.filter(end__lt=now).order_by("-start", "-pk")[:ACTIVITIES_SHOWN]
    upcoming_cards, recent_cards = card_lists([upcoming, recent], viewer, with_notes=True)
    return upcoming_cards, recent_cards


def _get_contact_for_user(request: HttpRequest, pk: int) -> Contact:
    """Every CRM user may open every contact; private activities are filtered separately."""
    related = ["customer", "prospect", "supplier", "group", "representative"]
    holders = Prefetch("outlook_items", queryset=OutlookContact.objects.select_related("mailbox"))
    return get_object_or_404(Contact.objects.select_related(*related).prefetch_related(holders), pk=pk)


def _owner_url(contact: Contact) -> str:
    """Where the owner's link leads: the group's contacts, or the search for the company's contacts."""
    if contact.group_id:
        return reverse("contact_group_contacts", args=[contact.group_id])
    owner_type = "customer" if contact.customer_id else "prospect" if contact.prospect_id else "supplier"
    query = urlencode({"owner_type": owner_type, "name": contact.owner.name, "status": "tous"})
    return f"{reverse('contact_search')}?{query}"


def contact_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A contact: its owner, fields, source, review flag, notes (newest first) and activities."""
    contact = _get_contact_for_user(request, pk)
    upcoming, recent = _activities_for_user(contact, request.user)
    context = {
        "contact": contact,
        "owner_url": _owner_url(contact),
        "notes": contact.notes.select_related("author").order_by("-date", "-pk"),
        "upcoming": upcoming,
        "recent": recent,
    }
    if can_assign(contact):
        context.update(assign_form=ContactAssignForm(), candidates=candidate_companies(contact))
    return render(request, "crm/contact_detail.html", context)


def _contact_form_page(request: HttpRequest, form: ContactForm, contact: Contact | None) -> HttpResponse:
    back = reverse("contact_detail", args=[contact.pk]) if contact else reverse("contact_search")
    context = {"form": form, "contact": contact, "cancel_url": _safe_next(request, back)}
    return render(request, "crm/contact_form.html", context, status=400 if form.is_bound else 200)


def contact_create(request: HttpRequest) -> HttpResponse:
    """Create a contact by hand, from the search (R11), a group's contacts (R10) or a record's page.

    ``?owner=customer:<pk>`` (also prospect:, supplier:, group:) pre-selects the owner. Every CRM
    user may, as for contact groups: docs/spec/REQUIREMENTS.md keeps only users, settings and the
    Microsoft 365 connection for administrators.
    """
    owner = owner_from_reference(request.GET.get("owner", ""))
    form = ContactForm(request.POST if request.method == "POST" else None, owner=owner)
    if request.method == "POST" and form.is_valid():
        contact = form.save()
        messages.success(request, _("Le contact « %(name)s » a été créé.") % {"name": contact.full_name})
        return redirect("contact_detail", pk=contact.pk)
    return _contact_form_page(request, form, None)


def contact_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Edit a contact, every CRM user as for its creation; a synchronized contact's Outlook fields
    stay read-only (Outlook is their source), its owner may change by hand (see ContactForm)."""
    contact = _get_contact_for_user(request, pk)
    form = ContactForm(request.POST if request.method == "POST" else None, instance=contact)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Le contact « %(name)s » a été enregistré.") % {"name": contact.full_name})
        return redirect("contact_detail", pk=contact.pk)
    return _contact_form_page(request, form, contact)


def _safe_next(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return default


def contact_assign(request: HttpRequest, pk: int) -> HttpResponse:
    """Link a contact awaiting review (or in a group) to a customer, prospect or supplier, in one POST."""
    contact = _get_contact_for_user(request, pk)
    detail_url = reverse("contact_detail", args=[contact.pk])
    if not can_assign(contact):
        messages.info(request, _("Ce contact est déjà associé à %(owner)s.") % {"owner": contact.owner})
        return redirect(detail_url)
    form = ContactAssignForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        company = form.cleaned_data["company"]
        assign_contact_owner(contact, company)
        text = _("%(contact)s est maintenant associé(e) à %(company)s (%(type)s).")
        messages.success(request, text % {"contact": contact, "company": company, "type": company._meta.verbose_name})
        return redirect(_safe_next(request, detail_url))
    context = {
        "contact": contact,
        "assign_form": form,
        "candidates": candidate_companies(contact),
        "next": _safe_next(request, ""),
    }
    return render(request, "crm/contact_assign.html", context, status=400 if form.is_bound else 200)
