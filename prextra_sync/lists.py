"""Shared list behaviour: sorting and paging of django-tables2 tables, htmx partial rendering."""

from __future__ import annotations

from collections.abc import Callable

from django.core.paginator import EmptyPage, PageNotAnInteger
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django_tables2 import Table


def configure_table(
    request: HttpRequest, table: Table, *, opening_page: Callable[[Table, int], int] | None = None
) -> Table:
    """Sort `table` from the query string and cut it into pages of the user's "Nbre lignes" (R2).

    Unlike django-tables2's RequestConfig, the page size never comes from the query string (a
    `per_page=0` or `per_page=100000` would crash or defeat paging). Unknown sort keys are ignored
    by django-tables2; a page that is not a number shows the first page, one past the end the last.
    Without a page in the query string, the list opens on `opening_page(sorted table, page size)`
    if given, else on its first page.
    """
    table.request = request
    order_by = request.GET.getlist(table.prefixed_order_by_field)
    if order_by:
        table.order_by = order_by
    page = request.GET.get(table.prefixed_page_field)
    if page is None:
        page = opening_page(table, request.user.rows_per_page) if opening_page else 1
    try:
        table.paginate(per_page=request.user.rows_per_page, page=page)
    except PageNotAnInteger:
        table.page = table.paginator.page(1)
    except EmptyPage:
        table.page = table.paginator.page(table.paginator.num_pages)
    return table


def render_list(
    request: HttpRequest, template: str, context: dict, *, partial: str = "results", status: int = 200
) -> HttpResponse:
    """Render the whole page, or only its `partial` when htmx asks for it (sort, page, filter).

    A history-restore request (the user came back to a page htmx no longer has in its cache)
    needs the whole page, even though it carries the HX-Request header.
    """
    if request.htmx and not request.htmx.history_restore_request:
        # htmx does not swap 4xx responses by default: the partial shows its errors with a 200.
        return render(request, f"{template}#{partial}", context)
    return render(request, template, context, status=status)
