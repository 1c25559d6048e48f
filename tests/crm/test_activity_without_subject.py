"""An Outlook event without subject: stored empty, shown « (sans objet) » in the reader's language
(French first: stored data never holds a translated sentence), sent back to Outlook empty."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from crm.models import Activity
from exchange.models import JournalEntry

pytestmark = pytest.mark.django_db


def _outlook_activity(owner, subject: str = "", **fields) -> Activity:
    start = timezone.now().replace(microsecond=0) + timedelta(days=1)
    return Activity.objects.create(
        owner=owner, subject=subject, start=start, end=start + timedelta(hours=1), source="outlook",
        outlook_id=f"AAMk-{subject or 'none'}-{fields.get('outlook_organizer', '')}", **fields,
    )  # fmt: skip


def test_the_screens_show_the_placeholder_in_the_readers_language(admin_client, admin_user):
    activity = _outlook_activity(admin_user)
    JournalEntry.objects.create(user=admin_user, direction="activities_in", action="created", activity=activity)
    day = f"{timezone.localtime(activity.start):%Y-%m-%d}"
    for url in (reverse("calendar_day") + f"?day={day}", reverse("imported_activities"), reverse("journal")):
        assert "(sans objet)" in admin_client.get(url, HTTP_ACCEPT_LANGUAGE="fr-CA").content.decode(), url
    with translation.override("en"):
        assert str(activity) == "(no subject)"
    assert Activity.objects.get(pk=activity.pk).subject == ""


@pytest.mark.django_db(transaction=True)
def test_the_migration_empties_stored_placeholders_and_sends_the_own_events_again(django_user_model):
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    before = [("crm", "0014_location_reads_emplacement")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    old = executor.loader.project_state(before).apps
    owner = old.get_model("accounts", "User").objects.create(code="MTREMBLAY", name="Marie Tremblay")
    OldActivity = old.get_model("crm", "Activity")
    start = timezone.now().replace(microsecond=0)
    common = {"owner": owner, "start": start, "end": start + timedelta(hours=1), "needs_push": False}
    OldActivity.objects.create(subject="(sans objet)", outlook_id="AAMk-own", **common)
    OldActivity.objects.create(subject="(no subject)", outlook_id="AAMk-en", **common)
    OldActivity.objects.create(subject="(sans objet)", outlook_id="AAMk-meeting", outlook_organizer="Luc", **common)
    OldActivity.objects.create(subject="(sans objet)", outlook_id=None, **common)  # typed in Prextra: kept
    OldActivity.objects.create(subject="Visite", outlook_id="AAMk-visit", **common)

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    rows = dict(Activity.objects.values_list("outlook_id", "subject"))
    assert rows == {"AAMk-own": "", "AAMk-en": "", "AAMk-meeting": "", None: "(sans objet)", "AAMk-visit": "Visite"}
    to_send = set(Activity.objects.filter(needs_push=True).values_list("outlook_id", flat=True))
    assert to_send == {"AAMk-own", "AAMk-en"}  # a meeting of another organizer is never written
