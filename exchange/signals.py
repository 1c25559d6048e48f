"""Re-link synchronized contacts when a company email domain is added, changed or removed (R8)."""

from __future__ import annotations

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from crm.models import EmailDomain


@receiver(post_save, sender=EmailDomain, dispatch_uid="exchange_relink_on_domain_save")
@receiver(post_delete, sender=EmailDomain, dispatch_uid="exchange_relink_on_domain_delete")
def relink_after_domain_change(sender, instance: EmailDomain, **kwargs) -> None:
    # A signal catches every write path (screens, admin, shell); the work runs after commit.
    from .sync.contacts import relink_domain

    domain = instance.domain
    transaction.on_commit(lambda: relink_domain(domain))
