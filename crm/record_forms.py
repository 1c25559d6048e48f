"""Forms of the customer, prospect and supplier screens (crm/record_views.py)."""

from __future__ import annotations

from django import forms
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from prextra_sync.forms import SEARCH_MAX_LENGTH, FilterForm, Status

from .forms import UserChoiceField
from .models import EmailDomain
from .records import RecordKind, domain_refusal, normalized_domain


class RecordFilterForm(FilterForm):
    """A kind's list: words found in the code, name, an email domain or the city; representative; status."""

    defaults = {"status": Status.ACTIVE}

    q = forms.CharField(label=_("Recherche"), required=False, max_length=SEARCH_MAX_LENGTH, strip=True)
    sales_rep = UserChoiceField(label=_("Représentant"))
    status = Status(label=_("Afficher"), widget=forms.RadioSelect)

    def filter_qs(self, qs: QuerySet, *, kind: RecordKind) -> QuerySet:
        data = self.cleaned_data
        qs = Status.filter(qs, data["status"])
        if data["sales_rep"] is not None:
            qs = qs.filter(sales_rep=data["sales_rep"])
        for word in data["q"].split():
            # Exists rather than a join: a record with two matching domains stays one row.
            domain = EmailDomain.objects.filter(**{kind.key: OuterRef("pk")}, domain__icontains=word)
            qs = qs.filter(Q(code__icontains=word) | Q(name__icontains=word) | Q(city__icontains=word) | Exists(domain))
        return qs


class RecordForm(forms.ModelForm):
    """Create or edit a customer, prospect or supplier; deactivating is its own button."""

    sales_rep = UserChoiceField(label=_("Représentant"))

    class Meta:
        fields = ["code", "name", "sales_rep", "phone", "city", "province", "country"]

    def clean_code(self) -> str:
        return self.cleaned_data["code"].strip().upper()


def record_form_class(kind: RecordKind) -> type[RecordForm]:
    meta = type("Meta", (RecordForm.Meta,), {"model": kind.model})
    return type(f"{kind.model.__name__}Form", (RecordForm,), {"Meta": meta})


class DomainForm(forms.Form):
    """An email domain to add to a record: refused with its reason when it is not a domain, is
    already on a record of the same kind, or is a free-mail domain (R8, R9)."""

    domain = forms.CharField(
        label=_("Domaine de courriel"), max_length=253, help_text=_("Par exemple : finloc.com"), strip=True
    )

    def __init__(self, *args, kind: RecordKind, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.kind = kind

    def clean_domain(self) -> str:
        domain = normalized_domain(self.cleaned_data["domain"])
        refusal = domain_refusal(self.kind, domain)
        if refusal:
            raise forms.ValidationError(refusal)
        return domain
