"""URLs of the CRM screens; the menu shows an entry once its URL name exists (prextra_sync/menu.py)."""

from __future__ import annotations

from django.urls import path

from . import activity_views, record_views, views
from .records import KINDS

urlpatterns = [
    path("", views.home, name="home"),
    path("crm/groupes-de-contacts/", views.contact_groups, name="contact_groups"),
    path("crm/groupes-de-contacts/nouveau/", views.contact_group_create, name="contact_group_create"),
    path("crm/groupes-de-contacts/<int:pk>/modifier/", views.contact_group_edit, name="contact_group_edit"),
    path("crm/groupes-de-contacts/<int:pk>/contacts/", views.contact_group_contacts, name="contact_group_contacts"),
    path("crm/contacts/", views.contact_search, name="contact_search"),
    path("crm/contacts/nouveau/", views.contact_create, name="contact_create"),
    path("crm/contacts/<int:pk>/", views.contact_detail, name="contact_detail"),
    path("crm/contacts/<int:pk>/modifier/", views.contact_edit, name="contact_edit"),
    path("crm/contacts/<int:pk>/associer/", views.contact_assign, name="contact_assign"),
    path("crm/calendrier/mois/", activity_views.calendar_month, name="calendar_month"),
    path("crm/calendrier/jour/", activity_views.calendar_day, name="calendar_day"),
    path("crm/activites/nouvelle/", activity_views.activity_create, name="activity_create"),
    path("crm/activites/contacts/", activity_views.activity_contacts, name="activity_contacts"),
    path("crm/activites/<int:pk>/", activity_views.activity_detail, name="activity_detail"),
    path("crm/activites/<int:pk>/modifier/", activity_views.activity_edit, name="activity_edit"),
    path("crm/activites/<int:pk>/supprimer/", activity_views.activity_delete, name="activity_delete"),
    path("crm/activites-outlook/", activity_views.imported_activities, name="imported_activities"),
    *[
        route
        for kind in KINDS.values()
        for route in (
            path(f"crm/{kind.segment}/", record_views.record_list, {"kind": kind.key}, name=kind.url_name("list")),
            path(
                f"crm/{kind.segment}/nouveau/",
                record_views.record_create,
                {"kind": kind.key},
                name=kind.url_name("create"),
            ),
            path(
                f"crm/{kind.segment}/<int:pk>/",
                record_views.record_detail,
                {"kind": kind.key},
                name=kind.url_name("detail"),
            ),
            path(
                f"crm/{kind.segment}/<int:pk>/modifier/",
                record_views.record_edit,
                {"kind": kind.key},
                name=kind.url_name("edit"),
            ),
            path(
                f"crm/{kind.segment}/<int:pk>/activer/",
                record_views.record_set_active,
                {"kind": kind.key},
                name=kind.url_name("set_active"),
            ),
            path(
                f"crm/{kind.segment}/<int:pk>/domaines/",
                record_views.record_domain_add,
                {"kind": kind.key},
                name=kind.url_name("domain_add"),
            ),
            path(
                f"crm/{kind.segment}/<int:pk>/domaines/<int:domain_pk>/retirer/",
                record_views.record_domain_remove,
                {"kind": kind.key},
                name=kind.url_name("domain_remove"),
            ),
        )
    ],
]
