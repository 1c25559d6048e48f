"""One active contact per email address; the Outlook identity now lives on the links only."""

import django.db.models.deletion
import django.db.models.functions.text
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('crm', '0011_outlook_contact_links'),
        ('exchange', '0008_one_contact_per_address'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='contact',
            name='contact_unique_outlook_item_per_mailbox',
        ),
        migrations.RemoveField(
            model_name='contact',
            name='outlook_change_key',
        ),
        migrations.RemoveField(
            model_name='contact',
            name='outlook_folder_id',
        ),
        migrations.RemoveField(
            model_name='contact',
            name='outlook_id',
        ),
        migrations.RemoveField(
            model_name='contact',
            name='outlook_mailbox',
        ),
        migrations.RemoveField(
            model_name='contact',
            name='sync_hash',
        ),
        migrations.AddConstraint(
            model_name='contact',
            constraint=models.UniqueConstraint(django.db.models.functions.text.Lower('email'), condition=models.Q(('is_active', True), models.Q(('email', ''), _negated=True)), name='contact_one_active_per_address'),
        ),
    ]
