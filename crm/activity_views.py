"""Activity screens: the monthly (R17) and daily (R18) calendars, the activity dialog, the list
of activities imported from Outlook (R19).

Every activity reaches a template as an ActivityCard (crm.calendar.activity_card): another
user's private activity is only "Occupé", in pages, htmx partials, the detail and the list alike.
A calendar page issues a constant number of queries: one for its activities, whatever their
number, then the layout is computed in Python. Every save calls `activity_changed` (crm/signals.py)
so the owner's "Prextra → Exchange" switch pushes it to Outlook soon after the commit.
"""

from __future__ import annotations

import contextlib
from datetime import date, timedelta

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dates import WEEKDAYS
from django.utils.http import urlencode
from django.utils.translation import gettext
from django.views.decorators.vary import vary_on_headers

from prextra_sync.lists import configure_table, render_list

from .calendar import (
    ActivityCard,
    activity_card,
    add_months,
    can_edit,
    cards_of,
    day_bounds,
    day_entries,
    day_timeline,
    local_midnight,
    month_focus_day,
    month_grid,
    month_weeks,
)
from .forms import ActivityForm, CalendarFilterForm, ImportedActivityFilterForm
from .models import Activity, Contact
from .signals import activity_changed
from .tables import ImportedActivityTable

CONTACTS_SHOWN = 15
# Python's weekday numbers, Sunday first (R17).
WEEK_ORDER = [6, 0, 1, 2, 3, 4, 5]
FILTER_KEYS = ("user", "others", "source")


# ---------------------------------------------------------------- access helpers


def _get_activity_for_user(request: HttpRequest, pk: int, *, edit: bool = False) -> Activity:
    """A live activity the user may open; with `edit`, one they may change (owner or administrator).

    Another user's private activity can be opened (it shows "Occupé") but never edited: 404, so
    its existence tells nothing more; a public one of someone else: 403 for a non-administrator.
    """
    activity = get_object_or_404(Activity.objects.alive().select_related("owner", "contact"), pk=pk)
    if edit and not can_edit(activity, request.user):
        if activity.is_hidden_from(request.user):
            raise Http404("private activity of another user")
        raise PermissionDenied
    return activity


def _read_only(request: HttpRequest, activity: Activity) -> HttpResponse | None:
    """The detail with its reason, refusing the change, when the activity is someone else's
    meeting (it is changed in Outlook only); None when it may be changed."""
    if not activity.read_only_reason:
        return None
    return _dialog(request, "crm/activity_detail.html", _detail_context(activity, request.user), status=403)


# ---------------------------------------------------------------- calendars


def _calendar_form(request: HttpRequest) -> tuple[CalendarFilterForm, CalendarFilterForm]:
    """The « Filtrer calendrier » form as filled, and the one in force: itself, or the defaults
    (one's own calendar, this month) when the query string is invalid (shown as form errors)."""
    form = CalendarFilterForm(request.GET, viewer=request.user)
    if form.is_valid():
        return form, form
    fallback = CalendarFilterForm({}, viewer=request.user)
    fallback.is_valid()
    return form, fallback


def _filter_params(values: dict) -> list[tuple[str, object]]:
    """The filter's choices as query parameters: kept when moving in the calendars."""
    params: list[tuple[str, object]] = [("user", values["user"].pk)]
    params += [("others", user.pk) for user in values["others"]]
    if values["source"]:
        params.append(("source", values["source"]))
    return params


def _filter_query(values: dict, **changes) -> str:
    """The calendar's query string: the filter's choices, then `changes` (day, month)."""
    return urlencode(_filter_params(values) + [(key, value) for key, value in changes.items() if value])


def _visible(form: CalendarFilterForm, start, end, viewer) -> list[ActivityCard]:
    """The activities the filter shows between `start` and `end`: one query."""
    return cards_of(form.filter_qs(Activity.objects.alive().overlapping(start, end)), viewer)


def _weekdays() -> list[str]:
    return [str(WEEKDAYS[number]).capitalize() for number in WEEK_ORDER]


def _mini_calendar(month: date, selected: date | None, link) -> dict:
    """A small month grid whose days link with `link(day)` (R17, R18)."""
    today = timezone.localdate()
    weeks = [
        [{"day": day, "url": link(day), "in_month": day.month == month.month, "today": day == today} for day in week]
        for week in month_weeks(month.year, month.month)
    ]
    return {"month": month, "weeks": weeks, "selected": selected, "initials": [name[0] for name in _weekdays()]}


def _status(form: CalendarFilterForm) -> int:
    return 400 if form.is_bound and form.errors else 200


def _month_links(values: dict, month: date, selected: date | None) -> dict:
    """The links of the monthly calendar, each keeping the filter (user, others, source)."""
    month_url, day_url = reverse("calendar_month"), reverse("calendar_day")
    today = timezone.localdate()
    focus = month_focus_day(month, selected, today)
    new_activity = urlencode({"date": f"{focus:%Y-%m-%d}", "owner": values["user"].pk})
    shown = f"{month_url}?{_filter_query(values, month=f'{month:%Y-%m}')}"
    previous_url = f"{month_url}?{_filter_query(values, month=f'{add_months(month, -1):%Y-%m}')}"
    next_url = f"{month_url}?{_filter_query(values, month=f'{add_months(month, 1):%Y-%m}')}"

    def daily(day: date) -> str:
        return f"{day_url}?{_filter_query(values, day=f'{day:%Y-%m-%d}')}"

    return {
        "mini": _mini_calendar(month, selected, lambda day: f"{shown}&day={day:%Y-%m-%d}"),
        "previous_url": previous_url,
        "next_url": next_url,
        "mini_previous_url": previous_url,
        "mini_next_url": next_url,
        "today_url": f"{month_url}?{_filter_query(values, day=f'{today:%Y-%m-%d}')}",
        "select_url_base": shown,
        "close_day_url": shown,
        "day_url_base": f"{day_url}?{_filter_query(values)}",
        "selected_day_url": daily(selected) if selected else "",
        "daily_url": daily(focus),
        "filter_params": _filter_params(values),
        "position_params": [("month", f"{month:%Y-%m}")] + ([("day", f"{selected:%Y-%m-%d}")] if selected else []),
        "filter_action": month_url,
        "jump_action": month_url,
        "jump_month": True,
        "new_activity_url": f"{reverse('activity_create')}?{new_activity}",
    }


@vary_on_headers("HX-Request")
def calendar_month(request: HttpRequest) -> HttpResponse:
    """CRM › Maintenance › Calendrier mensuel des activités (R17): one user's month, Sunday first.

    `day` selects a day whose activities are listed beside the grid; `month` (YYYY-MM) is the
    month shown (default: the selected day's, else today's).
    """
    form, effective = _calendar_form(request)
    values = effective.cleaned_data
    selected = values["day"]
    month = values["month"] or (selected or timezone.localdate()).replace(day=1)
    weeks = month_weeks(month.year, month.month)
    period = local_midnight(weeks[0][0]), local_midnight(weeks[-1][-1] + timedelta(days=1))
    cards = _visible(effective, *period, request.user)
    context = {
        "form": form,
        "owner": values["user"],
        "month": month,
        "weeks": month_grid(month.year, month.month, cards, timezone.localdate()),
        "weekdays": _weekdays(),
        "selected": selected,
        "day_list": day_entries(selected, cards) if selected else [],
        "refresh_url": request.get_full_path(),
        "can_create": _may_create_for(request.user, values["user"]),
        **_month_links(values, month, selected),
    }
    if request.htmx and not request.htmx.history_restore_request:
        return render(request, "crm/calendar_month.html#calendar", context)
    return render(request, "crm/calendar_month.html", context, status=_status(form))


@vary_on_headers("HX-Request")
def calendar_day(request: HttpRequest) -> HttpResponse:
    """CRM › Maintenance › Calendrier journalier des activités (R18): one user's day as a time line.

    08:00–18:00 by default, widened to the day's activities, in rows of the user's
    "Échelle calendrier CRM"; all-day and multi-day activities in a band on top.
    """
    form, effective = _calendar_form(request)
    values = effective.cleaned_data
    day = values["day"] or timezone.localdate()
    cards = _visible(effective, *day_bounds(day), request.user)
    day_url = reverse("calendar_day")

    def link(other: date) -> str:
        return f"{day_url}?{_filter_query(values, day=f'{other:%Y-%m-%d}')}"

    context = {
        "form": form,
        "owner": values["user"],
        "day": day,
        "timeline": day_timeline(day, cards, request.user.crm_calendar_scale),
        "day_list": day_entries(day, cards),
        "mini": _mini_calendar(day.replace(day=1), day, link),
        "mini_previous_url": link(add_months(day, -1)),
        "mini_next_url": link(add_months(day, 1)),
        "filter_params": _filter_params(values),
        "position_params": [("day", f"{day:%Y-%m-%d}")],
        "filter_action": day_url,
        "jump_action": day_url,
        "previous_url": link(day - timedelta(days=1)),
        "next_url": link(day + timedelta(days=1)),
        "today_url": link(timezone.localdate()),
        "month_url": f"{reverse('calendar_month')}?{_filter_query(values, day=f'{day:%Y-%m-%d}')}",
        "refresh_url": request.get_full_path(),
        "can_create": _may_create_for(request.user, values["user"]),
        "create_url": reverse("activity_create"),
    }
    if request.htmx and not request.htmx.history_restore_request:
        return render(request, "crm/calendar_day.html#calendar", context)
    return render(request, "crm/calendar_day.html", context, status=_status(form))


def _may_create_for(viewer, owner) -> bool:
    return owner.pk == viewer.pk or bool(viewer.is_staff)


# ---------------------------------------------------------------- the activity dialog


def _dialog(request: HttpRequest, template: str, context: dict, *, status: int = 200) -> HttpResponse:
    """The dialog alone for htmx (into #activity-dialog-slot), else a whole page around it."""
    if request.htmx and not request.htmx.history_restore_request:
        return render(request, f"{template}#dialog", context)
    return render(request, template, {**context, "page": True}, status=status)


def _saved(request: HttpRequest, activity: Activity, message: str) -> HttpResponse:
    """After a save or delete, `message` says it was done (announced: the page's messages are a
    live region, base.html). htmx closes the dialog, swaps the message in and refreshes the screen;
    otherwise redirect to the activity's day, which shows it.

    A saved activity the sync holds back outside its window is not closed on in silence: htmx
    shows its detail, saved, with the day it will be sent to Outlook; a page says it above the
    calendar."""
    detail = None if activity.is_deleted else _detail_context(activity, request.user)
    notice = detail["card"].outlook_notice if detail else ""
    if request.htmx:
        if notice:
            response = render(request, "crm/activity_detail.html#dialog", {**detail, "saved": True})
        else:
            messages.success(request, message)
            response = render(request, "base.html#messages", {"oob": True})
        response["HX-Trigger"] = "activity-changed"
        return response
    messages.success(request, message)
    if notice:
        messages.info(request, notice)
    day = timezone.localtime(activity.start).date()
    return redirect(f"{reverse('calendar_day')}?{urlencode({'user': activity.owner_id, 'day': f'{day:%Y-%m-%d}'})}")


def _saved_message(activity: Activity) -> str:
    return gettext("Activité enregistrée : %(subject)s.") % {"subject": activity.title}


def activity_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """An activity's detail (R17): a dialog over the calendars, or a page of its own."""
    activity = _get_activity_for_user(request, pk)
    return _dialog(request, "crm/activity_detail.html", _detail_context(activity, request.user))


def _detail_context(activity: Activity, viewer) -> dict:
    day = timezone.localtime(activity.start).date()
    query = urlencode({"user": activity.owner_id, "day": f"{day:%Y-%m-%d}"})
    return {"card": activity_card(activity, viewer), "day_url": f"{reverse('calendar_day')}?{query}"}


def _initial(request: HttpRequest) -> dict:
    """A new activity's date and time from the calendar cell clicked (?date=…&time=…)."""
    initial = {"start_date": timezone.localdate(), "visibility": ActivityForm.PUBLIC}
    with contextlib.suppress(ValueError):
        initial["start_date"] = date.fromisoformat(request.GET.get("date", ""))
    hour = request.GET.get("time", "")
    if len(hour) == 5 and hour[2] == ":" and hour.replace(":", "").isdigit() and int(hour[:2]) < 24:
        start = int(hour[:2]) * 60 + int(hour[3:])
        end = min(start + 60, 23 * 60 + 59)
        initial.update(start_time=hour, end_time=f"{end // 60:02d}:{end % 60:02d}")
    else:
        initial.update(start_time="09:00", end_time="10:00")
    initial["end_date"] = initial["start_date"]
    if request.user.is_staff and request.GET.get("owner", "").isdigit():
        initial["owner"] = int(request.GET["owner"])
    return initial


def activity_create(request: HttpRequest) -> HttpResponse:
    """A new activity from a calendar (owner: oneself; an administrator may pick another user)."""
    if request.method == "POST":
        form = ActivityForm(request.POST, viewer=request.user, instance=Activity(owner=request.user))
        if form.is_valid():
            activity = form.save()
            activity_changed(activity)
            return _saved(request, activity, _saved_message(activity))
    else:
        form = ActivityForm(viewer=request.user, initial=_initial(request))
    context = {"form": form, "action": reverse("activity_create")}
    return _dialog(request, "crm/activity_form.html", context, status=400 if form.is_bound else 200)


def activity_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Change an activity: its owner, or an administrator."""
    activity = _get_activity_for_user(request, pk, edit=True)
    if refused := _read_only(request, activity):
        return refused
    form = ActivityForm(request.POST if request.method == "POST" else None, viewer=request.user, instance=activity)
    if request.method == "POST" and form.is_valid():
        activity = form.save()
        activity_changed(activity)
        return _saved(request, activity, _saved_message(activity))
    context = {
        "form": form,
        "card": activity_card(activity, request.user),
        "action": reverse("activity_edit", args=[pk]),
    }
    return _dialog(request, "crm/activity_form.html", context, status=400 if form.is_bound else 200)


def activity_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """Delete an activity (recoverable: flagged, never removed); GET asks to confirm."""
    activity = _get_activity_for_user(request, pk, edit=True)
    if refused := _read_only(request, activity):
        return refused
    if request.method != "POST":
        return _dialog(request, "crm/activity_delete.html", {"card": activity_card(activity, request.user)})
    activity.is_deleted = True
    activity.deleted_at = timezone.now()
    activity.save()
    activity_changed(activity)
    return _saved(request, activity, gettext("Activité supprimée : %(subject)s.") % {"subject": activity.title})


def activity_contacts(request: HttpRequest) -> HttpResponse:
    """Search-as-you-type for the contact of an activity: active contacts by name or email."""
    typed = request.GET.get("contact_search") or request.GET.get("q") or ""
    # Control characters are nobody's name (and PostgreSQL refuses a NUL in a query).
    text = "".join(char for char in typed if char >= " " and char != "\x7f").strip()[:100]
    contacts = Contact.objects.none()
    if len(text) >= 2:
        contacts = Contact.objects.filter(is_active=True)
        for word in text.split():
            contacts = contacts.filter(
                Q(first_name__icontains=word) | Q(last_name__icontains=word) | Q(email__icontains=word)
            )
        contacts = contacts.only("pk", "first_name", "last_name", "email").order_by("last_name", "first_name", "pk")
    context = {"contacts": contacts[:CONTACTS_SHOWN], "searched": len(text) >= 2}
    return render(request, "crm/activity_form.html#contact-results", context)


# ---------------------------------------------------------------- imported activities (R19)


@vary_on_headers("HX-Request")
def imported_activities(request: HttpRequest) -> HttpResponse:
    """CRM › Maintenance › Activités Outlook importées (R19): sortable, filtered, paged; it opens on
    the page where today comes into view (ImportedActivityTable.page_of_day)."""
    form = ImportedActivityFilterForm(request.GET)
    table = None
    if form.is_valid():
        activities = Activity.objects.alive().filter(source=Activity.Source.OUTLOOK).select_related("owner")
        table = configure_table(
            request,
            ImportedActivityTable(form.filter_qs(activities)),
            opening_page=lambda table, per_page: table.page_of_day(timezone.localdate(), per_page),
        )
    context = {"form": form, "table": table}
    return render_list(request, "crm/imported_activities.html", context, status=200 if table else 400)
