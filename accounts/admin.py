"""Django admin for users, companies, Exchange profiles and configuration."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from .forms import USER_FIELDS
from .models import Company, ExchangeProfile, Setting, User

MAIN_USER_FIELDS = ["name", "email", "is_active", "is_staff"]


class ExchangeProfileInline(admin.StackedInline):
    model = ExchangeProfile
    can_delete = False
    verbose_name_plural = _("Exchange")
    readonly_fields = ["mailbox_id", "mailbox_address"]  # resolved by the sync (exchange.sync.mailbox)


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ["code"]
    list_display = ["code", "name", "email", "is_active", "is_staff", "language", "expiry_date"]
    list_filter = ["is_active", "is_staff", "language", "never_expires", "default_company"]
    search_fields = ["code", "name", "email"]
    filter_horizontal = ["allowed_companies", "groups", "user_permissions"]
    autocomplete_fields = ["contact"]
    inlines = [ExchangeProfileInline]
    fieldsets = [
        (None, {"fields": ["code", "password", *MAIN_USER_FIELDS]}),
        (
            _("Options"),
            {"fields": [name for name in USER_FIELDS if name not in {"code", *MAIN_USER_FIELDS}]},
        ),
        (_("Permissions"), {"fields": ["is_superuser", "groups", "user_permissions"], "classes": ["collapse"]}),
        (_("Dates"), {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (None, {"classes": ["wide"], "fields": ["code", "name", "email", "password1", "password2"]}),
    ]


@admin.register(Company)
class CompanyAdmin(admin.ModelAdmin):
    list_display = ["code", "name"]
    search_fields = ["code", "name"]


@admin.register(ExchangeProfile)
class ExchangeProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "sync_contacts_in", "sync_activities_in", "sync_activities_out", "updated_at"]
    list_filter = ["sync_contacts_in", "sync_activities_in", "sync_activities_out"]
    search_fields = ["user__code", "user__name", "user__email"]
    list_select_related = ["user"]
    readonly_fields = ["mailbox_id", "mailbox_address"]


@admin.register(Setting)
class SettingAdmin(admin.ModelAdmin):
    list_display = ["key", "value", "updated_at"]
    search_fields = ["key", "value", "description"]
