"""URLs of the CRM screens; the menu shows an entry once its URL name exists (crm/menu.py)."""

from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("crm/groupes-de-contacts/", views.contact_groups, name="contact_groups"),
    path("crm/groupes-de-contacts/nouveau/", views.contact_group_create, name="contact_group_create"),
    path("crm/groupes-de-contacts/<int:pk>/modifier/", views.contact_group_edit, name="contact_group_edit"),
    path("crm/groupes-de-contacts/<int:pk>/contacts/", views.contact_group_contacts, name="contact_group_contacts"),
    path("crm/contacts/", views.contact_search, name="contact_search"),
    path("crm/contacts/<int:pk>/", views.contact_detail, name="contact_detail"),
    path("crm/contacts/<int:pk>/associer/", views.contact_assign, name="contact_assign"),
]
