"""django-tables2 tables of the administrator screens: users (R2) and configuration values (R3)."""

from __future__ import annotations

import django_tables2 as tables
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from .models import Setting, User

YES_NO = (_("Oui"), _("Non"))


class UserTable(tables.Table):
    """Administration › Utilisateurs: code, name, email, active, administrator, language."""

    code = tables.Column(verbose_name=_("Code d'utilisateur"))
    name = tables.Column(verbose_name=_("Nom"))
    email = tables.EmailColumn(verbose_name=_("Courriel"), attrs={"td": {"class": "email"}})
    is_active = tables.BooleanColumn(verbose_name=_("Actif"), yesno=YES_NO)
    is_staff = tables.BooleanColumn(verbose_name=_("Administrateur"), yesno=YES_NO)
    language = tables.Column(verbose_name=_("Langue"))

    class Meta:
        attrs = {"class": "grid users-grid"}
        default = ""
        order_by = "code"
        empty_text = _("Aucun utilisateur ne correspond à ces critères.")

    def render_code(self, record: User) -> str:
        return format_html('<a href="{}">{}</a>', reverse("user_detail", args=[record.pk]), record.code)

    def render_language(self, record: User) -> str:
        return record.get_language_display()


class SettingTable(tables.Table):
    """Administration › Configuration: every key with its value and what it does."""

    key = tables.Column(verbose_name=_("Clé"))
    value = tables.Column(verbose_name=_("Valeur"), attrs={"td": {"class": "users-setting-value"}})
    description = tables.Column(verbose_name=_("Description"), accessor="shown_description", orderable=False)
    actions = tables.Column(verbose_name="", empty_values=(), orderable=False)

    class Meta:
        attrs = {"class": "grid users-grid"}
        default = ""
        order_by = "key"
        empty_text = _("Aucune valeur de configuration.")

    def render_actions(self, record: Setting) -> str:
        url = reverse("setting_edit", args=[record.pk])
        return format_html('<a class="button" href="{}">{}</a>', url, _("Modifier"))
