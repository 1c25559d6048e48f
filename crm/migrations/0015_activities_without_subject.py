"""Outlook events without subject were stored with the placeholder « (sans objet) » (or
« (no subject) » when a worker ran in English): translated text in the data. Their subject becomes
empty again; the screens show the placeholder in the reader's language (Activity.title).

Those the sync may write (not meetings of another organizer) are marked to be sent: the push
sends the empty subject, which also clears a placeholder an earlier push wrote into Outlook.
"""

from django.db import migrations
from django.db.models import Q

PLACEHOLDERS = ["(sans objet)", "(no subject)"]


def empty_the_placeholders(apps, schema_editor):
    Activity = apps.get_model("crm", "Activity")
    stored = Activity.objects.filter(subject__in=PLACEHOLDERS, outlook_id__isnull=False)
    meetings = Q(outlook_is_meeting=True) | ~Q(outlook_organizer="")
    stored.filter(meetings).update(subject="")
    stored.exclude(meetings).update(subject="", needs_push=True)


class Migration(migrations.Migration):
    dependencies = [("crm", "0014_location_reads_emplacement")]

    operations = [migrations.RunPython(empty_the_placeholders, migrations.RunPython.noop)]
