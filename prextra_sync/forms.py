"""The base of every screen's GET filter form, shared by the accounts, crm and exchange screens."""

from __future__ import annotations

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

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
