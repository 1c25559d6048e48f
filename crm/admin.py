"""Django admin for the CRM data."""

from __future__ import annotations

from django.contrib import admin

from .models import (
    Activity,
    Contact,
    ContactGroup,
    ContactNote,
    Customer,
    EmailDomain,
    OutlookContact,
    Prospect,
    Supplier,
)


class EmailDomainInline(admin.TabularInline):
    model = EmailDomain
    extra = 1
    fields = ["domain"]


class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "city", "province", "sales_rep", "is_active"]
    list_filter = ["is_active", "province", "country"]
    search_fields = ["code", "name", "city", "domains__domain"]
    list_select_related = ["sales_rep"]
    autocomplete_fields = ["sales_rep"]
    inlines = [EmailDomainInline]


admin.site.register(Customer, OrganizationAdmin)
admin.site.register(Prospect, OrganizationAdmin)
admin.site.register(Supplier, OrganizationAdmin)


@admin.register(EmailDomain)
class EmailDomainAdmin(admin.ModelAdmin):
    list_display = ["domain", "customer", "prospect", "supplier"]
    search_fields = ["domain"]
    list_select_related = ["customer", "prospect", "supplier"]
    autocomplete_fields = ["customer", "prospect", "supplier"]


@admin.register(ContactGroup)
class ContactGroupAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["code", "name"]


class ContactNoteInline(admin.TabularInline):
    model = ContactNote
    extra = 0
    autocomplete_fields = ["author"]


class OutlookContactInline(admin.TabularInline):
    """The mailboxes whose Outlook holds the contact: the sync's links, read-only."""

    model = OutlookContact
    extra = 0
    can_delete = False
    fields = readonly_fields = ["mailbox", "outlook_id", "folder_id", "modified_at", "linked_at"]


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ["last_name", "first_name", "email", "phone", "city", "owner", "source", "is_active", "needs_review"]
    list_filter = ["is_active", "source", "needs_review", "province", "group"]
    search_fields = ["first_name", "last_name", "email", "phone", "city"]
    list_select_related = ["customer", "prospect", "supplier", "group"]
    autocomplete_fields = ["customer", "prospect", "supplier", "group", "representative"]
    readonly_fields = ["outlook_modified_at", "created_at", "updated_at"]
    inlines = [OutlookContactInline, ContactNoteInline]


@admin.register(Activity)
class ActivityAdmin(admin.ModelAdmin):
    list_display = ["subject", "owner", "start", "end", "all_day", "contact", "is_private", "source", "is_deleted"]
    list_filter = ["source", "is_private", "all_day", "is_deleted", "owner"]
    search_fields = ["subject", "location", "contact__last_name", "contact__email", "owner__code"]
    date_hierarchy = "start"
    list_select_related = ["owner", "contact"]
    autocomplete_fields = ["owner", "contact"]
    readonly_fields = ["outlook_id", "outlook_change_key", "sync_hash", "created_at", "updated_at"]
