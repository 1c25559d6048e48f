"""django-tables2 tables of the CRM lists, drawn with the project's table template."""

from __future__ import annotations

from datetime import date, timedelta

import django_tables2 as tables
from django.db.models import Case, Count, DurationField, ExpressionWrapper, F, Q, QuerySet, Value, When
from django.db.models.functions import Coalesce, Lower
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from .calendar import duration_words, local_midnight
from .erp.reasons import describe
from .models import Contact, ErpImport, ErpImportLine, readable_q


def _order_then_by_person(qs: QuerySet, is_descending: bool, *first) -> tuple[QuerySet, bool]:
    """Sort by `first` (if any) then by first and last name, ignoring case, as Prextra lists contacts
    ("Anshul Bhargava" before "Bianca Lecours"); the primary key keeps pages stable."""
    chosen = [F(name).desc(nulls_last=True) if is_descending else F(name).asc(nulls_last=True) for name in first]
    # Names are never NULL: no NULLS LAST on them, so the contact_person_order_idx index gives the
    # order (SQLite cannot use an index for "ASC NULLS LAST").
    person = [Lower("first_name"), Lower("last_name"), F("pk")]
    person = [key.desc() if is_descending else key.asc() for key in person]
    return qs.order_by(*chosen, *person), True


def _contact_name(record: Contact) -> str:
    badge = ""
    if record.needs_review:
        badge = format_html(' <span class="badge review" title="{}">{}</span>', record.review_reason, _("À vérifier"))
    return format_html('<a href="{}">{}</a>{}', reverse("contact_detail", args=[record.pk]), record.full_name, badge)


def _phone(record: Contact) -> str:
    if record.phone and record.extension:
        return format_html("{}, {} {}", record.phone, _("poste"), record.extension)
    return record.phone


class ContactGroupTable(tables.Table):
    """CRM › Maintenance › Groupes de contacts (R10)."""

    code = tables.Column(verbose_name=_("Code"))
    name = tables.Column(verbose_name=_("Nom"))
    description = tables.Column(verbose_name=_("Description"), accessor="shown_description", orderable=False)
    contact_count = tables.Column(verbose_name=_("Nbre de contacts"), attrs={"td": {"class": "number"}})
    is_active = tables.BooleanColumn(verbose_name=_("Actif"), yesno=(_("Oui"), _("Non")))
    actions = tables.TemplateColumn(
        template_name="crm/fragment_contact_group_actions.html",
        verbose_name="",
        orderable=False,
        attrs={"td": {"class": "actions"}},
    )

    class Meta:
        attrs = {"class": "grid"}
        default = ""
        order_by = "code"
        empty_text = _("Aucun groupe de contacts.")


class ContactTable(tables.Table):
    """What contact lists share: the name column links to the contact, people sort by name."""

    class Meta:
        attrs = {"class": "grid"}
        default = ""
        order_by = "name"
        empty_text = _("Aucun contact ne correspond à ces critères.")

    def render_name(self, record: Contact) -> str:
        return _contact_name(record)

    def order_name(self, qs: QuerySet, is_descending: bool) -> tuple[QuerySet, bool]:
        return _order_then_by_person(qs, is_descending)

    def order_representative(self, qs: QuerySet, is_descending: bool) -> tuple[QuerySet, bool]:
        return _order_then_by_person(qs, is_descending, "representative__name")


class GroupContactTable(ContactTable):
    """A group's Contacts screen (R10), with the customer's columns: Nom, Titre, Courriel, Téléphone,
    Ext., Vendeur — and no column after them: a contact awaiting review carries its « Associer… »
    link in its name cell, next to its « À vérifier » badge."""

    name = tables.Column(verbose_name=_("Nom"), accessor="last_name", empty_values=())
    title = tables.Column(verbose_name=_("Titre"), orderable=False)
    email = tables.EmailColumn(verbose_name=_("Courriel"), attrs={"td": {"class": "email"}})
    phone = tables.Column(verbose_name=_("Téléphone"), orderable=False)
    extension = tables.Column(verbose_name=_("Ext."), orderable=False)
    representative = tables.Column(
        verbose_name=_("Vendeur"), accessor="representative__name", order_by="representative__name"
    )

    class Meta(ContactTable.Meta):  # django-tables2 reads only a class's own Meta
        pass

    def order_email(self, qs: QuerySet, is_descending: bool) -> tuple[QuerySet, bool]:
        return _order_then_by_person(qs, is_descending, "email")

    def render_name(self, record: Contact) -> str:
        if not record.needs_review:
            return _contact_name(record)
        url = f"{reverse('contact_assign', args=[record.pk])}?{urlencode({'next': self.request.get_full_path()})}"
        return format_html('{} <a class="button" href="{}">{}</a>', _contact_name(record), url, _("Associer…"))


def _selection_label(record: Contact) -> str:
    """The name screen readers give a row's check box: which contact it selects."""
    return gettext("Sélectionner %(name)s") % {"name": record.full_name}


class ContactSearchTable(ContactTable):
    """Contact search results (R11); the view select_related()s the owners: one query per page."""

    selection = tables.CheckBoxColumn(
        accessor="pk",
        attrs={
            "th": {"class": "check"},
            "td": {"class": "check"},
            "th__input": {"aria-label": _("Tout cocher")},
            "td__input": {"aria-label": _selection_label},
        },
    )
    name = tables.Column(verbose_name=_("Nom du contact"), accessor="last_name", empty_values=())
    city = tables.Column(verbose_name=_("Ville du contact"))
    phone = tables.Column(verbose_name=_("Tél. du contact"), orderable=False, empty_values=())
    owner_name = tables.Column(verbose_name=_("Nom"), accessor="owner__name", empty_values=())
    representative = tables.Column(
        verbose_name=_("Représentant"), accessor="representative__name", order_by="representative__name"
    )
    owner_type = tables.Column(verbose_name=_("Type"), orderable=False, empty_values=())

    class Meta(ContactTable.Meta):  # django-tables2 reads only a class's own Meta
        pass

    def order_city(self, qs: QuerySet, is_descending: bool) -> tuple[QuerySet, bool]:
        return _order_then_by_person(qs, is_descending, "city")

    def order_owner_name(self, qs: QuerySet, is_descending: bool) -> tuple[QuerySet, bool]:
        qs = qs.alias(owner_name=Coalesce("customer__name", "prospect__name", "supplier__name", "group__name"))
        return _order_then_by_person(qs, is_descending, "owner_name")

    def render_phone(self, record: Contact) -> str:
        return _phone(record)

    def render_owner_type(self, record: Contact) -> str:
        return record.owner_type


NOTES_SHOWN = 70  # characters of the comment column, as cut in the customer's list


def _activity_link(record, text: str) -> str:
    url = reverse("activity_detail", args=[record.pk])
    return format_html(
        '<a href="{}" hx-get="{}" hx-target="#activity-dialog-slot" hx-swap="innerHTML" hx-push-url="false">{}</a>',
        url,
        url,
        text,
    )


class ImportedActivityTable(tables.Table):
    """CRM › Maintenance › Activités Outlook importées (R19), with the customer's columns.

    Another user's private activity shows only « Occupé » (Activity.is_hidden_from), and sorts as
    such (its SQL twin, ~readable_q).
    The view select_related()s the owner: one query per page.
    """

    start_date = tables.Column(
        verbose_name=_("Date début"),
        accessor="start",
        order_by=("start", "pk"),
        attrs={"td": {"class": "activity-nowrap"}},
    )
    start_time = tables.Column(
        verbose_name=_("Heure début"), accessor="start", orderable=False, attrs={"td": {"class": "activity-nowrap"}}
    )
    duration = tables.Column(
        verbose_name=_("Durée"), accessor="pk", empty_values=(), attrs={"td": {"class": "activity-nowrap"}}
    )
    # empty_values=(): rendered even when empty (an Outlook event without subject reads « (sans objet) »).
    subject = tables.Column(verbose_name=_("Sujet"), empty_values=())
    location = tables.Column(verbose_name=_("Emplacement"))
    notes = tables.Column(verbose_name=_("Commentaire"), orderable=False, attrs={"td": {"class": "activity-notes"}})
    updated_date = tables.Column(
        verbose_name=_("Dernière mise à jour"),
        accessor="updated_at",
        order_by=("updated_at", "pk"),
        attrs={"td": {"class": "activity-nowrap"}},
    )
    updated_time = tables.Column(
        verbose_name=_("Heure"), accessor="updated_at", orderable=False, attrs={"td": {"class": "activity-nowrap"}}
    )
    owner = tables.Column(verbose_name=_("Code utilisateur"), accessor="owner__code", order_by=("owner__code", "start"))

    class Meta:
        attrs = {"class": "grid activity-imported"}
        default = ""
        order_by = "-start_date"
        empty_text = _("Aucune activité importée d'Outlook ne correspond à ces critères.")

    def _hidden(self, record) -> bool:
        return record.is_hidden_from(self.request.user)

    def page_of_day(self, day: date, per_page: int) -> int:
        """The page where `day` comes into view when the list is sorted by start date (R19).

        Newest first (the default), that is the page of the first activity that starts on `day`
        or before it — later activities come before it; oldest first, the page of the first one that
        starts on `day` or after it. With no such activity, the page nearest to it (the last one,
        or the first). Sorted by another column, the first page.
        """
        first = self.order_by[0] if self.order_by else None
        if first is None or first.bare != "start_date":
            return 1
        if first.is_descending:
            earlier = Q(start__gte=local_midnight(day + timedelta(days=1)))
        else:
            earlier = Q(start__lt=local_midnight(day))
        counts = self.data.data.aggregate(before=Count("pk", filter=earlier), total=Count("pk"))
        return min(counts["before"], max(counts["total"] - 1, 0)) // per_page + 1

    def render_start_date(self, record) -> str:
        return _activity_link(record, date_format(timezone.localtime(record.start), "SHORT_DATE_FORMAT"))

    def render_start_time(self, record) -> str:
        return "" if record.all_day else date_format(timezone.localtime(record.start), "G:i")

    def render_duration(self, record) -> str:
        return duration_words(record.start, record.end, record.all_day)

    def order_duration(self, qs: QuerySet, is_descending: bool) -> tuple[QuerySet, bool]:
        length = ExpressionWrapper(F("end") - F("start"), output_field=DurationField())
        qs = qs.alias(length=length)
        return qs.order_by(F("length").desc() if is_descending else F("length").asc(), "pk"), True

    def render_subject(self, record) -> str:
        return _activity_link(record, _("Occupé") if self._hidden(record) else record.title)

    def order_subject(self, qs: QuerySet, is_descending: bool) -> tuple[QuerySet, bool]:
        hidden = ~readable_q(self.request.user)
        shown = Case(When(hidden, then=Value(str(_("Occupé")))), default=F("subject"))
        qs = qs.alias(shown_subject=Lower(shown))
        return qs.order_by(F("shown_subject").desc() if is_descending else F("shown_subject").asc(), "pk"), True

    def render_location(self, record) -> str:
        return "" if self._hidden(record) else record.location

    def order_location(self, qs: QuerySet, is_descending: bool) -> tuple[QuerySet, bool]:
        hidden = ~readable_q(self.request.user)
        qs = qs.alias(shown_location=Lower(Case(When(hidden, then=Value("")), default=F("location"))))
        return qs.order_by(F("shown_location").desc() if is_descending else F("shown_location").asc(), "pk"), True

    def render_notes(self, record) -> str:
        if self._hidden(record):
            return ""
        text = " ".join(record.notes.split())
        return f"{text[:NOTES_SHOWN].rstrip()} ..." if len(text) > NOTES_SHOWN else text

    def render_updated_date(self, record) -> str:
        return date_format(timezone.localtime(record.updated_at), "SHORT_DATE_FORMAT")

    def render_updated_time(self, record) -> str:
        return date_format(timezone.localtime(record.updated_at), "H:i:s")


def _record_link(record, text: str, url_name: str) -> str:
    return format_html('<a href="{}">{}</a>', reverse(url_name, args=[record.pk]), text)


class RecordTable(tables.Table):
    """CRM › Maintenance › Clients, Prospects, Fournisseurs: one table for the three kinds."""

    code = tables.Column(verbose_name=_("Code"))
    name = tables.Column(verbose_name=_("Nom"))
    representative = tables.Column(
        verbose_name=_("Représentant"), accessor="sales_rep__name", order_by=("sales_rep__name", "name")
    )
    phone = tables.Column(verbose_name=_("Téléphone"), orderable=False)
    city = tables.Column(verbose_name=_("Ville"), order_by=("city", "name"))
    province = tables.Column(verbose_name=_("Province"), order_by=("province", "name"))
    is_active = tables.BooleanColumn(verbose_name=_("Actif"), yesno=(_("Oui"), _("Non")))

    class Meta:
        attrs = {"class": "grid"}
        default = ""
        order_by = "name"
        empty_text = _("Aucune fiche ne correspond à ces critères.")

    def __init__(self, *args, detail_url_name: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.detail_url_name = detail_url_name

    def render_code(self, record) -> str:
        return _record_link(record, record.code, self.detail_url_name)

    def render_name(self, record) -> str:
        return _record_link(record, record.name, self.detail_url_name)


ERP_COUNT_KEYS = ("created", "updated", "unchanged", "refused")


class ErpImportTable(tables.Table):
    """Administration › Import du progiciel: the history of imports, latest first."""

    created_at = tables.DateTimeColumn(verbose_name=_("Date"), format="SHORT_DATETIME_FORMAT")
    kind = tables.Column(verbose_name=_("Fiches"))
    file_name = tables.Column(verbose_name=_("Fichier"))
    uploaded_by = tables.Column(verbose_name=_("Par"), accessor="uploaded_by__name", default="")
    status = tables.Column(verbose_name=_("État"))
    counts = tables.Column(verbose_name=_("Résultat"), orderable=False, empty_values=())

    class Meta:
        model = ErpImport
        fields = ["created_at", "kind", "file_name", "uploaded_by", "status", "counts"]
        attrs = {"class": "grid"}
        default = ""
        order_by = "-created_at"
        empty_text = _("Aucun import pour l'instant.")

    def render_created_at(self, record, value) -> str:
        return format_html(
            '<a href="{}">{}</a>',
            reverse("erp_import_detail", args=[record.pk]),
            date_format(timezone.localtime(value), "SHORT_DATETIME_FORMAT"),
        )

    def render_uploaded_by(self, record, value) -> str:
        return value or record.get_source_display()

    def render_counts(self, record) -> str:
        phase = "import" if "import" in record.counts else "preview"
        counts = record.counts.get(phase)
        if not counts:
            return ""
        created, updated, unchanged, refused = (counts.get(key, 0) for key in ERP_COUNT_KEYS)
        words = [
            ngettext("%(count)s créée", "%(count)s créées", created) % {"count": created},
            ngettext("%(count)s mise à jour", "%(count)s mises à jour", updated) % {"count": updated},
            ngettext("%(count)s inchangée", "%(count)s inchangées", unchanged) % {"count": unchanged},
            ngettext("%(count)s refusée", "%(count)s refusées", refused) % {"count": refused},
        ]
        prefix = _("Import") if phase == "import" else _("Aperçu")
        return f"{prefix} : {', '.join(words)}"


class ErpImportLineTable(tables.Table):
    """The lines of an import that were created, updated or refused, with the reason."""

    line = tables.Column(verbose_name=_("Ligne"))
    action = tables.Column(verbose_name=_("Résultat"))
    code = tables.Column(verbose_name=_("Code"))
    label = tables.Column(verbose_name=_("Nom"))
    details = tables.Column(verbose_name=_("Détail"), orderable=False, empty_values=(), accessor="pk")

    class Meta:
        model = ErpImportLine
        fields = ["line", "action", "code", "label"]
        attrs = {"class": "grid"}
        default = ""
        order_by = "line"
        empty_text = _("Aucune ligne.")

    def render_details(self, record) -> str:
        if record.reasons:
            return " ".join(
                describe(item["code"], item.get("params"), item.get("field", "")) for item in record.reasons
            )
        if record.changes:
            return _("Colonnes changées : %(columns)s") % {"columns": ", ".join(record.changes)}
        return ""
