"""Administrator screens of the exchange app: the Microsoft 365 connection (R1)."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.decorators import admin_required

from .connection import check_connection
from .forms import ConnectionTestForm, GraphConnectionForm
from .graph.client import forget_apps
from .models import GraphConnection


def _connection_or_new() -> GraphConnection:
    return GraphConnection.current() or GraphConnection(
        authority_host=settings.GRAPH_AUTHORITY_HOST, graph_url=settings.GRAPH_URL, ca_file=settings.GRAPH_CA_FILE
    )


@admin_required
def graph_connection(request: HttpRequest) -> HttpResponse:
    """Show and save the connection; the secret is never sent back to the browser."""
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
