"""Account views: the UI language switch, and the administrator screens of users (R2), their Exchange
dialog (R3, R4, R20) and the configuration values (R3).

Every administrator screen is behind `admin_required` (login is enforced globally). Lists and the
Exchange dialog render a named partial of their page when htmx asks; every link keeps a real href.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.contrib import messages
from django.db import transaction
from django.db.models import ProtectedError, RestrictedError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from exchange.models import Direction, GraphConnection, SyncState
from exchange.scheduling import enqueue_first_sync
from exchange.sync.runs import in_flight
from prextra_sync.lists import configure_table, render_list

from .decorators import admin_required
from .forms import ExchangeProfileForm, SettingForm, UserCreateForm, UserFilterForm, UserForm
from .models import ExchangeProfile, Setting, User, exchange_button_enabled
from .tables import SettingTable, UserTable

STAMP_FORMAT = "%Y-%m-%d %H:%M:%S"
FIRST_SYNC_WAIT_SECONDS = 120


@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """Switch the UI language: stored on the user's record (R2) and in a cookie for the sign-in page."""
    language = request.POST.get("language", "")
    supported = {code for code, _name in settings.LANGUAGES}
    next_url = request.POST.get("next") or "/"
    if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}, request.is_secure()):
        next_url = "/"
    response = redirect(next_url)
    if language not in supported:
        return response
    if request.user.is_authenticated and request.user.language != language:
        request.user.language = language
        request.user.save(update_fields=["language"])
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=365 * 24 * 3600,
        samesite="Lax",
        secure=request.is_secure(),
    )
    return response


# --- Users (R2) -------------------------------------------------------------------------------


@vary_on_headers("HX-Request")
@admin_required
def user_list(request: HttpRequest) -> HttpResponse:
    """Administration › Utilisateurs: search, sort and page the users (page size = "Nbre lignes")."""
    form = UserFilterForm(request.GET)
    table = configure_table(request, UserTable(form.filter_qs(User.objects.all()))) if form.is_valid() else None
    status = 200 if table is not None else 400
    return render_list(request, "accounts/user_list.html", {"form": form, "table": table}, status=status)


@admin_required
def user_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The user record (R2) with Modifier, Détruire and, when configured, the Exchange button (R3)."""
    user = get_object_or_404(User.objects.select_related("contact", "default_company"), pk=pk)
    return render(request, "accounts/user_detail.html", _detail_context(user))


def _detail_context(user: User) -> dict:
    return {
        "record": user,
        "allowed_companies": user.allowed_companies.all(),
        "show_exchange_button": exchange_button_enabled(),
    }


@admin_required
def user_create(request: HttpRequest) -> HttpResponse:
    """A new user with an initial password; defaults are those of a new Prextra user."""
    form = UserCreateForm(request.POST if request.method == "POST" else None, editor=request.user)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        messages.success(request, _("L'utilisateur %(code)s a été créé.") % {"code": user.code})
        return redirect("user_detail", pk=user.pk)
    status = 400 if form.is_bound else 200
    return render(request, "accounts/user_form.html", {"form": form, "record": None}, status=status)


@admin_required
def user_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Modifier: every field of the record; on an error the page comes back with what was typed."""
    user = get_object_or_404(User, pk=pk)
    form = UserForm(request.POST if request.method == "POST" else None, instance=user, editor=request.user)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("L'utilisateur %(code)s a été enregistré.") % {"code": user.code})
        return redirect("user_detail", pk=user.pk)
    status = 400 if form.is_bound else 200
    return render(request, "accounts/user_form.html", {"form": form, "record": user}, status=status)


@admin_required
def user_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """Détruire, after a confirmation. A user who owns activities cannot be deleted (the CRM keeps
    its history): the page says so and offers to deactivate instead. Nobody deletes themselves."""
    user = get_object_or_404(User, pk=pk)
    if user.pk == request.user.pk:
        messages.error(request, _("Vous ne pouvez pas détruire votre propre compte."))
        return redirect("user_detail", pk=user.pk)
    if request.method == "POST":
        try:
            with transaction.atomic():
                user.delete()
        except (ProtectedError, RestrictedError):
            messages.error(request, _("Cet utilisateur ne peut pas être détruit : il est encore utilisé."))
            return redirect("user_delete", pk=pk)
        messages.success(request, _("L'utilisateur %(code)s a été détruit.") % {"code": user.code})
        return redirect("user_list")
    context = {"record": user, "activity_count": user.activities.count()}
    return render(request, "accounts/user_confirm_delete.html", context)


@require_POST
@admin_required
def user_deactivate(request: HttpRequest, pk: int) -> HttpResponse:
    """Deactivate instead of deleting: the user can no longer sign in and is no longer synchronized."""
    user = get_object_or_404(User, pk=pk)
    if user.pk == request.user.pk:
        messages.error(request, _("Vous ne pouvez pas désactiver votre propre compte."))
    elif user.is_active:
        user.is_active = False
        user.save(update_fields=["is_active"])
        messages.success(request, _("L'utilisateur %(code)s a été désactivé.") % {"code": user.code})
    return redirect("user_detail", pk=user.pk)


# --- Exchange dialog (R4, R20) ----------------------------------------------------------------


@dataclass(frozen=True)
class Stamp:
    """One direction's line of the dialog: last success and last attempt, in Toronto time."""

    label: str
    last_success: str
    last_attempt: str
    error: str
    in_flight: bool


STAMP_LABELS = {
    Direction.CONTACTS_IN: gettext_lazy("Dernière sync. de contacts (Exchange à Prextra) :"),
    Direction.ACTIVITIES_IN: gettext_lazy("Dernière sync. d'activités (Exchange à Prextra) :"),
    Direction.ACTIVITIES_OUT: gettext_lazy("Dernière sync. d'activités (Prextra à Exchange) :"),
}


def format_stamp(value: datetime | None) -> str:
    """2022-11-11 11:31:43 in America/Toronto, as on the customer's screen; "Jamais" when empty."""
    return timezone.localtime(value).strftime(STAMP_FORMAT) if value else _("Jamais")


def _stamps(states: dict[str, SyncState]) -> list[Stamp]:
    running = in_flight(states.values())
    stamps = []
    for direction, label in STAMP_LABELS.items():
        state = states.get(direction) or SyncState(direction=direction)
        stamps.append(
            Stamp(
                label=str(label),
                last_success=format_stamp(state.last_success_at),
                last_attempt=format_stamp(state.last_attempt_at),
                error=state.last_error,
                in_flight=state.pk in running,
            )
        )
    return stamps


def _waiting_for_first_attempt(states: dict[str, SyncState], since: int | None) -> bool:
    """True for two minutes after a save, until a run has started: the stamps keep refreshing."""
    if since is None or not 0 <= time.time() - since < FIRST_SYNC_WAIT_SECONDS:
        return False
    return not any(state.last_attempt_at and state.last_attempt_at.timestamp() >= since for state in states.values())


def _since(request: HttpRequest) -> int | None:
    value = request.GET.get("depuis", "")
    return int(value) if value.isdigit() and len(value) <= 12 else None


def _exchange_blocker(user: User) -> str:
    """Why the switches cannot be saved, or "" when they can."""
    if not user.email:
        return _("Ajoutez d'abord une adresse courriel à l'utilisateur.")
    if GraphConnection.current() is None:
        return _("Aucune connexion Microsoft 365 n'est enregistrée : la synchronisation est impossible.")
    return ""


def _exchange_context(user: User, form: ExchangeProfileForm | None = None, since: int | None = None, **extra) -> dict:
    """The dialog's data. While a sync runs (or the first one is awaited), the stamps poll themselves."""
    blocker = _exchange_blocker(user)
    profile = ExchangeProfile.objects.filter(user=user).first() or ExchangeProfile(user=user)
    states = {state.direction: state for state in SyncState.objects.filter(user=user)}
    stamps = _stamps(states)
    polling = any(stamp.in_flight for stamp in stamps) or _waiting_for_first_attempt(states, since)
    poll_url = reverse("user_exchange", args=[user.pk])
    return {
        "record": user,
        "exchange_form": form or ExchangeProfileForm(instance=profile, disabled=bool(blocker)),
        "blocker": blocker,
        "no_email": not user.email,
        "stamps": stamps,
        "polling": polling,
        "poll_url": f"{poll_url}?{urlencode({'depuis': since})}" if since else poll_url,
        **extra,
    }


def _saved_message(user: User, profile: ExchangeProfile) -> str:
    if not profile.any_enabled:
        return _("Enregistré. La synchronisation Exchange est désactivée pour cet utilisateur.")
    if not user.can_be_synchronized:
        return _("Enregistré. Cet utilisateur n'est pas synchronisé tant qu'il est inactif ou expiré.")
    return _("Enregistré. La première synchronisation démarre : résultat dans environ 10 secondes.")


@vary_on_headers("HX-Request", "HX-Target")
@admin_required
def user_exchange(request: HttpRequest, pk: int) -> HttpResponse:
    """The Exchange dialog (R4): opened by htmx from the record, or as a whole page on a reload.

    Saving stores the three switches and, for a user who can be synchronized, queues the first
    synchronization once the transaction commits. An htmx poll of the stamps gets only the stamps.
    """
    user = get_object_or_404(User, pk=pk)
    if not exchange_button_enabled():
        raise Http404("UserMaintenanceShowFields does not contain btnexchange")
    if request.method == "POST":
        return _save_exchange(request, user)
    context = _exchange_context(user, since=_since(request))
    if request.htmx and request.htmx.target == "exchange-stamps":
        return render(request, "accounts/user_detail.html#exchange-stamps", context)
    if request.htmx and not request.htmx.history_restore_request:
        return render(request, "accounts/user_detail.html#exchange-dialog", context)
    return render(request, "accounts/user_detail.html", {**_detail_context(user), **context, "dialog_open": True})


def _save_exchange(request: HttpRequest, user: User) -> HttpResponse:
    blocker = _exchange_blocker(user)
    profile = ExchangeProfile.objects.filter(user=user).first() or ExchangeProfile(user=user)
    form = ExchangeProfileForm(request.POST, instance=profile, disabled=bool(blocker))
    if blocker or not form.is_valid():
        context = _exchange_context(user, form)
        if request.htmx:
            return render(request, "accounts/user_detail.html#exchange-body", context)
        messages.error(request, blocker or _("Les cases n'ont pas pu être enregistrées."))
        return redirect("user_exchange", pk=user.pk)
    profile = form.save()
    if profile.any_enabled and user.can_be_synchronized:
        enqueue_first_sync(user)
    message = _saved_message(user, profile)
    if request.htmx:
        since = int(time.time()) if profile.any_enabled and user.can_be_synchronized else None
        context = _exchange_context(user, since=since, saved_message=message)
        return render(request, "accounts/user_detail.html#exchange-body", context)
    messages.success(request, message)
    return redirect("user_exchange", pk=user.pk)


# --- Configuration (R3) -----------------------------------------------------------------------


@vary_on_headers("HX-Request")
@admin_required
def settings_list(request: HttpRequest) -> HttpResponse:
    """Administration › Configuration: every key, its value and its description."""
    table = configure_table(request, SettingTable(Setting.objects.all()))
    return render_list(request, "accounts/settings_list.html", {"table": table})


@admin_required
def setting_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Change one value (for example add btnexchange); it takes effect on the next page shown."""
    setting = get_object_or_404(Setting, pk=pk)
    form = SettingForm(request.POST if request.method == "POST" else None, instance=setting)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("La configuration %(key)s a été enregistrée.") % {"key": setting.key})
        return redirect("settings_list")
    status = 400 if form.is_bound else 200
    return render(request, "accounts/setting_form.html", {"form": form, "setting": setting}, status=status)
