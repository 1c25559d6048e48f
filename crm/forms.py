"""Forms of the CRM screens: GET filter forms that filter a queryset, and the edit forms."""

from __future__ import annotations

import re

from django import forms
from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef, Q, QuerySet, Value
from django.db.models.functions import Replace
from django.utils.translation import gettext_lazy as _

from .models import EXCHANGE_GROUP_CODE, Activity, Contact, ContactGroup, ContactNote, Customer, Prospect, Supplier

SEARCH_MAX_LENGTH = 100


class Status(forms.ChoiceField):
    """Actif / Inactif / Tous, as at the bottom of Prextra's lists."""

    ACTIVE, INACTIVE, ALL = "actif", "inactif", "tous"
    CHOICES = [(ACTIVE, _("Actif")), (INACTIVE, _("Inactif")), (ALL, _("Tous"))]

    def __init__(self, **kwargs) -> None:
        super().__init__(choices=self.CHOICES, required=False, **kwargs)

    @classmethod
    def filter(cls, qs: QuerySet, value: str) -> QuerySet:
        if value == cls.INACTIVE:
            return qs.filter(is_active=False)
        if value == cls.ALL:
            return qs
        return qs.filter(is_active=True)


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


class FilterForm(forms.Form):
    """A GET filter form: missing parameters take their defaults, so an empty query string is valid."""

    defaults: dict[str, str] = {}

    def __init__(self, data=None, **kwargs) -> None:
        if data is not None:
            data = data.copy()
            for name, value in self.defaults.items():
                if not data.get(name):
                    data[name] = value
        super().__init__(data, **kwargs)


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
        return Activity.objects.alive().filter(contact=OuterRef("pk")).filter(Q(is_private=False) | Q(owner=viewer))

    @staticmethod
    def _filter_phone(qs: QuerySet, phone: str) -> QuerySet:
        digits = re.sub(r"\D", "", phone)
        if digits:
            return qs.alias(phone_digits=_digits_only("phone")).filter(phone_digits__contains=digits)
        if phone:
            return qs.filter(phone__icontains=phone)
        return qs


ASSIGNABLE_MODELS = {"customer": Customer, "prospect": Prospect, "supplier": Supplier}


class ContactAssignForm(forms.Form):
    """Link a contact to a customer, prospect or supplier: the type, then the company's code."""

    owner_type = forms.ChoiceField(
        label=_("Type"),
        choices=[("customer", _("Client")), ("prospect", _("Prospect")), ("supplier", _("Fournisseur"))],
    )
    code = forms.CharField(label=_("Code de la fiche"), max_length=20)

    def clean(self) -> dict:
        data = super().clean()
        owner_type, code = data.get("owner_type"), data.get("code", "").strip()
        if owner_type and code:
            model = ASSIGNABLE_MODELS[owner_type]
            company = model.objects.filter(code__iexact=code, is_active=True).first()
            if company is None:
                raise forms.ValidationError(
                    _("Aucun %(type)s actif ne porte le code « %(code)s »."),
                    code="unknown_company",
                    params={"type": model._meta.verbose_name, "code": code},
                )
            data["company"] = company
        return data
