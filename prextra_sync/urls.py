"""URL configuration: the product's screens, the sign-in pages and the Django admin."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path

from accounts.forms import ThrottledAdminAuthenticationForm
from accounts.views import SignInView, set_language, sign_in_code
from exchange.urls import notification_patterns

admin.site.site_header = "Prextra"
admin.site.site_title = "Prextra"
admin.site.login_form = ThrottledAdminAuthenticationForm

urlpatterns = [
    path("connexion/", SignInView.as_view(), name="login"),
    path("connexion/code/", sign_in_code, name="login_code"),
    path("deconnexion/", auth_views.LogoutView.as_view(), name="logout"),
    path("langue/", login_not_required(set_language), name="set_language"),
    path("admin/", admin.site.urls),
    path("exchange/", include(notification_patterns)),
    path("administration/", include("exchange.urls")),
    path("administration/", include("accounts.urls")),
    path("", include("crm.urls")),
]
