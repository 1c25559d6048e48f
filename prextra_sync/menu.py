"""The Prextra menu (CRM › Maintenance › …), built from the screens that exist. It belongs to the
project, not to an app: it spans every app, and counts the users whose synchronization needs attention."""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from exchange.status import attention_count


@dataclass(frozen=True)
class MenuEntry:
    label: str
    url_name: str
    admin_only: bool = False


# Sections and their screens, in the order of Prextra's menu. A screen appears once its URL exists.
MENU = [
    (
        _("CRM › Maintenance"),
        [
            MenuEntry(_("Clients"), "customer_list"),
            MenuEntry(_("Prospects"), "prospect_list"),
            MenuEntry(_("Fournisseurs"), "supplier_list"),
            MenuEntry(_("Groupes de contacts"), "contact_groups"),
            MenuEntry(_("Recherche de contacts"), "contact_search"),
            MenuEntry(_("Calendrier mensuel des activités"), "calendar_month"),
            MenuEntry(_("Calendrier journalier des activités"), "calendar_day"),
            MenuEntry(_("Activités Outlook importées"), "imported_activities"),
        ],
    ),
    (
        _("Administration"),
        [
            MenuEntry(_("Utilisateurs"), "user_list", admin_only=True),
            MenuEntry(_("Configuration"), "settings_list", admin_only=True),
            MenuEntry(_("Import du progiciel"), "erp_imports", admin_only=True),
            MenuEntry(_("Connexion Microsoft 365"), "graph_connection", admin_only=True),
            MenuEntry(_("État de la synchronisation"), "sync_status", admin_only=True),
            MenuEntry(_("Journal de synchronisation"), "journal", admin_only=True),
            MenuEntry(_("Administration Django"), "admin:index", admin_only=True),
        ],
    ),
]


def menu_for(user, badges: dict[str, int] | None = None) -> list[tuple[str, list[tuple[str, str, int]]]]:
    """The sections and (label, url, badge count) entries `user` may open."""
    badges = badges or {}
    sections = []
    for title, entries in MENU:
        links = []
        for entry in entries:
            if entry.admin_only and not user.is_staff:
                continue
            try:
                links.append((entry.label, reverse(entry.url_name), badges.get(entry.url_name, 0)))
            except NoReverseMatch:
                continue
        if links:
            sections.append((title, links))
    return sections


def menu(request) -> dict:
    """Context processor: the menu of the signed-in user; administrators see how many users'
    synchronization needs attention, so a stopped sync never goes unnoticed."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"menu_sections": [], "sync_attention": 0}
    attention = 0
    if user.is_staff:
        attention = attention_count()
    sections = menu_for(user, {"sync_status": attention})
    return {"menu_sections": sections, "sync_attention": attention}
