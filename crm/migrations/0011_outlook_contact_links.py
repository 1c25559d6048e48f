"""Each mailbox's Outlook item of a contact becomes a link (OutlookContact); the data moves in
exchange 0008, then crm 0012 drops the contact's own Outlook fields."""

import django.db.models.deletion
import django.db.models.functions.text
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('crm', '0010_contact_record_order_indexes'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='OutlookContact',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('outlook_id', models.CharField(max_length=512, verbose_name='identifiant Outlook')),
                ('change_key', models.CharField(blank=True, max_length=255, verbose_name='clé de modification Outlook')),
                ('folder_id', models.CharField(blank=True, max_length=512, verbose_name='dossier Outlook')),
                ('sync_hash', models.CharField(blank=True, max_length=64, verbose_name='empreinte de synchronisation')),
                ('modified_at', models.DateTimeField(blank=True, null=True, verbose_name='modifié dans Outlook le')),
                ('linked_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='associé le')),
            ],
            options={
                'verbose_name': "élément Outlook d'un contact",
                'verbose_name_plural': 'éléments Outlook des contacts',
                'ordering': ['linked_at', 'pk'],
            },
        ),
        migrations.AddField(
            model_name='contact',
            name='outlook_modified_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='modifié dans Outlook le'),
        ),
        migrations.AddField(
            model_name='outlookcontact',
            name='contact',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='outlook_items', to='crm.contact', verbose_name='contact'),
        ),
        migrations.AddField(
            model_name='outlookcontact',
            name='mailbox',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='boîte Outlook'),
        ),
        migrations.AddConstraint(
            model_name='outlookcontact',
            constraint=models.UniqueConstraint(fields=('mailbox', 'outlook_id'), name='outlookcontact_unique_item_per_mailbox'),
        ),
    ]
