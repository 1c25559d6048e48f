"""Administrator screens of the exchange app: the Microsoft 365 connection (R1), sync status, journal,
and the Exchange dialog of a user record (R4, R20), which renders named partials of the record's page."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, RawPostDataException
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers
from kombu.exceptions import OperationalError

from accounts.models import ExchangeProfile, User, exchange_button_enabled
from accounts.views import detail_context
from prextra_sync.decorators import admin_required
from prextra_sync.lists import configure_table, render_list

from . import notifications
from .connection import check_connection
from .forms import ConnectionTestForm, ExchangeProfileForm, GraphConnectionForm, JournalFilterForm
from .graph.client import forget_apps
from .graph.errors import GraphError
from .models import LANES, Direction, GraphConnection, JournalEntry, MailboxPreview, SyncRun, SyncState
from .preview import skip_lines
from .status import user_statuses, worker_heartbeat
from .subscriptions import enabled as subscriptions_enabled
from .sync.activities import confirm_pending_activity_deletions, restore_losing_value
from .sync.contacts import confirm_pending_deletions, resync_contact
from .sync.locks import SyncBusy
from .sync.rounds import release_brake
from .sync.runs import in_flight, sync_refusal
from .tables import JournalTable
from .tasks import enqueue_first_sync, preview_mailbox, sync_user

logger = logging.getLogger(__name__)


def _connection_or_new() -> GraphConnection:
    return GraphConnection.current() or GraphConnection(
        authority_host=settings.GRAPH_AUTHORITY_HOST, graph_url=settings.GRAPH_URL, ca_file=settings.GRAPH_CA_FILE
    )


@sensitive_post_parameters("client_secret")
@admin_required
def graph_connection(request: HttpRequest) -> HttpResponse:
    """Show and save the connection; the secret is never sent back to the browser, and error
    reports (logs, e-mails to the administrators) show it as stars."""
    connection = _connection_or_new()
    form = GraphConnectionForm(request.POST or None, instance=connection)
    if request.method == "POST" and form.is_valid():
        form.save()
        forget_apps()
        messages.success(request, _("Connexion Microsoft 365 enregistrée."))
        return redirect("graph_connection")
    test_form = ConnectionTestForm(initial={"mailbox": request.user.email})
    context = {"form": form, "connection": connection, "test_form": test_form}
    return render(request, "exchange/graph_connection.html", context)


@require_POST
@admin_required
def graph_connection_test(request: HttpRequest) -> HttpResponse:
    """Test the saved connection and tell the result; the page's result panel when htmx asks."""
    connection = GraphConnection.current()
    form = ConnectionTestForm(request.POST)
    if connection is None:
        result = {"ok": False, "message": _("Enregistrez d'abord la connexion.")}
    elif not form.is_valid():
        result = {"ok": False, "message": _("Adresse courriel invalide.")}
    else:
        check = check_connection(connection, form.cleaned_data["mailbox"])
        result = {"ok": check.ok, "message": check.message}
    if request.htmx:
        return render(request, "exchange/graph_connection.html#test-result", {"result": result})
    (messages.success if result["ok"] else messages.error)(request, result["message"])
    return redirect("graph_connection")


@admin_required
def sync_status(request: HttpRequest) -> HttpResponse:
    """Every user's synchronization, per direction, with what needs attention in red."""
    heartbeat, worker_alive = worker_heartbeat()
    context = {
        "statuses": user_statuses(),
        "heartbeat": heartbeat,
        "worker_alive": worker_alive,
        "notifications_on": subscriptions_enabled(),
        "safety_minutes": settings.PREXTRA_SAFETY_POLL // 60 or 1,
        "interval": settings.PREXTRA_SYNC_INTERVAL,
    }
    if request.htmx:
        return render(request, "exchange/sync_status.html#statuses", context)
    return render(request, "exchange/sync_status.html", context)


@require_POST
@admin_required
def sync_now(request: HttpRequest, user_id: int, direction: str) -> HttpResponse:
    """Queue one sync of one user and direction now (after commit), and say so."""
    user = get_object_or_404(User, pk=user_id)
    if direction not in LANES:
        raise Http404
    refusal = sync_refusal(user, direction, GraphConnection.current())
    if refusal:
        messages.error(request, refusal)
    else:
        group = LANES[direction].group
        transaction.on_commit(lambda: sync_user.delay(user.pk, group, SyncRun.Trigger.MANUAL))
        messages.success(request, _("Synchronisation de %(user)s demandée.") % {"user": user.code})
    return redirect("sync_status")


@require_POST
@admin_required
def brake_decision(request: HttpRequest, user_id: int, direction: str) -> HttpResponse:
    """Confirm or refuse the deactivations the mass-change brake held back."""
    state = get_object_or_404(SyncState, user_id=user_id, direction=direction, pending_confirmation=True)
    if request.POST.get("decision") == "confirm" and direction == Direction.ACTIVITIES_IN:
        count = confirm_pending_activity_deletions(state)
        messages.success(
            request,
            ngettext("%(count)s activité supprimée.", "%(count)s activités supprimées.", count) % {"count": count},
        )
    elif request.POST.get("decision") == "confirm":
        count = confirm_pending_deletions(state)
        messages.success(
            request,
            ngettext("%(count)s contact désactivé.", "%(count)s contacts désactivés.", count) % {"count": count},
        )
    elif direction == Direction.ACTIVITIES_IN:
        release_brake(state)
        messages.success(request, _("Suppressions refusées : les activités restent dans les calendriers."))
    else:
        release_brake(state)
        messages.success(request, _("Suppressions refusées : les contacts restent actifs."))
    return redirect("sync_status")


@admin_required
def journal(request: HttpRequest) -> HttpResponse:
    """Why isn't this in the CRM? Every decision about every item, searchable."""
    form = JournalFilterForm(request.GET or None)
    entries = JournalEntry.objects.select_related("user", "activity").order_by("-at", "-pk")
    if form.is_valid():
        entries = form.filter_qs(entries, viewer=request.user)
    table = configure_table(request, JournalTable(entries, viewer=request.user))
    return render_list(request, "exchange/journal.html", {"form": form, "table": table})


@require_POST
@admin_required
def resync_item(request: HttpRequest, entry_id: int) -> HttpResponse:
    """Fetch one Outlook item again and apply the sync rules to it, now."""
    entry = get_object_or_404(JournalEntry, pk=entry_id)
    connection = GraphConnection.current()
    if not entry.outlook_id or entry.direction != Direction.CONTACTS_IN or connection is None:
        messages.error(request, _("Cet élément ne peut pas être resynchronisé."))
        return redirect("journal")
    try:
        outcome = resync_contact(entry.user, entry.outlook_id)
    except GraphError as exc:
        messages.error(request, exc.message)
    except SyncBusy:
        messages.error(request, _("Une synchronisation de cette boîte est en cours ; réessayez dans un moment."))
    else:
        messages.success(request, outcome)
    return redirect(f"{reverse('journal')}?outlook_id={entry.outlook_id}")


@require_POST
@admin_required
def restore_conflict(request: HttpRequest, entry_id: int) -> HttpResponse:
    """Put back the value a conflict discarded (the change is then synchronized as usual)."""
    entry = get_object_or_404(JournalEntry, pk=entry_id, action=JournalEntry.Action.CONFLICT, activity__isnull=False)
    restore_losing_value(entry)
    messages.success(request, _("Valeur perdante rétablie dans Prextra ; elle sera envoyée à Outlook."))
    return redirect(f"{reverse('journal')}?action=conflict")


# --- The Exchange dialog of the user record (R4, R20) ------------------------------------------

FIRST_SYNC_WAIT_SECONDS = 120


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
    """« 11/11/2022 11:31:43 » in America/Toronto, the date as on every screen (DATETIME_FORMAT,
    prextra_sync/formats/); "Jamais" when empty."""
    return date_format(timezone.localtime(value), "DATETIME_FORMAT") if value else _("Jamais")


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
        **_preview_context(user),
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
    # The latency the product has, not the help page's thirty seconds: one beat interval (R6).
    seconds = settings.PREXTRA_SYNC_INTERVAL
    text = ngettext(
        "Enregistré. La première synchronisation démarre : résultat dans environ %(seconds)s seconde.",
        "Enregistré. La première synchronisation démarre : résultat dans environ %(seconds)s secondes.",
        seconds,
    )
    return text % {"seconds": seconds}


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
    return render(request, "accounts/user_detail.html", {**detail_context(user), **context, "dialog_open": True})


def _preview_context(user: User) -> dict:
    """The user's latest « Aperçu », and whether it is still reading the mailbox."""
    preview = MailboxPreview.objects.filter(user=user).first()
    running = preview is not None and preview.status in (MailboxPreview.Status.QUEUED, MailboxPreview.Status.RUNNING)
    skips = skip_lines(preview.result.get("contacts", {}).get("skipped")) if preview and preview.result else []
    return {"preview": preview, "preview_running": running, "preview_skips": skips}


@admin_required
def user_exchange_preview(request: HttpRequest, pk: int) -> HttpResponse:
    """« Aperçu » of the Exchange dialog: POST reads the mailbox in the worker (nothing written but
    the preview's own counts); GET is the dialog's poll of its progress, then its result."""
    user = get_object_or_404(User, pk=pk)
    if not exchange_button_enabled():
        raise Http404("UserMaintenanceShowFields does not contain btnexchange")
    blocker = _exchange_blocker(user) if request.method == "POST" else ""
    if request.method == "POST" and not blocker:
        preview = MailboxPreview.objects.create(user=user)
        transaction.on_commit(lambda: preview_mailbox.delay(preview.pk))
    context = {"record": user, **_preview_context(user), "preview_blocker": blocker}
    if request.htmx:
        return render(request, "accounts/user_detail.html#exchange-preview", context, status=400 if blocker else 200)
    if blocker:
        messages.error(request, blocker)
    return redirect("user_exchange", pk=user.pk)


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


# --- The change-notification endpoint (public: Microsoft Graph posts to it) ---------------------
@login_not_required
@csrf_exempt  # Graph cannot hold a CSRF token; every item is checked by its clientState instead
@require_POST
def graph_notifications(request: HttpRequest) -> HttpResponse:
    """Microsoft Graph's validation handshake and its change and lifecycle notifications
    (exchange/notifications.py says what is checked and queued). No sync work in the request."""
    token = request.GET.get("validationToken")
    if token is not None:
        if len(token) > notifications.MAX_TOKEN_LENGTH:
            return HttpResponse("validationToken too long", status=400, content_type="text/plain")
        return HttpResponse(token, content_type="text/plain; charset=utf-8")
    length = request.META.get("CONTENT_LENGTH") or "0"
    if not length.isdigit() or int(length) > notifications.MAX_BODY_BYTES:
        return HttpResponse("body too large", status=413, content_type="text/plain")
    try:
        received = notifications.receive(request.body)
    except RawPostDataException:  # a form body, already parsed by a middleware: not from Graph
        return HttpResponse("not a notification collection (form data)", status=400, content_type="text/plain")
    except notifications.Malformed as exc:
        return HttpResponse(f"not a notification collection ({exc})", status=400, content_type="text/plain")
    except OperationalError as exc:  # the broker is down: Graph retries the POST later
        logger.warning("Change notifications not queued, broker unavailable (%s)", type(exc).__name__)
        return HttpResponse("try again later", status=503, content_type="text/plain")
    # 202 for refused items too: Graph's retries would change nothing, and a forger learns nothing.
    logger.debug("Notifications: %s accepted, %s refused", received.accepted, received.refused)
    return HttpResponse(status=202)
