"""URLs of the CRM screens; the menu shows an entry once its URL name exists (prextra_sync/menu.py)."""

from __future__ import annotations

from django.urls import path

from . import activity_views, import_views, record_views, views
from .records import KINDS

# The screens of a customer, prospect or supplier record: one set of URLs per kind (crm/records.py).
RECORD_SCREENS = [
    ("", record_views.record_list, "list"),
    ("nouveau/", record_views.record_create, "create"),
    ("<int:pk>/", record_views.record_detail, "detail"),
    ("<int:pk>/modifier/", record_views.record_edit, "edit"),
    ("<int:pk>/activer/", record_views.record_set_active, "set_active"),
    ("<int:pk>/domaines/", record_views.record_domain_add, "domain_add"),
    ("<int:pk>/domaines/<int:domain_pk>/retirer/", record_views.record_domain_remove, "domain_remove"),
]

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
    path("crm/fiches/recherche/", record_views.record_search, name="record_search"),
    path("crm/imports/", import_views.erp_imports, name="erp_imports"),
    path("crm/imports/<int:pk>/", import_views.erp_import_detail, name="erp_import_detail"),
    path("crm/imports/<int:pk>/importer/", import_views.erp_import_confirm, name="erp_import_confirm"),
    *[
        path(f"crm/{kind.segment}/{suffix}", view, {"kind": kind.key}, name=kind.url_name(screen))
        for kind in KINDS.values()
        for suffix, view, screen in RECORD_SCREENS
    ],
]
