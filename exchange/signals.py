"""How the exchange app reacts to CRM writes: re-link synchronized contacts when a company email
domain is added, changed or removed (R8); refuse a free-mail domain as a company's (R9); push an
activity a Prextra screen edited (R6); say when an activity outside the synchronized window will
be sent; drop a mailbox's contact links when its user's contacts
no longer synchronize (switch off, user deactivated)."""

from __future__ import annotations

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils.translation import gettext as _

from accounts.models import ExchangeProfile, User
from crm.models import EmailDomain, OutlookContact
from crm.signals import Unsent, activity_edited, domain_proposed, domains_imported, outlook_wait_asked

from .linking import free_mail_domains
from .reasons import reason
from .sync.activities import held_outside_window
from .sync.contacts import drop_mailbox, relink_domain, relink_domains
from .tasks import enqueue_activity_push, enqueue_subscription_work


@receiver(post_save, sender=EmailDomain, dispatch_uid="exchange_relink_on_domain_save")
@receiver(post_delete, sender=EmailDomain, dispatch_uid="exchange_relink_on_domain_delete")
def relink_after_domain_change(sender, instance: EmailDomain, **kwargs) -> None:
    # A signal catches every write path (screens, admin, shell); the work runs after commit.
    domain = instance.domain
    transaction.on_commit(lambda: relink_domain(domain))


@receiver(domains_imported, dispatch_uid="exchange_relink_imported_domains")
def relink_after_domains_imported(sender, domains: list[str], **kwargs) -> None:
    # The ERP import writes domains in bulk: one re-linking pass for all of them, after commit.
    transaction.on_commit(lambda: relink_domains(domains))


@receiver(activity_edited, dispatch_uid="exchange_push_edited_activity")
def push_edited_activity(sender, activity, **kwargs) -> None:
    # Only the screens send activity_edited, so the sync's own writes are never echoed to Outlook.
    enqueue_activity_push(activity)


@receiver(outlook_wait_asked, dispatch_uid="exchange_say_when_sent")
def say_when_sent(sender, activities: list[Unsent], **kwargs) -> dict:
    # The window and the switches are Exchange's: the CRM screens show what the push will do.
    return held_outside_window(activities)


@receiver(domain_proposed, dispatch_uid="exchange_refuse_free_mail_domain")
def refuse_free_mail_domains(sender, domains: list[str], **kwargs) -> dict[str, str]:
    # The free-mail list is the ExchangeFreeMailDomains setting (read once for all the domains):
    # such a domain never links a company.
    free = free_mail_domains()
    text = _("%(domain)s est un domaine de messagerie gratuit : il ne peut pas désigner une fiche.")
    return {domain: text % {"domain": domain} for domain in domains if domain in free}


@receiver(post_save, sender=ExchangeProfile, dispatch_uid="exchange_drop_links_switch_off")
def drop_links_when_contacts_switch_off(sender, instance: ExchangeProfile, **kwargs) -> None:
    # Outlook → Prextra contacts switched off: that mailbox no longer holds anyone for Prextra.
    if not instance.sync_contacts_in:
        _drop_after_commit(instance.user_id, reason("contacts_switched_off"))


@receiver(post_save, sender=User, dispatch_uid="exchange_drop_links_user_deactivated")
def drop_links_when_user_deactivated(sender, instance: User, **kwargs) -> None:
    if not instance.is_active:
        _drop_after_commit(instance.pk, reason("user_deactivated"))


@receiver(post_save, sender=ExchangeProfile, dispatch_uid="exchange_subscriptions_follow_switches")
def subscriptions_follow_switches(sender, instance: ExchangeProfile, **kwargs) -> None:
    # A reading switch turned on subscribes its mailbox; off (or the user deactivated, below)
    # deletes the subscription, soon after commit rather than at the next minute's pass.
    enqueue_subscription_work(instance.user_id)


@receiver(post_save, sender=User, dispatch_uid="exchange_subscriptions_follow_user")
def subscriptions_follow_user(sender, instance: User, created: bool, update_fields=None, **kwargs) -> None:
    # Deactivated, expired or a new email: its mailbox's subscriptions change. A sign-in's
    # last_login write changes none of that.
    if not created and not (update_fields and set(update_fields) <= {"last_login", "password"}):
        enqueue_subscription_work(instance.pk)


def _drop_after_commit(user_id: int, why: dict) -> None:
    """Drop the user's links once the switch or the deactivation is committed (nothing to do, and
    no query beyond this one, for a user whose mailbox holds no contact)."""
    if OutlookContact.objects.filter(mailbox_id=user_id).exists():
        transaction.on_commit(lambda: drop_mailbox(User.objects.get(pk=user_id), why))
