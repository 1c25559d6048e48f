"""URLs of the administrator screens of the accounts app: users (R2), settings (R3).

The Exchange dialog of a user record keeps its address under utilisateurs/ (exchange/urls.py)."""

from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("utilisateurs/", views.user_list, name="user_list"),
    path("utilisateurs/nouveau/", views.user_create, name="user_create"),
    path("utilisateurs/<int:pk>/", views.user_detail, name="user_detail"),
    path("utilisateurs/<int:pk>/modifier/", views.user_edit, name="user_edit"),
    path("utilisateurs/<int:pk>/detruire/", views.user_delete, name="user_delete"),
    path("utilisateurs/<int:pk>/desactiver/", views.user_deactivate, name="user_deactivate"),
    path("configuration/", views.settings_list, name="settings_list"),
    path("configuration/<int:pk>/modifier/", views.setting_edit, name="setting_edit"),
]
