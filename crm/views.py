"""CRM screens."""

from __future__ import annotations

from datetime import timedelta

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from .models import Activity


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
