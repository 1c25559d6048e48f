"""Django admin for sync state, contact folders, runs, the item journal and worker heartbeats."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .models import ContactFolder, JournalEntry, SyncRun, SyncState, WorkerHeartbeat
from .reasons import describe


@admin.register(SyncState)
class SyncStateAdmin(admin.ModelAdmin):
    list_display = ["user", "direction", "last_success_at", "last_attempt_at", "failed_attempts"]
    list_filter = ["direction", "pending_confirmation"]
    search_fields = ["user__code", "user__name", "user__email"]
    list_select_related = ["user"]


@admin.register(SyncRun)
class SyncRunAdmin(admin.ModelAdmin):
    list_display = ["user", "direction", "trigger", "started_at", "finished_at", "result", "created", "updated"]
    list_filter = ["direction", "result", "trigger"]
    search_fields = ["user__code", "user__name", "failure"]
    date_hierarchy = "started_at"
    list_select_related = ["user"]


@admin.register(JournalEntry)
class JournalEntryAdmin(admin.ModelAdmin):
    list_display = ["at", "user", "direction", "action", "item_label", "email", "reason"]
    list_filter = ["direction", "action"]
    search_fields = ["item_label", "email", "outlook_id", "user__code"]
    date_hierarchy = "at"
    list_select_related = ["user"]
    raw_id_fields = ["run", "contact", "activity"]

    @admin.display(description=_("raison"))
    def reason(self, entry: JournalEntry) -> str:
        return describe(entry.reasons)


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(admin.ModelAdmin):
    list_display = ["name", "last_seen", "count"]


@admin.register(ContactFolder)
class ContactFolderAdmin(admin.ModelAdmin):
    list_display = ["user", "display_name", "is_default"]
    search_fields = ["user__code", "user__name", "display_name"]
    list_select_related = ["user"]
