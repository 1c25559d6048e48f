"""What the CRM announces, so that the apps built on it react without the CRM importing them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

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


@dataclass(frozen=True)
class Unsent:
    """An activity Outlook does not hold yet, as `outlook_wait_asked` asks about it."""

    pk: int
    owner_id: int
    start: datetime
    end: datetime


def is_unsent(*, needs_push: bool, outlook_id: str | None, sync_excluded: bool) -> bool:
    """Whether a live activity waits for its first send to Outlook (never linked to an event)."""
    return bool(needs_push and not outlook_id and not sync_excluded)


# Sent (keyword `activities`, a list of Unsent) by the screens that show activities Outlook does
# not hold yet. A receiver returns {pk: the local day the activity will be sent to Outlook, or None
# when it never will be}, leaving out the ones sent at the next push and those of owners whose
# activities are not sent at all: exchange/signals.py answers from the synchronized window of the
# owner's mailbox: an activity accepted but never sent is never left unsaid. `outlook_waits` asks it.
outlook_wait_asked = Signal()


def outlook_waits(activities: list[Unsent]) -> dict[int, date | None]:
    """{pk: the day it will be sent, or None: never} for these activities the sync holds back."""
    if not activities:
        return {}
    waits: dict[int, date | None] = {}
    for _receiver, reply in outlook_wait_asked.send(sender=Activity, activities=activities):
        waits.update(reply or {})
    return waits
