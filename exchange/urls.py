"""URLs of the exchange administrator screens, and of the Exchange dialog of a user record (R4)."""

from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("microsoft-365/", views.graph_connection, name="graph_connection"),
    path("microsoft-365/tester/", views.graph_connection_test, name="graph_connection_test"),
    path("synchronisation/", views.sync_status, name="sync_status"),
    path("synchronisation/<int:user_id>/<str:direction>/maintenant/", views.sync_now, name="sync_now"),
    path("synchronisation/<int:user_id>/<str:direction>/frein/", views.brake_decision, name="brake_decision"),
    path("journal/", views.journal, name="journal"),
    path("journal/<int:entry_id>/resynchroniser/", views.resync_item, name="resync_item"),
    path("journal/<int:entry_id>/retablir/", views.restore_conflict, name="restore_conflict"),
    path("utilisateurs/<int:pk>/exchange/", views.user_exchange, name="user_exchange"),
    path("utilisateurs/<int:pk>/exchange/apercu/", views.user_exchange_preview, name="user_exchange_preview"),
]

# Public: Microsoft Graph posts change notifications here (PREXTRA_PUBLIC_URL + this path).
notification_patterns = [
    path("notifications/", views.graph_notifications, name="graph_notifications"),
]
