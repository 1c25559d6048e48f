"""Forms of the CRM screens: GET filter forms that filter a queryset, and the edit forms."""

from __future__ import annotations

import re
from datetime import date, timedelta

from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef, Q, QuerySet, Value
from django.db.models.functions import Replace
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from prextra_sync.forms import SEARCH_MAX_LENGTH, FilterForm, Status

from .calendar import covered_days, local_midnight, local_moment
from .models import (
    EXCHANGE_GROUP_CODE,
    PUBLIC,
    Activity,
    Contact,
    ContactGroup,
    ContactNote,
    Customer,
    Prospect,
    Supplier,
)


def _text(label) -> forms.CharField:
    return forms.CharField(label=label, required=False, max_length=SEARCH_MAX_LENGTH, strip=True)


def _words_filter(qs: QuerySet, text: str, fields: list[str]) -> QuerySet:
    """Every word of `text` must appear (case-insensitively) in one of `fields`."""
    for word in text.split():
        match = Q()
        for field in fields:
            match |= Q(**{f"{field}__icontains": word})
        qs = qs.filter(match)
    return qs


class ContactGroupFilterForm(FilterForm):
    defaults = {"status": Status.ACTIVE}

    status = Status(label=_("Afficher"), widget=forms.RadioSelect)

    def filter_qs(self, qs: QuerySet) -> QuerySet:
        return Status.filter(qs, self.cleaned_data["status"])


class ContactGroupForm(forms.ModelForm):
    """Create or edit a contact group (R10). The Exchange group keeps its code and stays active (R9)."""

    class Meta:
        model = ContactGroup
        fields = ["code", "name", "description", "is_active"]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk and self.instance.code == EXCHANGE_GROUP_CODE:
            for name in ("code", "is_active"):
                self.fields[name].disabled = True
                self.fields[name].help_text = _("La synchronisation Exchange utilise ce groupe : non modifiable.")

    def clean_code(self) -> str:
        return self.cleaned_data["code"].strip().upper()


class GroupContactFilterForm(FilterForm):
    """The filters of a group's Contacts screen (R10): search box, types to display, status."""

    ALL, REVIEW, EXCHANGE, MANUAL = "tous", "a-verifier", "exchange", "prextra"
    TYPES = [
        (ALL, _("Tous")),
        (REVIEW, _("À vérifier")),
        (EXCHANGE, _("Synchronisés d'Exchange")),
        (MANUAL, _("Saisis dans Prextra")),
    ]
    defaults = {"types": ALL, "status": Status.ACTIVE}

    q = _text(_("Recherche"))
    types = forms.ChoiceField(label=_("Types à afficher"), choices=TYPES, required=False)
    status = Status(label=_("Afficher"), widget=forms.RadioSelect)

    def filter_qs(self, qs: QuerySet) -> QuerySet:
        data = self.cleaned_data
        qs = Status.filter(qs, data["status"])
        qs = _words_filter(qs, data["q"], ["first_name", "last_name", "email", "title"])
        if data["types"] == self.REVIEW:
            qs = qs.filter(needs_review=True)
        elif data["types"] == self.EXCHANGE:
            qs = qs.filter(source=Contact.Source.EXCHANGE)
        elif data["types"] == self.MANUAL:
            qs = qs.filter(source=Contact.Source.MANUAL)
        return qs


class UserChoiceField(forms.ModelChoiceField):
    """A user picked by name; inactive users stay listed (old notes and contacts keep their author)."""

    def __init__(self, **kwargs) -> None:
        users = get_user_model().objects.only("pk", "code", "name").order_by("name", "code")
        super().__init__(queryset=users, required=False, empty_label="", **kwargs)

    def label_from_instance(self, obj) -> str:
        return obj.name or obj.code


OWNER_FIELDS = ["customer", "prospect", "supplier", "group"]


def _digits_only(expression):
    """A database expression: `expression` without the usual phone separators."""
    for separator in (" ", "-", "(", ")", ".", "+"):
        expression = Replace(expression, Value(separator), Value(""))
    return expression


class ContactSearchForm(FilterForm):
    """Contact search (R11): every filter of the screen, combinable, read from GET parameters.

    "Événement" keeps the contacts that have an activity whose subject contains the text. Only
    activities the viewer may read count (public ones and the viewer's own): a private activity of
    another user must not reveal its subject, not even through a search hit.

    Text filters are case-insensitive "contains" filters (accents must match). A phone number is
    compared on its digits only, so "418 227-7767", "(418) 227-7767" and "4182277767" all match.
    """

    defaults = {"status": Status.ACTIVE}
    TYPES = [
        ("", _("Tous")),
        ("customer", _("Clients")),
        ("prospect", _("Prospects")),
        ("supplier", _("Fournisseurs")),
        ("group", _("Groupes de contacts")),
    ]

    status = Status(label=_("Type de contact"))
    owner_type = forms.ChoiceField(label=_("Type"), choices=TYPES, required=False)
    contact_name = _text(_("Nom du contact"))
    name = _text(_("Nom"))
    representative = UserChoiceField(label=_("Représentant"))
    note_from = UserChoiceField(label=_("Note de"))
    event = _text(_("Événement"))
    province = _text(_("Province"))
    city = _text(_("Ville du contact"))
    phone = _text(_("Tél. du contact"))
    email = _text(_("Courriel"))
    country = _text(_("Pays"))

    def filter_qs(self, qs: QuerySet, viewer) -> QuerySet:
        data = self.cleaned_data
        qs = Status.filter(qs, data["status"])
        if data["owner_type"]:
            qs = qs.filter(**{f"{data['owner_type']}__isnull": False})
        qs = _words_filter(qs, data["contact_name"], ["first_name", "last_name"])
        qs = _words_filter(qs, data["name"], [f"{owner}__name" for owner in OWNER_FIELDS])
        if data["representative"]:
            qs = qs.filter(representative=data["representative"])
        if data["note_from"]:
            notes = ContactNote.objects.filter(contact=OuterRef("pk"), author=data["note_from"])
            qs = qs.filter(Exists(notes))
        if data["event"]:
            qs = qs.filter(Exists(self._readable_activities(viewer).filter(subject__icontains=data["event"])))
        for field in ("province", "city", "email", "country"):
            if data[field]:
                qs = qs.filter(**{f"{field}__icontains": data[field]})
        return self._filter_phone(qs, data["phone"])

    @staticmethod
    def _readable_activities(viewer) -> QuerySet:
        return Activity.objects.alive().readable_by(viewer).filter(contact=OuterRef("pk"))

    @staticmethod
    def _filter_phone(qs: QuerySet, phone: str) -> QuerySet:
        digits = re.sub(r"\D", "", phone)
        if digits:
            return qs.alias(phone_digits=_digits_only("phone")).filter(phone_digits__contains=digits)
        if phone:
            return qs.filter(phone__icontains=phone)
        return qs


ASSIGNABLE_MODELS = {"customer": Customer, "prospect": Prospect, "supplier": Supplier}
OWNER_MODELS = {**ASSIGNABLE_MODELS, "group": ContactGroup}


def find_owner(owner_type: str, code: str, *, keep=None):
    """The active record of `owner_type` whose code is `code` (any case), or None.

    `keep`, a contact's current owner, is found even when inactive: editing a contact of an
    inactive record must not force a new owner on it.
    """
    found = OWNER_MODELS[owner_type].objects.filter(code__iexact=code).first()
    return found if found is not None and (found.is_active or found == keep) else None


def owner_from_reference(reference: str):
    """The active record named by a query parameter such as ``customer:12`` (also ``prospect:``,
    ``supplier:``, ``group:``), or None: how a record's page pre-selects a new contact's owner."""
    owner_type, _sep, pk = reference.partition(":")
    model = OWNER_MODELS.get(owner_type)
    if model is None or not (pk.isascii() and pk.isdigit() and int(pk) < 2**63):
        return None
    return model.objects.filter(pk=int(pk), is_active=True).first()


def owner_type_of(owner) -> str:
    return {Customer: "customer", Prospect: "prospect", Supplier: "supplier", ContactGroup: "group"}[type(owner)]


class ContactAssignForm(forms.Form):
    """Link a contact to a customer, prospect or supplier: the record the picker chose
    (``record``, as ``customer:12``), or else, typed, the type and the company's code.

    The picker (crm/fragment_record_picker.html) fills ``record``; the type and code stay for a
    browser without JavaScript and for whoever knows the code, so nobody has to.
    """

    record = forms.CharField(required=False, max_length=40, widget=forms.HiddenInput)
    record_search = forms.CharField(label=_("Fiche"), required=False, max_length=SEARCH_MAX_LENGTH)
    owner_type = forms.ChoiceField(
        label=_("Type"),
        choices=[("customer", _("Client")), ("prospect", _("Prospect")), ("supplier", _("Fournisseur"))],
        required=False,
    )
    code = forms.CharField(label=_("Code de la fiche"), max_length=20, required=False)

    def clean(self) -> dict:
        data = super().clean()
        record, owner_type, code = data.get("record", ""), data.get("owner_type"), data.get("code", "").strip()
        if record:
            company = owner_from_reference(record) if record.partition(":")[0] in ASSIGNABLE_MODELS else None
            if company is None:
                raise forms.ValidationError(
                    _("Cette fiche n'existe plus ou n'est plus active : cherchez-en une autre."), code="unknown_record"
                )
            data["company"] = company
        elif owner_type and code:
            model = ASSIGNABLE_MODELS[owner_type]
            company = find_owner(owner_type, code)
            if company is None:
                raise forms.ValidationError(
                    _("Aucun %(type)s actif ne porte le code « %(code)s »."),
                    code="unknown_company",
                    params={"type": model._meta.verbose_name, "code": code},
                )
            data["company"] = company
        elif not self.errors:
            raise forms.ValidationError(
                _("Choisissez une fiche : tapez son nom, son code ou son domaine, puis choisissez-la dans la liste."),
                code="no_record",
            )
        return data


# ---------------------------------------------------------------- activities (R17, R18, R19)

YEARS = range(1900, 2201)  # beyond, the calendars have nothing sensible to show


def _check_year(day):
    if day is not None and day.year not in YEARS:
        raise forms.ValidationError(_("Date hors des limites du calendrier."), code="out_of_range")
    return day


def _active_users() -> QuerySet:
    return get_user_model().objects.filter(is_active=True).only("pk", "code", "name").order_by("name", "code")


class ActiveUserChoiceField(UserChoiceField):
    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.queryset = _active_users()


class UsersField(forms.ModelMultipleChoiceField):
    """Several users picked by name, as check boxes."""

    def __init__(self, **kwargs) -> None:
        super().__init__(queryset=_active_users(), required=False, widget=forms.CheckboxSelectMultiple, **kwargs)

    def _check_values(self, value):
        # A key no database column can hold ("99999999999999999999") is an invalid choice, not a
        # crash of `pk__in` (SQLite's OverflowError, PostgreSQL's out-of-range error).
        for key in value if isinstance(value, list | tuple) else []:
            text = str(key)
            if not (text.isascii() and text.isdigit() and int(text) < 2**63):
                raise forms.ValidationError(
                    self.error_messages["invalid_pk_value"], code="invalid_pk_value", params={"pk": key}
                )
        return super()._check_values(value)

    def label_from_instance(self, obj) -> str:
        return obj.name or obj.code


class CalendarFilterForm(FilterForm):
    """« Filtrer calendrier » (R17, R18): whose calendar, whose public activities to add, which source.

    `day` and `month` (hidden) keep the place in the calendar when the filter changes; `filter_qs`
    keeps the chosen user's activities (the view masks their private ones for other viewers) and
    only the public activities of the other users ticked.
    """

    BOTH = ""
    SOURCES = [
        (BOTH, _("Prextra et Outlook")),
        (Activity.Source.PREXTRA, _("Prextra")),
        (Activity.Source.OUTLOOK, _("Outlook")),
    ]

    user = ActiveUserChoiceField(label=_("Utilisateur"))
    others = UsersField(label=_("Activités publiques de"))
    source = forms.ChoiceField(label=_("Source"), choices=SOURCES, required=False)
    day = forms.DateField(
        label=_("Jour"),
        required=False,
        input_formats=["%Y-%m-%d"],
        widget=forms.HiddenInput,
        error_messages={"invalid": _("Date illisible : utilisez le format AAAA-MM-JJ.")},
    )
    month = forms.RegexField(
        label=_("Mois"),
        regex=r"^\d{4}-\d{2}$",
        required=False,
        widget=forms.HiddenInput,
        error_messages={"invalid": _("Mois illisible : utilisez le format AAAA-MM.")},
    )

    def __init__(self, data=None, *, viewer, **kwargs) -> None:
        self.defaults = {"user": str(viewer.pk)}
        super().__init__(data, **kwargs)

    def clean_day(self):
        return _check_year(self.cleaned_data["day"])

    def clean_month(self):
        text = self.cleaned_data["month"]
        if not text:
            return None
        try:
            return _check_year(date(int(text[:4]), int(text[5:]), 1))
        except ValueError:
            raise forms.ValidationError(self.fields["month"].error_messages["invalid"], code="invalid") from None

    def filter_qs(self, qs: QuerySet) -> QuerySet:
        data = self.cleaned_data
        shown = Q(owner=data["user"])
        if data["others"]:
            # The public activities of the users ticked, whoever looks (the viewer included: their
            # own private activities show when they pick themselves as "user").
            shown |= Q(owner__in=[user.pk for user in data["others"]]) & PUBLIC
        qs = qs.filter(shown)
        if data["source"]:
            qs = qs.filter(source=data["source"])
        return qs

    @property
    def is_filtered(self) -> bool:
        """Whether anything beyond the chosen user is asked for (the filter panel opens)."""
        return self.is_bound and (
            bool(self.errors) or bool(self.data.getlist("others")) or bool(self.data.get("source"))
        )


def _date_field(label) -> forms.DateField:
    return forms.DateField(
        label=label,
        required=False,
        input_formats=["%Y-%m-%d", "%d/%m/%Y"],
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": _("Date illisible : utilisez le format AAAA-MM-JJ.")},
    )


def _time_field(label) -> forms.TimeField:
    return forms.TimeField(
        label=label,
        required=False,
        input_formats=["%H:%M", "%H:%M:%S", "%Hh%M"],
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        error_messages={"invalid": _("Heure illisible : utilisez le format HH:MM.")},
    )


class ActivityForm(forms.ModelForm):
    """Create or edit an activity from the calendars (R17, R18).

    Dates and times are local (America/Toronto). For an all-day activity the times are ignored,
    the dates are local midnights and the end date is inclusive in the form, exclusive in the model
    (R14). An administrator chooses the owner of a new activity; everyone else creates their own.
    """

    PUBLIC, PRIVATE = "public", "private"

    owner = ActiveUserChoiceField(label=_("Utilisateur"))
    start_date = _date_field(_("Début"))
    start_time = _time_field(_("Heure de début"))
    end_date = _date_field(_("Fin"))
    end_time = _time_field(_("Heure de fin"))
    visibility = forms.ChoiceField(
        label=_("Visibilité"),
        choices=[(PUBLIC, _("Public")), (PRIVATE, _("Privé"))],
        widget=forms.RadioSelect,
        initial=PUBLIC,
    )

    class Meta:
        model = Activity
        fields = ["subject", "contact", "all_day", "location", "notes"]
        labels = {
            "subject": _("Sujet"),
            "location": _("Emplacement"),
            "notes": _("Notes"),
            "all_day": _("Toute la journée"),
        }
        widgets = {"contact": forms.HiddenInput, "notes": forms.Textarea(attrs={"rows": 4})}
        error_messages = {"subject": {"required": _("Le sujet est obligatoire.")}}

    def __init__(self, *args, viewer, **kwargs) -> None:
        kwargs.setdefault("label_suffix", "")  # the dialog's labels stand in a column of their own
        super().__init__(*args, **kwargs)
        contacts = Q(is_active=True)
        if self.instance.contact_id:
            contacts |= Q(pk=self.instance.contact_id)
        self.fields["contact"].queryset = Contact.objects.filter(contacts)
        self.fields["contact"].error_messages["invalid_choice"] = _("Ce contact n'existe pas ou est inactif.")
        if self.instance.pk or not viewer.is_staff:
            del self.fields["owner"]
        else:
            self.fields["owner"].required = True
            self.fields["owner"].empty_label = None
            self.fields["owner"].initial = viewer.pk
        if self.instance.pk:
            self._initial_from_instance()

    def _initial_from_instance(self) -> None:
        activity = self.instance
        start, end = timezone.localtime(activity.start), timezone.localtime(activity.end)
        self.initial.update(start_date=start.date(), end_date=end.date(), visibility=self.PUBLIC)
        if activity.all_day:
            self.initial["end_date"] = covered_days(activity.start, activity.end)[-1]
        else:
            self.initial.update(start_time=start.time(), end_time=end.time())
        if activity.is_private:
            self.initial["visibility"] = self.PRIVATE

    def contact_label(self) -> str:
        """The chosen contact's name, also when the form comes back with errors (no lost input)."""
        value = self["contact"].value()
        if not value:
            return ""
        try:
            contact = self.fields["contact"].queryset.filter(pk=int(value)).first()
        except (TypeError, ValueError):
            return ""
        return f"{contact.full_name} <{contact.email}>" if contact and contact.email else str(contact or "")

    def clean(self) -> dict:
        data = super().clean()
        if "start_date" in self.errors or "end_date" in self.errors:
            return data
        if not data.get("start_date"):
            self.add_error("start_date", _("La date de début est obligatoire."))
            return data
        data["end_date"] = data.get("end_date") or data["start_date"]
        if self._year_refused(data):
            return data
        if data.get("all_day"):
            self._clean_all_day(data)
        else:
            self._clean_timed(data)
        return data

    def _year_refused(self, data: dict) -> bool:
        """A year no calendar can hold (outside YEARS, 1900–2200) is refused on its field: Outlook's
        calendars and the sync's window arithmetic stop there (and 9999-12-31 would overflow)."""
        refused = [name for name in ("start_date", "end_date") if data[name].year not in YEARS]
        if data["end_date"] == data["start_date"]:
            refused = refused[:1]  # one date (the end left empty): one error
        text = _("L'année %(year)s est hors des limites : aucun calendrier ne peut la contenir (1900 à 2200).")
        for name in refused:
            self.add_error(name, forms.ValidationError(text, code="out_of_range", params={"year": data[name].year}))
        return bool(refused)

    def _clean_all_day(self, data: dict) -> None:
        if data["end_date"] < data["start_date"]:
            self.add_error("end_date", _("La fin doit être le même jour que le début ou après."))
            return
        data["start"] = local_midnight(data["start_date"])
        data["end"] = local_midnight(data["end_date"] + timedelta(days=1))

    def _clean_timed(self, data: dict) -> None:
        if "start_time" in self.errors or "end_time" in self.errors:
            return
        for name, message in (
            ("start_time", _("L'heure de début est obligatoire (ou cochez « Toute la journée »).")),
            ("end_time", _("L'heure de fin est obligatoire (ou cochez « Toute la journée »).")),
        ):
            if data.get(name) is None:
                self.add_error(name, message)
        if data.get("start_time") is None or data.get("end_time") is None:
            return
        start = local_moment(data["start_date"], data["start_time"])
        end = local_moment(data["end_date"], data["end_time"])
        missing = _("Cette heure n'existe pas ce jour-là (passage à l'heure avancée).")
        if start is None:
            self.add_error("start_time", missing)
        if end is None:
            self.add_error("end_time", missing)
        if start and end and end < start:
            self.add_error("end_time", _("La fin doit être après le début."))
        elif start and end:
            data["start"], data["end"] = start, end

    def save(self, commit: bool = True) -> Activity:
        activity = super().save(commit=False)
        data = self.cleaned_data
        activity.start, activity.end = data["start"], data["end"]
        activity.is_private = data["visibility"] == self.PRIVATE
        if "owner" in data:
            activity.owner = data["owner"]
        if commit:
            activity.save()
        return activity


class ImportedActivityFilterForm(FilterForm):
    """Filters of « Activités Outlook importées » (R19): user and a range of start dates."""

    user = UserChoiceField(label=_("Utilisateur"))
    date_from = _date_field(_("Du"))
    date_to = _date_field(_("Au"))

    def clean(self) -> dict:
        data = super().clean()
        for name in ("date_from", "date_to"):
            try:
                _check_year(data.get(name))
            except forms.ValidationError as error:
                self.add_error(name, error)
        if data.get("date_from") and data.get("date_to") and data["date_to"] < data["date_from"]:
            self.add_error("date_to", _("La date de fin doit suivre la date de début."))
        return data

    def filter_qs(self, qs: QuerySet) -> QuerySet:
        data = self.cleaned_data
        if data["user"]:
            qs = qs.filter(owner=data["user"])
        if data["date_from"]:
            qs = qs.filter(start__gte=local_midnight(data["date_from"]))
        if data["date_to"]:
            qs = qs.filter(start__lt=local_midnight(data["date_to"] + timedelta(days=1)))
        return qs


# ---------------------------------------------------------------- contacts by hand (R10, R11)

OUTLOOK_SOURCE_HELP = _("Outlook est la source de ce champ : il se modifie dans Outlook.")


class ContactForm(forms.ModelForm):
    """Create or edit a contact by hand; it then shows in the search (R11) and its group (R10).

    The owner is a type and a code, as in ContactAssignForm, with contact groups besides: exactly
    one owner, as the model's constraint requires. An email is optional; when given (or changed),
    no other active contact may have it: one contact per person (`duplicate` names the one found).
    On a synchronized contact the fields Outlook writes (Contact.OUTLOOK_FIELDS) are read-only, a
    POST cannot change them; its owner may still change by hand, and the sync then keeps it
    (owner_locked).
    """

    owner_type = forms.ChoiceField(
        label=_("Appartient à"),
        choices=[
            ("customer", _("Client")),
            ("prospect", _("Prospect")),
            ("supplier", _("Fournisseur")),
            ("group", _("Groupe de contacts")),
        ],
    )
    owner_code = forms.CharField(label=_("Code de la fiche ou du groupe"), max_length=20)
    representative = UserChoiceField(label=_("Représentant"))

    class Meta:
        model = Contact
        fields = [
            "first_name", "last_name", "title", "email", "phone", "extension", "mobile",
            "city", "province", "country", "representative", "is_active",
        ]  # fmt: skip
        labels = {
            "first_name": _("Prénom"),
            "last_name": _("Nom"),
            "title": _("Titre"),
            "email": _("Courriel"),
            "phone": _("Téléphone"),
            "extension": _("Poste"),
            "mobile": _("Cellulaire"),
            "city": _("Ville"),
            "province": _("Province"),
            "country": _("Pays"),
            "is_active": _("Actif"),
        }
        error_messages = {
            "first_name": {"required": _("Le prénom est obligatoire.")},
            "last_name": {"required": _("Le nom est obligatoire.")},
        }

    def __init__(self, *args, owner=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.duplicate: Contact | None = None
        current = self.instance.owner if self.instance.pk else owner
        if current is not None:
            self.initial.setdefault("owner_type", owner_type_of(current))
            self.initial.setdefault("owner_code", current.code)
        if self.instance.pk and self.instance.is_synchronized:
            for name in Contact.OUTLOOK_FIELDS:
                self.fields[name].disabled = True
                self.fields[name].help_text = OUTLOOK_SOURCE_HELP
        self.order_fields(["owner_type", "owner_code"])

    def clean_email(self) -> str:
        email = self.cleaned_data["email"]
        if email and "email" in self.changed_data and not self.fields["email"].disabled:
            others = Contact.objects.filter(is_active=True, email__iexact=email).exclude(pk=self.instance.pk)
            self.duplicate = others.order_by("pk").first()
            if self.duplicate is not None:
                raise forms.ValidationError(
                    _("%(name)s a déjà ce courriel : un seul contact par personne."),
                    code="duplicate_email",
                    params={"name": self.duplicate.full_name},
                )
        return email

    def clean(self) -> dict:
        data = super().clean()
        owner_type, code = data.get("owner_type"), data.get("owner_code", "").strip()
        if owner_type and code:
            keep = self.instance.owner if self.instance.pk else None
            data["owner"] = find_owner(owner_type, code, keep=keep)
            if data["owner"] is None:
                model = OWNER_MODELS[owner_type]
                self.add_error(
                    "owner_code",
                    forms.ValidationError(
                        _("Aucun %(type)s actif ne porte le code « %(code)s »."),
                        code="unknown_owner",
                        params={"type": model._meta.verbose_name, "code": code},
                    ),
                )
        return data

    def save(self, commit: bool = True) -> Contact:
        contact = super().save(commit=False)
        owner = self.cleaned_data["owner"]
        if contact.pk and contact.owner != owner:
            contact.owner_locked = contact.is_synchronized  # the sync no longer re-links it
            contact.needs_review, contact.review = False, {}
        chosen = owner_type_of(owner)
        for name in OWNER_FIELDS:
            setattr(contact, name, owner if name == chosen else None)
        if commit:
            contact.save()
        return contact
