"""Forms of the exchange screens."""

from __future__ import annotations

from pathlib import Path

from django import forms
from django.db.models import Q
from django.utils.decorators import method_decorator
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_variables

from accounts.models import ExchangeProfile, User
from crm.models import readable_q

from .models import Direction, GraphConnection, JournalEntry


class GraphConnectionForm(forms.ModelForm):
    """The Microsoft 365 connection (R1). The secret is write-only: blank keeps the saved one."""

    client_secret = forms.CharField(
        label=_("Secret client"),
        required=False,
        strip=True,
        max_length=500,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_("Jamais réaffiché. Laissez vide pour conserver le secret enregistré."),
    )

    authority_host = forms.URLField(label=_("Adresse d'authentification"), assume_scheme="https", max_length=200)
    graph_url = forms.URLField(label=_("Adresse de Microsoft Graph"), assume_scheme="https", max_length=200)

    class Meta:
        model = GraphConnection
        fields = [
            "tenant_id",
            "client_id",
            "client_secret",
            "authority_host",
            "graph_url",
            "ca_file",
            "private_events",
            "conflict_winner",
            "window_days_back",
            "window_days_ahead",
        ]

    @method_decorator(sensitive_variables("secret"))
    def clean_client_secret(self) -> str:
        secret = self.cleaned_data["client_secret"]
        if not secret and not self.instance.has_secret:
            raise forms.ValidationError(_("Le secret client est obligatoire."))
        return secret

    def clean_ca_file(self) -> str:
        path = self.cleaned_data["ca_file"].strip()
        try:
            missing = bool(path) and not Path(path).is_file()
        except (OSError, ValueError):  # a name too long for the system, a NUL character…
            missing = True
        if missing:
            raise forms.ValidationError(_("Ce fichier n'existe pas sur le serveur."))
        return path

    def clean_tenant_id(self) -> str:
        value = self.cleaned_data["tenant_id"].strip()
        if not value or any(char in value for char in "/?#% "):
            raise forms.ValidationError(_("Identifiant de locataire invalide : un GUID ou un nom de domaine."))
        return value

    def clean_window_days_ahead(self) -> int:
        value = self.cleaned_data["window_days_ahead"]
        if not 1 <= value <= 1825:
            raise forms.ValidationError(_("Entre 1 et 1825 jours."))
        return value

    def clean_window_days_back(self) -> int:
        value = self.cleaned_data["window_days_back"]
        if not 0 <= value <= 1825:
            raise forms.ValidationError(_("Entre 0 et 1825 jours."))
        return value

    def save(self, commit: bool = True) -> GraphConnection:
        connection = super().save(commit=False)
        if self.cleaned_data["client_secret"]:
            connection.set_secret(self.cleaned_data["client_secret"])
        if commit:
            connection.save()
        return connection


class ExchangeProfileForm(forms.ModelForm):
    """The Exchange dialog's three check boxes, with the customer's labels (R4)."""

    class Meta:
        model = ExchangeProfile
        fields = ["sync_contacts_in", "sync_activities_in", "sync_activities_out"]
        labels = {
            "sync_contacts_in": _("Sync. contacts d'Exchange à Prextra :"),
            "sync_activities_in": _("Sync. activités Exchange à Prextra :"),
            "sync_activities_out": _("Sync. activités Prextra à Exchange :"),
        }

    def __init__(self, *args, disabled: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.label_suffix = ""
        for field in self.fields.values():
            field.disabled = disabled


class ConnectionTestForm(forms.Form):
    mailbox = forms.EmailField(
        label=_("Boîte aux lettres à vérifier"),
        required=False,
        help_text=_("L'adresse d'un utilisateur à synchroniser : vérifie les permissions sur sa boîte."),
    )


class JournalFilterForm(forms.Form):
    """Search the item journal: text (item, email, reason), user, direction, action, dates."""

    q = forms.CharField(label=_("Sujet, nom ou courriel"), required=False, max_length=200)
    user = forms.ModelChoiceField(
        label=_("Utilisateur"), required=False, queryset=User.objects.order_by("code"), empty_label=_("Tous")
    )
    direction = forms.ChoiceField(label=_("Direction"), required=False, choices=[("", _("Toutes")), *Direction.choices])
    action = forms.ChoiceField(
        label=_("Décision"), required=False, choices=[("", _("Toutes")), *JournalEntry.Action.choices]
    )
    date_from = forms.DateField(label=_("Du"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("Au"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    outlook_id = forms.CharField(required=False, max_length=512, widget=forms.HiddenInput)

    def clean(self) -> dict:
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_to"] < data["date_from"]:
            raise forms.ValidationError(_("La date de fin précède la date de début."))
        return data

    def filter_qs(self, entries, *, viewer):
        data = self.cleaned_data
        if data["q"]:
            # The item and its address: the reasons are codes, whose words depend on the reader's language.
            text = data["q"]
            entries = entries.filter(Q(item_label__icontains=text) | Q(email__icontains=text))
            # Another user's private activity is only « Occupé »: its words never find it.
            entries = entries.filter(Q(activity__isnull=True) | readable_q(viewer, prefix="activity__"))
        for name in ("user", "direction", "action", "outlook_id"):
            if data[name]:
                entries = entries.filter(**{name: data[name]})
        if data["date_from"]:
            entries = entries.filter(at__date__gte=data["date_from"])
        if data["date_to"]:
            entries = entries.filter(at__date__lte=data["date_to"])
        return entries
