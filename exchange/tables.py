"""django-tables2 tables of the exchange screens."""

from __future__ import annotations

import django_tables2 as tables
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from crm.models import NO_SUBJECT

from .models import JournalEntry
from .reasons import describe, field_label


class JournalTable(tables.Table):
    """The per-item journal: every decision with its reason and field changes."""

    at = tables.DateTimeColumn(verbose_name=_("Date"), format="DATETIME_FORMAT")
    user = tables.Column(verbose_name=_("Utilisateur"), accessor="user__code", order_by="user__code")
    direction = tables.Column(verbose_name=_("Direction"))
    action = tables.Column(verbose_name=_("Décision"))
    # empty_values=(): rendered even when empty (an Outlook event without subject, journaled with an
    # empty label, reads « (sans objet) », or « Occupé » when private).
    item_label = tables.Column(verbose_name=_("Élément"), empty_values=())
    reasons = tables.Column(verbose_name=_("Raison"), orderable=False)
    changes = tables.Column(verbose_name=_("Changements"), orderable=False)
    resync = tables.TemplateColumn(
        template_name="exchange/fragment_resync_button.html", verbose_name="", orderable=False
    )

    class Meta:
        attrs = {"class": "grid journal"}
        default = ""
        empty_text = _("Aucune entrée ne correspond à la recherche.")

    def __init__(self, *args, viewer, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.viewer = viewer

    def _hidden(self, record: JournalEntry) -> bool:
        """Another user's private activity: its subject and values are not the viewer's to read."""
        activity = record.activity
        return activity is not None and activity.is_hidden_from(self.viewer)

    def render_action(self, record: JournalEntry, value) -> str:
        return format_html('<span class="action action-{}">{}</span>', record.action, value)

    def render_item_label(self, record: JournalEntry, value) -> str:
        if self._hidden(record):
            return _("Occupé (activité privée de %(user)s)") % {"user": record.user.code}
        value = value or NO_SUBJECT
        if record.email and record.email not in value:
            return format_html("{}<br><small>{}</small>", value, record.email)
        return value

    def render_reasons(self, record: JournalEntry) -> str:
        return describe(record.reasons)

    def render_changes(self, record: JournalEntry, value: dict) -> str:
        if self._hidden(record) or not isinstance(value, dict) or not value:
            return ""
        rows = (
            (field_label(name), pair[0], pair[1])
            for name, pair in value.items()
            if isinstance(pair, list) and len(pair) == 2
        )
        return format_html_join("", '<div class="change"><b>{}</b> : {} → {}</div>', rows)
