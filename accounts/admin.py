"""Django admin for users, companies, Exchange profiles and configuration."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from .models import Company, ExchangeProfile, Setting, User


class ExchangeProfileInline(admin.StackedInline):
    model = ExchangeProfile
    can_delete = False
    verbose_name_plural = _("Exchange")


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
        (None, {"fields": ["code", "password", "name", "email", "is_active", "is_staff"]}),
        (
            _("Options"),
            {
                "fields": [
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
                ]
            },
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


@admin.register(Setting)
class SettingAdmin(admin.ModelAdmin):
    list_display = ["key", "value", "updated_at"]
    search_fields = ["key", "value", "description"]
