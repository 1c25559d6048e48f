"""Forms of the administrator screens: user search and record (R2), settings (R3)."""

from __future__ import annotations

import logging

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import password_validation
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from crm.models import Contact
from prextra_sync.client_address import client_address
from prextra_sync.forms import SEARCH_MAX_LENGTH, FilterForm, Status

from . import throttle
from .models import Setting, User

logger = logging.getLogger(__name__)

# The fields of the customer's user screen, in its order (R2); "administrateur" is ours, last.
USER_FIELDS = [
    "code",
    "name",
    "email",
    "is_active",
    "never_expires",
    "automatic_trace",
    "name_on_reports",
    "task_assignment",
    "show_all_planned_work_orders",
    "show_prextra_news",
    "approve_eft",
    "alert_at_sign_in",
    "hide_in_reminder_notes",
    "developer",
    "cdid_user",
    "expiry_date",
    "connection_expiry",
    "rows_per_page",
    "crm_calendar_scale",
    "contact",
    "office_version",
    "default_company",
    "language",
    "customer_number",
    "email_authentication",
    "signature",
    "allowed_companies",
    "is_staff",
]


class UserFilterForm(FilterForm):
    """The user list's search box, administrators filter and Actif / Inactif / Tous."""

    ALL, ADMINS, OTHERS = "tous", "oui", "non"
    defaults = {"status": Status.ALL, "admin": ALL}

    q = forms.CharField(
        label=_("Recherche"),
        required=False,
        max_length=SEARCH_MAX_LENGTH,
        strip=True,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": _("Code, nom ou courriel")}),
    )
    admin = forms.ChoiceField(
        label=_("Administrateur"),
        required=False,
        choices=[(ALL, _("Tous")), (ADMINS, _("Oui")), (OTHERS, _("Non"))],
    )
    status = Status(label=_("Afficher"), widget=forms.RadioSelect)

    def filter_qs(self, qs: QuerySet) -> QuerySet:
        data = self.cleaned_data
        qs = Status.filter(qs, data["status"])
        if data["admin"] != self.ALL:
            qs = qs.filter(is_staff=data["admin"] == self.ADMINS)
        for word in data["q"].split():
            qs = qs.filter(Q(code__icontains=word) | Q(name__icontains=word) | Q(email__icontains=word))
        return qs


class ContactByEmailField(forms.CharField):
    """The user's Prextra contact, typed as its email address (a select of every contact would be huge)."""

    def __init__(self, **kwargs) -> None:
        super().__init__(max_length=254, required=False, strip=True, **kwargs)

    def prepare_value(self, value):
        if isinstance(value, int):
            contact = Contact.objects.filter(pk=value).only("email").first()
            return contact.email if contact else ""
        return value

    def clean(self, value) -> Contact | None:
        email = super().clean(value)
        if not email:
            return None
        matches = list(Contact.objects.filter(email__iexact=email, is_active=True)[:2])
        if not matches:
            raise forms.ValidationError(
                _("Aucun contact actif n'a le courriel « %(email)s »."), params={"email": email}
            )
        if len(matches) > 1:
            raise forms.ValidationError(
                _("Plusieurs contacts actifs ont le courriel « %(email)s » : corrigez-les d'abord."),
                params={"email": email},
            )
        return matches[0]


class UserForm(forms.ModelForm):
    """Edit a user record (R2). An administrator cannot deactivate themselves or drop their own rights."""

    contact = ContactByEmailField(
        label=_("Contact"), help_text=_("Le courriel du contact Prextra de cet utilisateur (facultatif).")
    )

    class Meta:
        model = User
        fields = USER_FIELDS
        labels = {"crm_calendar_scale": _("Échelle calendrier CRM (minutes)")}
        widgets = {
            "expiry_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "signature": forms.Textarea(attrs={"rows": 4}),
            "allowed_companies": forms.CheckboxSelectMultiple,
            "email": forms.EmailInput(attrs={"autocomplete": "off"}),
        }

    def __init__(self, *args, editor: User, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.editor = editor
        self.fields["crm_calendar_scale"].help_text = ""
        if not self.fields["allowed_companies"].queryset.exists():
            self.fields["allowed_companies"].help_text = _("Aucune compagnie n'est définie.")

    def clean_code(self) -> str:
        code = self.cleaned_data["code"].strip().upper()
        if not code or any(char.isspace() for char in code):
            raise forms.ValidationError(_("Le code d'utilisateur ne peut pas contenir d'espaces."))
        if User.objects.filter(code__iexact=code).exclude(pk=self.instance.pk).exists():
            raise forms.ValidationError(_("Le code « %(code)s » est déjà utilisé."), params={"code": code})
        return code

    def clean_email(self) -> str:
        return self.cleaned_data["email"].strip().lower()

    def clean(self) -> dict:
        data = super().clean()
        if self.instance.pk and self.instance.pk == self.editor.pk:
            if "is_active" in data and not data["is_active"]:
                self.add_error("is_active", _("Vous ne pouvez pas désactiver votre propre compte."))
            if "is_staff" in data and not data["is_staff"]:
                self.add_error("is_staff", _("Vous ne pouvez pas retirer vos propres droits d'administrateur."))
        if data.get("never_expires") is False and not data.get("expiry_date"):
            self.add_error("expiry_date", _("Indiquez la date d'expiration, ou cochez « N'expire jamais »."))
        return data


class UserCreateForm(UserForm):
    """A new user, with an initial password checked by the password validators of the settings."""

    password1 = forms.CharField(
        label=_("Mot de passe initial"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validation.password_validators_help_text_html(),
    )
    password2 = forms.CharField(
        label=_("Confirmation du mot de passe"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean_password2(self) -> str:
        first, second = self.cleaned_data.get("password1"), self.cleaned_data["password2"]
        if first and first != second:
            raise forms.ValidationError(_("Les deux mots de passe ne sont pas identiques."))
        return second

    def _post_clean(self) -> None:
        super()._post_clean()
        # Validated against the user being built, so "too similar to the code or name" is caught.
        password = self.cleaned_data.get("password2")
        if password:
            try:
                password_validation.validate_password(password, self.instance)
            except forms.ValidationError as error:
                self.add_error("password1", error)

    def save(self, commit: bool = True) -> User:
        user = super().save(commit=False)
        user.set_password(self.cleaned_data["password1"])
        if commit:
            user.save()
            self._save_m2m()
        return user


class SettingForm(forms.ModelForm):
    """A configuration value (R3); its key and description are fixed."""

    class Meta:
        model = Setting
        fields = ["value"]
        widgets = {"value": forms.Textarea(attrs={"rows": 4})}

    def clean_value(self) -> str:
        value = self.cleaned_data["value"].strip()
        if len(value) > 4000:
            raise forms.ValidationError(_("La valeur est trop longue (4000 caractères au plus)."))
        return value


THROTTLED = _(
    "Trop de tentatives de connexion infructueuses. Réessayez dans quinze minutes ou "
    "communiquez avec votre administrateur."
)


class ThrottledSignIn:
    """Refuses a user code or an address after repeated failures (accounts/throttle.py), on top of
    an authentication form: the product's sign-in page and the Django admin's share the counters."""

    def clean(self):
        address = client_address(self.request) if self.request else ""
        code = self.cleaned_data.get("username") or ""
        if throttle.is_blocked(address, code):
            raise ValidationError(THROTTLED, code="throttled")
        try:
            cleaned = super().clean()
        except ValidationError:
            throttle.record_failure(address, code)
            if throttle.is_blocked(address, code):  # this failure started the lock-out
                logger.warning("Sign-in locked after repeated failures from %s", address)
            raise
        throttle.record_success(address, code)
        return cleaned


class ThrottledAuthenticationForm(ThrottledSignIn, AuthenticationForm):
    """The sign-in form of the product."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": _("Code d'utilisateur ou mot de passe invalide. Veuillez réessayer."),
    }


class ThrottledAdminAuthenticationForm(ThrottledSignIn, AdminAuthenticationForm):
    """The Django admin's sign-in form, under the same throttle (else /admin/login/ would let
    passwords be guessed at speed). It asks for no email code, so a user with « Authentification
    par courriel » (R2) is sent to the product's sign-in page; signed in there, the admin opens."""

    def confirm_login_allowed(self, user) -> None:
        super().confirm_login_allowed(user)
        if user.email_authentication:
            raise ValidationError(
                _("Ce compte se connecte avec un code reçu par courriel : passez par la page de connexion de Prextra."),
                code="email_authentication",
            )


class EmailCodeForm(forms.Form):
    """The code mailed after the password (R2 « Authentification par courriel »); spaces are ignored."""

    code = forms.CharField(
        label=_("Code reçu par courriel"),
        max_length=20,
        strip=True,
        widget=forms.TextInput(
            attrs={"inputmode": "numeric", "autocomplete": "one-time-code", "autofocus": True, "size": 8}
        ),
    )

    def clean_code(self) -> str:
        code = "".join(self.cleaned_data["code"].split())
        if len(code) != 6 or not code.isascii() or not code.isdigit():
            raise forms.ValidationError(_("Le code compte six chiffres."))
        return code
