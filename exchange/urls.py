"""URLs of the exchange administrator screens."""

from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("microsoft-365/", views.graph_connection, name="graph_connection"),
    path("microsoft-365/tester/", views.graph_connection_test, name="graph_connection_test"),
]
