"""Which customer, prospect, supplier or group a synchronized contact belongs to (R8, R9).

The email domain is matched, case-insensitive and exactly, against the domains of customers,
then prospects, then suppliers. Free-mail and ISP domains (the editable configuration value
`ExchangeFreeMailDomains`) never link to a company. A domain found on several active records of
the same kind is not guessed: the contact goes to the Exchange group, flagged for review.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from accounts.models import FREE_MAIL_SETTING, Setting
from crm.models import EXCHANGE_GROUP_CODE, ContactGroup, EmailDomain

from .reasons import reason

KINDS = ("customer", "prospect", "supplier")  # R8's order
DEFAULT_FREE_MAIL_DOMAINS = (
    "gmail.com, googlemail.com, hotmail.com, hotmail.ca, outlook.com, live.com, live.ca, msn.com, "
    "yahoo.com, yahoo.ca, ymail.com, icloud.com, me.com, mac.com, aol.com, protonmail.com, proton.me, "
    "gmx.com, mail.com, videotron.ca, videotron.qc.ca, bell.net, sympatico.ca, cgocable.ca, cogeco.ca, "
    "globetrotter.net, telus.net, rogers.com, shaw.ca, eastlink.ca, derytele.com, b2b2c.ca, qc.aira.com, "
    "oricom.ca, xplornet.com, ebox.ca, distributel.ca, fido.ca"
)


@dataclass(frozen=True)
class Link:
    """Where a contact goes: exactly one owner field set, and why (a reason of exchange/reasons.py)."""

    owner_field: str  # customer, prospect, supplier or group
    owner_id: int
    reason: dict
    needs_review: bool = False

    def owner_values(self) -> dict:
        values = dict.fromkeys((*KINDS, "group"))
        values[f"{self.owner_field}"] = self.owner_id
        return {f"{name}_id": value for name, value in values.items()}


class DomainIndex:
    """Every company domain in memory: one query per sync run, whatever the number of contacts.

    `DomainIndex.load()` reads the database; the constructor takes what it read (domain → kind →
    active owners as (id, name)), so the rule itself runs on plain data."""

    def __init__(
        self, by_domain: dict[str, dict[str, list[tuple[int, str]]]], free_mail: frozenset[str], exchange_group_id: int
    ) -> None:
        self.by_domain = by_domain
        self.free_mail = free_mail
        self.exchange_group_id = exchange_group_id

    @classmethod
    def load(cls) -> DomainIndex:
        by_domain: dict[str, dict[str, list[tuple[int, str]]]] = defaultdict(lambda: defaultdict(list))
        rows = EmailDomain.objects.select_related("customer", "prospect", "supplier").only(
            "domain", "customer__name", "customer__is_active", "prospect__name", "prospect__is_active",
            "supplier__name", "supplier__is_active",
        )  # fmt: skip
        for row in rows:
            for kind in KINDS:
                owner = getattr(row, kind)
                if owner is not None and owner.is_active:
                    by_domain[row.domain][kind].append((owner.pk, owner.name))
        return cls(by_domain, free_mail_domains(), exchange_group().pk)

    def link_for(self, domain: str) -> Link:
        """R8 then R9 for one email domain."""
        domain = domain.lower()
        if domain in self.free_mail:
            return Link("group", self.exchange_group_id, reason("free_mail", domain=domain))
        kinds = self.by_domain.get(domain, {})
        for kind in KINDS:
            matches = kinds.get(kind, [])
            if len(matches) == 1:
                owner_id, name = matches[0]
                return Link(kind, owner_id, reason("linked_by_domain", domain=domain, kind=kind, name=name))
            if len(matches) > 1:
                names = ", ".join(sorted(name for _pk, name in matches))[:180]
                why = reason("ambiguous_domain", domain=domain, kind=kind, names=names)
                return Link("group", self.exchange_group_id, why, needs_review=True)
        return Link("group", self.exchange_group_id, reason("unknown_domain", domain=domain))


def free_mail_domains() -> frozenset[str]:
    """The editable list; the shipped defaults if the configuration entry was deleted."""
    row = Setting.objects.filter(key=FREE_MAIL_SETTING).only("value").first()
    if row is None:
        row = Setting(value=DEFAULT_FREE_MAIL_DOMAINS)
    return frozenset(row.values())


def exchange_group() -> ContactGroup:
    """The group "EXC – Exchange" (R9), recreated if someone deleted it."""
    group, _created = ContactGroup.objects.get_or_create(code=EXCHANGE_GROUP_CODE, defaults={"name": "Exchange"})
    return group
