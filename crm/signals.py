"""What the CRM announces, so that the apps built on it react without the CRM importing them."""

from __future__ import annotations

from django.dispatch import Signal

from .models import Activity

# Sent (keyword `activity`) after a Prextra screen saved or deleted an activity; never by the
# synchronization, which writes activities itself, so what it brings from Outlook is not sent back
# (exchange/signals.py pushes the edit to Outlook after the commit, R6).
activity_edited = Signal()


def activity_changed(activity: Activity) -> None:
    """A Prextra screen saved or deleted `activity`: tell the receivers (every save calls this once)."""
    activity_edited.send(sender=Activity, activity=activity)


# Sent (keyword `domains`, a list of normalized domains) before a screen or the ERP import adds
# company email domains (R8). A receiver returns {domain: the reason it refuses it}, leaving out
# the ones it accepts: exchange/signals.py refuses free-mail domains (R9), whose list is a setting
# the CRM cannot read (crm/records.py proposal_refusals).
domain_proposed = Signal()


# Sent (keyword `domains`, a list) after the ERP import wrote company email domains in bulk,
# which sends no post_save per domain: exchange/signals.py re-links their contacts once (R8).
domains_imported = Signal()
