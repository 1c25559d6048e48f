"""Administrator screens of the exchange app: the Microsoft 365 connection (R1), sync status, journal."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from accounts.decorators import admin_required
from accounts.models import User
from prextra_sync.lists import configure_table, render_list

from .connection import check_connection
from .forms import ConnectionTestForm, GraphConnectionForm, JournalFilterForm
from .graph.client import forget_apps
from .graph.errors import GraphError
from .models import Direction, GraphConnection, JournalEntry, SyncRun, SyncState
from .scheduling import GROUP_OF
from .status import user_statuses, worker_heartbeat
from .sync.activities import confirm_pending_activity_deletions, restore_losing_value
from .sync.contacts import confirm_pending_deletions, reject_pending_deletions, resync_contact
from .sync.locks import SyncBusy
from .sync.runs import sync_refusal
from .tables import JournalTable
from .tasks import sync_user


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
    context = {"statuses": user_statuses(), "heartbeat": heartbeat, "worker_alive": worker_alive}
    if request.htmx:
        return render(request, "exchange/sync_status.html#statuses", context)
    return render(request, "exchange/sync_status.html", context)


@require_POST
@admin_required
def sync_now(request: HttpRequest, user_id: int, direction: str) -> HttpResponse:
    """Queue one sync of one user and direction now (after commit), and say so."""
    user = get_object_or_404(User, pk=user_id)
    if direction not in GROUP_OF or direction not in Direction.values:
        raise Http404
    refusal = sync_refusal(user, direction, GraphConnection.current())
    if refusal:
        messages.error(request, refusal)
    else:
        group = GROUP_OF[direction]
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
        messages.success(request, _("%(count)s activités supprimées.") % {"count": count})
    elif request.POST.get("decision") == "confirm":
        count = confirm_pending_deletions(state)
        messages.success(request, _("%(count)s contacts désactivés.") % {"count": count})
    elif direction == Direction.ACTIVITIES_IN:
        reject_pending_deletions(state)
        messages.success(request, _("Suppressions refusées : les activités restent dans les calendriers."))
    else:
        reject_pending_deletions(state)
        messages.success(request, _("Suppressions refusées : les contacts restent actifs."))
    return redirect("sync_status")


@admin_required
def journal(request: HttpRequest) -> HttpResponse:
    """Why isn't this in the CRM? Every decision about every item, searchable."""
    form = JournalFilterForm(request.GET or None)
    entries = JournalEntry.objects.select_related("user").order_by("-at", "-pk")
    if form.is_valid():
        entries = form.filter_qs(entries)
    table = configure_table(request, JournalTable(entries))
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
