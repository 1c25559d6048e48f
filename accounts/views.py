"""Account views: sign-in (with the email code of R2), the UI language switch, and the
administrator screens of users (R2) and of the configuration values (R3). The Exchange dialog of a
user record (R4) is an Exchange screen (exchange/views.py); the record only shows its button (R3).

Every administrator screen is behind `admin_required` (login is enforced globally). Lists render a
named partial of their page when htmx asks; every link keeps a real href.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.views import LoginView
from django.db import transaction
from django.db.models import ProtectedError, RestrictedError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render, resolve_url
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST
from django.views.decorators.vary import vary_on_headers

from prextra_sync.decorators import admin_required
from prextra_sync.lists import configure_table, render_list

from . import email_code
from .forms import EmailCodeForm, SettingForm, ThrottledAuthenticationForm, UserCreateForm, UserFilterForm, UserForm
from .models import Setting, User, exchange_button_enabled
from .tables import SettingTable, UserTable


class SignInView(LoginView):
    """Connexion: code and password; with « Authentification par courriel » (R2) the password only
    leads to the code page, and the sign-in completes there."""

    template_name = "accounts/login.html"
    authentication_form = ThrottledAuthenticationForm
    redirect_authenticated_user = True

    def form_valid(self, form):
        user = form.get_user()
        if not user.email_authentication:
            return super().form_valid(form)
        refusal = email_code.start(self.request, user, self.get_redirect_url())
        if refusal:
            form.add_error(None, refusal)
            return self.form_invalid(form)
        return redirect("login_code")


@login_not_required
@sensitive_post_parameters("code")
@never_cache
def sign_in_code(request: HttpRequest) -> HttpResponse:
    """The code mailed after the password: right, the user is signed in; wrong, the page says how
    many tries are left; expired or too many wrong codes, back to the sign-in page, which says so."""
    user = email_code.pending_user(request)
    if user is None:
        return redirect("login")
    form = EmailCodeForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        result = email_code.verify(request, form.cleaned_data["code"])
        Outcome = email_code.Outcome
        if result.outcome == Outcome.SIGNED_IN:
            return redirect(result.next_url or resolve_url(settings.LOGIN_REDIRECT_URL))
        if result.outcome == Outcome.WRONG:
            form.add_error(
                "code",
                ngettext(
                    "Ce code n'est pas le bon. Il vous reste %(count)d essai.",
                    "Ce code n'est pas le bon. Il vous reste %(count)d essais.",
                    result.attempts_left,
                )
                % {"count": result.attempts_left},
            )
        else:
            messages.error(request, _sign_in_code_ended(result.outcome))
            return redirect("login")
    context = {"form": form, "email": email_code.masked_email(user.email), "minutes": email_code.LIFETIME_SECONDS // 60}
    return render(request, "accounts/login_code.html", context, status=400 if form.is_bound else 200)


def _sign_in_code_ended(outcome: str) -> str:
    if outcome == email_code.Outcome.EXPIRED:
        return _("Le code a expiré. Connectez-vous de nouveau pour en recevoir un autre.")
    if outcome == email_code.Outcome.CANCELLED:
        return _("La connexion est annulée. Connectez-vous de nouveau pour recevoir un autre code.")
    return _("Connectez-vous de nouveau.")


@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """Switch the UI language: stored on the user's record (R2) and in a cookie for the sign-in page."""
    language = request.POST.get("language", "")
    supported = {code for code, _name in settings.LANGUAGES}
    next_url = request.POST.get("next") or "/"
    if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}, request.is_secure()):
        next_url = "/"
    response = redirect(next_url)
    if language not in supported:
        return response
    if request.user.is_authenticated and request.user.language != language:
        request.user.language = language
        request.user.save(update_fields=["language"])
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=365 * 24 * 3600,
        samesite="Lax",
        secure=request.is_secure(),
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
    )
    return response


# --- Users (R2) -------------------------------------------------------------------------------


@vary_on_headers("HX-Request")
@admin_required
def user_list(request: HttpRequest) -> HttpResponse:
    """Administration › Utilisateurs: search, sort and page the users (page size = "Nbre lignes")."""
    form = UserFilterForm(request.GET)
    table = configure_table(request, UserTable(form.filter_qs(User.objects.all()))) if form.is_valid() else None
    status = 200 if table is not None else 400
    return render_list(request, "accounts/user_list.html", {"form": form, "table": table}, status=status)


@admin_required
def user_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The user record (R2) with Modifier, Détruire and, when configured, the Exchange button (R3)."""
    user = get_object_or_404(User.objects.select_related("contact", "default_company"), pk=pk)
    return render(request, "accounts/user_detail.html", detail_context(user))


def detail_context(user: User) -> dict:
    """The record page's data; the Exchange dialog, opened on a reload, shows the same page under it."""
    return {
        "record": user,
        "allowed_companies": user.allowed_companies.all(),
        "show_exchange_button": exchange_button_enabled(),
    }


@admin_required
def user_create(request: HttpRequest) -> HttpResponse:
    """A new user with an initial password; defaults are those of a new Prextra user."""
    form = UserCreateForm(request.POST if request.method == "POST" else None, editor=request.user)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        messages.success(request, _("L'utilisateur %(code)s a été créé.") % {"code": user.code})
        return redirect("user_detail", pk=user.pk)
    status = 400 if form.is_bound else 200
    return render(request, "accounts/user_form.html", {"form": form, "record": None}, status=status)


@admin_required
def user_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Modifier: every field of the record; on an error the page comes back with what was typed."""
    user = get_object_or_404(User, pk=pk)
    form = UserForm(request.POST if request.method == "POST" else None, instance=user, editor=request.user)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("L'utilisateur %(code)s a été enregistré.") % {"code": user.code})
        return redirect("user_detail", pk=user.pk)
    status = 400 if form.is_bound else 200
    return render(request, "accounts/user_form.html", {"form": form, "record": user}, status=status)


@admin_required
def user_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """Détruire, after a confirmation. A user who owns activities cannot be deleted (the CRM keeps
    its history): the page says so and offers to deactivate instead. Nobody deletes themselves."""
    user = get_object_or_404(User, pk=pk)
    if user.pk == request.user.pk:
        messages.error(request, _("Vous ne pouvez pas détruire votre propre compte."))
        return redirect("user_detail", pk=user.pk)
    if request.method == "POST":
        try:
            with transaction.atomic():
                user.delete()
        except (ProtectedError, RestrictedError):
            messages.error(request, _("Cet utilisateur ne peut pas être détruit : il est encore utilisé."))
            return redirect("user_delete", pk=pk)
        messages.success(request, _("L'utilisateur %(code)s a été détruit.") % {"code": user.code})
        return redirect("user_list")
    context = {"record": user, "activity_count": user.activities.count()}
    return render(request, "accounts/user_confirm_delete.html", context)


@require_POST
@admin_required
def user_deactivate(request: HttpRequest, pk: int) -> HttpResponse:
    """Deactivate instead of deleting: the user can no longer sign in and is no longer synchronized."""
    user = get_object_or_404(User, pk=pk)
    if user.pk == request.user.pk:
        messages.error(request, _("Vous ne pouvez pas désactiver votre propre compte."))
    elif user.is_active:
        user.is_active = False
        user.save(update_fields=["is_active"])
        messages.success(request, _("L'utilisateur %(code)s a été désactivé.") % {"code": user.code})
    return redirect("user_detail", pk=user.pk)


# --- Configuration (R3) -----------------------------------------------------------------------


@vary_on_headers("HX-Request")
@admin_required
def settings_list(request: HttpRequest) -> HttpResponse:
    """Administration › Configuration: every key, its value and its description."""
    table = configure_table(request, SettingTable(Setting.objects.all()))
    return render_list(request, "accounts/settings_list.html", {"table": table})


@admin_required
def setting_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """Change one value (for example add btnexchange); it takes effect on the next page shown."""
    setting = get_object_or_404(Setting, pk=pk)
    form = SettingForm(request.POST if request.method == "POST" else None, instance=setting)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("La configuration %(key)s a été enregistrée.") % {"key": setting.key})
        return redirect("settings_list")
    status = 400 if form.is_bound else 200
    return render(request, "accounts/setting_form.html", {"form": form, "setting": setting}, status=status)
