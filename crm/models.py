"""CRM data: companies with their email domains, contact groups, contacts, notes, activities.

Constraints in the database protect what the sync writes: a contact has exactly one owner
(customer, prospect, supplier or group), an Outlook item maps to one Prextra record per mailbox,
and an activity never ends before it starts.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

EXCHANGE_GROUP_CODE = "EXC"


def kind_label(kind: str) -> str:
    """« client », « prospect » or « fournisseur » for customer, prospect or supplier."""
    return {"customer": _("client"), "prospect": _("prospect"), "supplier": _("fournisseur")}[kind]


# Why a contact is to be linked by hand (Contact.review): a code and its parameters.
REVIEW_MESSAGES = {
    "ambiguous_domain": _("À vérifier : le domaine %(domain)s est sur plusieurs fiches (%(kind)s : %(names)s)."),
    "text": "%(text)s",  # written by hand (the admin), or before reasons were codes
}


def review_sentence(review: dict) -> str:
    """A stored review reason as a sentence in the active language ('' for none)."""
    if not isinstance(review, dict) or not review.get("code"):
        return ""
    params = dict(review.get("params") or {})
    if params.get("kind") in ("customer", "prospect", "supplier"):
        params["kind"] = kind_label(params["kind"])
    try:
        return str(REVIEW_MESSAGES[review["code"]] % params)
    except (KeyError, TypeError, ValueError):
        return str(params.get("text", ""))


class Organization(models.Model):
    """Fields shared by customers, prospects and suppliers."""

    code = models.CharField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("nom"), max_length=150)
    sales_rep = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("représentant"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    phone = models.CharField(_("téléphone"), max_length=30, blank=True)
    city = models.CharField(_("ville"), max_length=100, blank=True)
    province = models.CharField(_("province"), max_length=50, blank=True)
    country = models.CharField(_("pays"), max_length=50, blank=True, default="Canada")
    is_active = models.BooleanField(_("actif"), default=True)

    class Meta:
        abstract = True
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Customer(Organization):
    class Meta(Organization.Meta):
        verbose_name = _("client")
        verbose_name_plural = _("clients")


class Prospect(Organization):
    class Meta(Organization.Meta):
        verbose_name = _("prospect")
        verbose_name_plural = _("prospects")


class Supplier(Organization):
    class Meta(Organization.Meta):
        verbose_name = _("fournisseur")
        verbose_name_plural = _("fournisseurs")


def _exactly_one(*fields: str) -> Q:
    """A Q true when exactly one of the nullable foreign keys `fields` is set."""
    options = Q(pk__in=[])
    for chosen in fields:
        branch = Q(**{f"{chosen}__isnull": False})
        for other in fields:
            if other != chosen:
                branch &= Q(**{f"{other}__isnull": True})
        options |= branch
    return options


class EmailDomain(models.Model):
    """An email domain of one customer, prospect or supplier, used to link contacts (R8)."""

    domain = models.CharField(_("domaine"), max_length=253, help_text=_("Par exemple : finloc.com"))
    customer = models.ForeignKey(Customer, null=True, blank=True, on_delete=models.CASCADE, related_name="domains")
    prospect = models.ForeignKey(Prospect, null=True, blank=True, on_delete=models.CASCADE, related_name="domains")
    supplier = models.ForeignKey(Supplier, null=True, blank=True, on_delete=models.CASCADE, related_name="domains")

    class Meta:
        ordering = ["domain"]
        verbose_name = _("domaine de courriel")
        verbose_name_plural = _("domaines de courriel")
        indexes = [models.Index(fields=["domain"], name="emaildomain_domain_idx")]
        constraints = [
            models.CheckConstraint(
                condition=_exactly_one("customer", "prospect", "supplier"), name="emaildomain_exactly_one_owner"
            ),
            models.CheckConstraint(condition=Q(domain=Lower("domain")), name="emaildomain_lowercase"),
        ]

    def __str__(self) -> str:
        return self.domain

    def save(self, *args, **kwargs) -> None:
        self.domain = self.domain.strip().lower().lstrip("@")
        super().save(*args, **kwargs)

    @property
    def owner(self) -> Organization:
        return self.customer or self.prospect or self.supplier


# The descriptions the product ships, by group code: stored empty and shown in the reader's language
# (one typed by an administrator is shown as typed).
SHIPPED_GROUP_DESCRIPTIONS = {
    EXCHANGE_GROUP_CODE: _(
        "Contacts synchronisés d'Outlook qui ne correspondent à aucun client, prospect ou fournisseur."
    )
}


class ContactGroup(models.Model):
    """A contact group (R10); "EXC – Exchange" receives synchronized contacts that match nothing (R9)."""

    code = models.CharField(_("code"), max_length=10, unique=True)
    name = models.CharField(_("nom"), max_length=100)
    description = models.TextField(_("description"), blank=True)
    is_active = models.BooleanField(_("actif"), default=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("groupe de contacts")
        verbose_name_plural = _("groupes de contacts")

    def __str__(self) -> str:
        return self.name

    @property
    def shown_description(self) -> str:
        return self.description or str(SHIPPED_GROUP_DESCRIPTIONS.get(self.code, ""))


class Contact(models.Model):
    """A person of the CRM, owned by exactly one customer, prospect, supplier or group."""

    class Source(models.TextChoices):
        MANUAL = "manual", _("Prextra")
        EXCHANGE = "exchange", _("Exchange")

    first_name = models.CharField(_("prénom"), max_length=100)
    last_name = models.CharField(_("nom"), max_length=100)
    # The contact's number in the ERP, set by the ERP import (crm/erp/): what a second import of
    # the same file finds it by. Empty for contacts made in Prextra or brought by the sync.
    erp_code = models.CharField(_("code ERP"), max_length=20, null=True, blank=True, unique=True)
    title = models.CharField(_("titre"), max_length=150, blank=True)
    email = models.EmailField(_("courriel"), max_length=254, blank=True)
    phone = models.CharField(_("téléphone"), max_length=30, blank=True)
    extension = models.CharField(_("poste"), max_length=10, blank=True)
    mobile = models.CharField(_("cellulaire"), max_length=30, blank=True)
    city = models.CharField(_("ville"), max_length=100, blank=True)
    province = models.CharField(_("province"), max_length=50, blank=True)
    country = models.CharField(_("pays"), max_length=50, blank=True)
    is_active = models.BooleanField(_("actif"), default=True)
    customer = models.ForeignKey(
        Customer,
        verbose_name=_("client"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="contacts",
        db_index=False,  # contact_customer_name_idx starts with it
    )
    prospect = models.ForeignKey(
        Prospect,
        verbose_name=_("prospect"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="contacts",
        db_index=False,  # contact_prospect_name_idx starts with it
    )
    supplier = models.ForeignKey(
        Supplier,
        verbose_name=_("fournisseur"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="contacts",
        db_index=False,  # contact_supplier_name_idx starts with it
    )
    group = models.ForeignKey(
        ContactGroup,
        verbose_name=_("groupe de contacts"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="contacts",
    )
    representative = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("représentant"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="represented_contacts",
    )
    source = models.CharField(_("source"), max_length=10, choices=Source, default=Source.MANUAL)
    needs_review = models.BooleanField(
        _("à vérifier"),
        default=False,
        help_text=_("Domaine de courriel trouvé sur plusieurs fiches : à associer à la main."),
    )
    # Why: a code of REVIEW_MESSAGES with its parameters, rendered in the reader's language.
    review = models.JSONField(_("raison de la vérification"), default=dict, blank=True)
    owner_locked = models.BooleanField(
        _("associé à la main"),
        default=False,
        help_text=_("La synchronisation ne change plus le client, prospect, fournisseur ou groupe de ce contact."),
    )
    # When the Outlook version its synchronized fields come from was last modified in Outlook: of
    # the mailboxes that hold the contact (its OutlookContact links), the latest change wins.
    outlook_modified_at = models.DateTimeField(_("modifié dans Outlook le"), null=True, blank=True)
    created_at = models.DateTimeField(_("créé le"), default=timezone.now)
    updated_at = models.DateTimeField(_("modifié le"), auto_now=True)

    class Meta:
        ordering = ["last_name", "first_name"]
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        constraints = [
            models.CheckConstraint(
                condition=_exactly_one("customer", "prospect", "supplier", "group"), name="contact_exactly_one_owner"
            ),
            # One person, one contact: one active contact per email address, whatever the case and
            # the number of mailboxes that hold it (each mailbox's item is an OutlookContact link).
            models.UniqueConstraint(
                Lower("email"), condition=Q(is_active=True) & ~Q(email=""), name="contact_one_active_per_address"
            ),
        ]
        indexes = [
            models.Index(Lower("last_name"), Lower("first_name"), name="contact_name_idx"),
            # The lists' order ("Anshul Bhargava" before "Bianca Lecours"), read in index order.
            models.Index(Lower("first_name"), Lower("last_name"), "id", name="contact_person_order_idx"),
            models.Index(Lower("email"), name="contact_email_idx"),
            models.Index(Lower("city"), name="contact_city_idx"),
            models.Index(fields=["phone"], name="contact_phone_idx"),
            models.Index(fields=["province", "country"], name="contact_region_idx"),
            models.Index(fields=["is_active", "last_name"], name="contact_active_name_idx"),
            # A record page's contacts in the contacts' order, read in index order however many
            # the record has (the foreign key's own index, which this one replaces, would sort them).
            models.Index(fields=["customer", "last_name", "first_name"], name="contact_customer_name_idx"),
            models.Index(fields=["prospect", "last_name", "first_name"], name="contact_prospect_name_idx"),
            models.Index(fields=["supplier", "last_name", "first_name"], name="contact_supplier_name_idx"),
        ]

    # The fields the sync writes from Outlook (exchange/mapping.py uses this list): on a
    # synchronized contact, Outlook is their source and the contact form shows them read-only.
    OUTLOOK_FIELDS = ("first_name", "last_name", "email", "title", "phone", "mobile", "city", "province", "country")

    def __str__(self) -> str:
        return self.full_name

    @property
    def review_reason(self) -> str:
        """Why the contact is to be linked by hand, in the reader's language ('' when it is not)."""
        return review_sentence(self.review)

    @property
    def is_synchronized(self) -> bool:
        """Whether Outlook holds the contact (its Outlook fields are changed there only)."""
        return self.source == self.Source.EXCHANGE or (self.pk is not None and self.outlook_items.exists())

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def owner(self) -> Customer | Prospect | Supplier | ContactGroup | None:
        return self.customer or self.prospect or self.supplier or self.group

    @property
    def owner_type(self) -> str:
        """The type shown in contact search (R11): Customers, Prospects, Suppliers, Contact groups."""
        if self.customer_id:
            return str(_("Clients"))
        if self.prospect_id:
            return str(_("Prospects"))
        if self.supplier_id:
            return str(_("Fournisseurs"))
        return str(_("Groupes de contacts"))


class OutlookContact(models.Model):
    """One mailbox's Outlook item of a contact: the link the sync keeps for it (mailbox, immutable
    id, change key, folder, fingerprint), never a contact of its own. Three sales representatives
    holding the same person give one Contact and three links; the contact becomes inactive only
    when the last link goes (and it was not entered in Prextra)."""

    contact = models.ForeignKey(
        Contact, verbose_name=_("contact"), on_delete=models.CASCADE, related_name="outlook_items"
    )
    mailbox = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("boîte Outlook"), on_delete=models.CASCADE, related_name="+"
    )
    outlook_id = models.CharField(_("identifiant Outlook"), max_length=512)
    change_key = models.CharField(_("clé de modification Outlook"), max_length=255, blank=True)
    folder_id = models.CharField(_("dossier Outlook"), max_length=512, blank=True)
    sync_hash = models.CharField(_("empreinte de synchronisation"), max_length=64, blank=True)
    modified_at = models.DateTimeField(_("modifié dans Outlook le"), null=True, blank=True)
    linked_at = models.DateTimeField(_("associé le"), default=timezone.now)

    class Meta:
        ordering = ["linked_at", "pk"]
        verbose_name = _("élément Outlook d'un contact")
        verbose_name_plural = _("éléments Outlook des contacts")
        constraints = [
            models.UniqueConstraint(fields=["mailbox", "outlook_id"], name="outlookcontact_unique_item_per_mailbox")
        ]

    def __str__(self) -> str:
        return f"{self.mailbox_id}:{self.outlook_id}"


class ContactNote(models.Model):
    """A dated note on a contact, by its author."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("auteur"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    date = models.DateTimeField(_("date"), default=timezone.now)
    text = models.TextField(_("texte"))

    class Meta:
        ordering = ["-date"]
        verbose_name = _("note de contact")
        verbose_name_plural = _("notes de contact")

    def __str__(self) -> str:
        return f"{self.contact} – {self.date:%Y-%m-%d}"


# ---------------------------------------------------------------- privacy
# Another user's private activity is only « Occupé » to a viewer: its owner and times, never its
# subject, location, notes or contact. Administrators included: they manage users, they do not
# read their colleagues' private agenda. The rule has one SQL form, `readable_q` (filters, counts,
# the imported list's sorting), and one Python form, `hidden_from` (the cards of the calendars,
# the dialog and the contact page, the imported list's cells); tests/crm/test_privacy.py checks
# that they agree.

PUBLIC = Q(is_private=False)


def readable_q(viewer, prefix: str = "") -> Q:
    """The activities whose details `viewer` may read: public ones and their own. `prefix` applies
    it through a relation ("activity__": the journal entries of such activities)."""
    return Q(**{f"{prefix}is_private": False}) | Q(**{f"{prefix}owner": viewer.pk})


def hidden_from(viewer, *, is_private: bool, owner_id: int) -> bool:
    """Whether `viewer` may see only « Occupé » of an activity: the Python twin of ~readable_q.

    Takes the two fields rather than an Activity so the calendars' value rows use it too.
    """
    return bool(is_private) and owner_id != viewer.pk


class ActivityQuerySet(models.QuerySet):
    def alive(self) -> ActivityQuerySet:
        """Activities not deleted (a deletion is recoverable: the row stays, flagged)."""
        return self.filter(is_deleted=False)

    def readable_by(self, viewer) -> ActivityQuerySet:
        """The activities whose details `viewer` may read (public or their own): where a screen
        leaves another user's private activity out rather than showing it « Occupé »."""
        return self.filter(readable_q(viewer))

    def overlapping(self, start, end) -> ActivityQuerySet:
        """Activities that intersect [start, end)."""
        return self.filter(start__lt=end, end__gt=start)


class Activity(models.Model):
    """A CRM calendar activity of one user, with at most one contact (R16).

    Times are stored in UTC. An all-day activity runs from local midnight of its first day to
    local midnight after its last day (America/Toronto), so multi-day spans are plain ranges (R14).
    """

    class Source(models.TextChoices):
        PREXTRA = "prextra", _("Prextra")
        OUTLOOK = "outlook", _("Outlook")

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("utilisateur"), on_delete=models.PROTECT, related_name="activities"
    )
    contact = models.ForeignKey(
        Contact, verbose_name=_("contact"), null=True, blank=True, on_delete=models.SET_NULL, related_name="activities"
    )
    # Empty for an Outlook event without subject (Outlook allows it): `title` shows the placeholder,
    # so no translated text is stored and nothing but the real subject goes back to Outlook.
    subject = models.CharField(_("sujet"), max_length=255)
    location = models.CharField(_("emplacement"), max_length=255, blank=True)
    start = models.DateTimeField(_("début"))
    end = models.DateTimeField(_("fin"))
    all_day = models.BooleanField(_("toute la journée"), default=False)
    notes = models.TextField(_("notes"), blank=True)
    is_private = models.BooleanField(_("privée"), default=False)
    source = models.CharField(_("source"), max_length=10, choices=Source, default=Source.PREXTRA)
    outlook_id = models.CharField(_("identifiant Outlook"), max_length=512, null=True, blank=True)
    outlook_change_key = models.CharField(_("clé de modification Outlook"), max_length=255, blank=True)
    outlook_is_meeting = models.BooleanField(
        _("réunion Outlook"),
        default=False,
        help_text=_(
            "L'événement Outlook a des participants ou un autre organisateur : ses changements se font dans Outlook."
        ),
    )
    # Who organized the Outlook meeting when it is not the mailbox (name or address): a meeting
    # received from someone else, which Prextra never changes (only the organizer's changes
    # reach the attendees: docs/graph-notes.md §4.2).
    outlook_organizer = models.CharField(
        _("organisateur Outlook"),
        max_length=255,
        blank=True,
        help_text=_("Réunion reçue d'un autre organisateur : lecture seule dans Prextra."),
    )
    # The synchronized fields as both sides last agreed on them (three-way merge base) and their hash.
    sync_agreed = models.JSONField(_("état convenu"), default=dict, blank=True)
    sync_hash = models.CharField(_("empreinte de synchronisation"), max_length=64, blank=True)
    needs_push = models.BooleanField(_("à envoyer à Outlook"), default=True, db_index=True)
    sync_excluded = models.BooleanField(
        _("exclue de la synchronisation"),
        default=False,
        help_text=_("Par exemple un événement devenu récurrent dans Outlook (R13)."),
    )
    is_deleted = models.BooleanField(_("supprimée"), default=False)
    deleted_at = models.DateTimeField(_("supprimée le"), null=True, blank=True)
    created_at = models.DateTimeField(_("créée le"), default=timezone.now)
    updated_at = models.DateTimeField(_("modifiée le"), auto_now=True)

    objects = ActivityQuerySet.as_manager()

    class Meta:
        ordering = ["start", "pk"]
        verbose_name = _("activité")
        verbose_name_plural = _("activités")
        constraints = [
            models.CheckConstraint(condition=Q(end__gte=models.F("start")), name="activity_end_after_start"),
            models.UniqueConstraint(
                fields=["owner", "outlook_id"],
                condition=Q(outlook_id__isnull=False),
                name="activity_unique_outlook_item_per_mailbox",
            ),
        ]
        indexes = [
            models.Index(fields=["owner", "start"], name="activity_owner_start_idx"),
            models.Index(fields=["start", "end"], name="activity_range_idx"),
            models.Index(fields=["source", "start"], name="activity_source_start_idx"),
        ]

    def __str__(self) -> str:
        return str(self.title)

    SYNCED_FIELDS = ("subject", "location", "start", "end", "all_day", "is_private")

    def save(self, *args, **kwargs) -> None:
        # Every write path (screens, admin, shell) marks a change Outlook has not seen yet:
        # the push direction sends what differs from the last agreed state.
        update_fields = kwargs.get("update_fields")
        watched = {*self.SYNCED_FIELDS, "is_deleted", "outlook_id", "sync_hash"}
        if update_fields is None or watched & set(update_fields):
            self.needs_push = self.compute_needs_push()
            if update_fields is not None:
                kwargs["update_fields"] = {*update_fields, "needs_push"}
        super().save(*args, **kwargs)

    @property
    def title(self) -> str:
        """The subject as shown: « (sans objet) » in the reader's language when there is none."""
        return self.subject or NO_SUBJECT

    def is_hidden_from(self, viewer) -> bool:
        """Whether `viewer` may see only « Occupé » of this activity (see `hidden_from`)."""
        return hidden_from(viewer, is_private=self.is_private, owner_id=self.owner_id)

    @property
    def read_only_reason(self) -> str:
        """Why Prextra must not change this activity ('' when it may): a meeting organized by
        someone else belongs to its organizer; it is changed in Outlook only."""
        return received_meeting_reason(self.outlook_organizer)

    def sync_values(self) -> dict:
        """The fields synchronized with Outlook (R12), as JSON-ready values (times in UTC)."""
        return activity_sync_values(self.subject, self.location, self.start, self.end, self.all_day, self.is_private)

    def sync_fingerprint(self) -> str:
        return sync_fingerprint(self.sync_values())

    def compute_needs_push(self) -> bool:
        if self.sync_excluded:
            return False
        if self.is_deleted:
            return bool(self.outlook_id)
        return not self.outlook_id or self.sync_fingerprint() != self.sync_hash


NO_SUBJECT = _("(sans objet)")
RECEIVED_MEETING = _("Réunion organisée par %(organizer)s : à modifier dans Outlook")


def received_meeting_reason(organizer: str) -> str:
    """The words every screen and the journal (its reason "received_meeting") use for a meeting
    received from `organizer`."""
    if not organizer:
        return ""
    return str(RECEIVED_MEETING) % {"organizer": organizer}


def _utc_iso(moment) -> str:
    from datetime import UTC

    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if moment else ""


def activity_sync_values(subject, location, start, end, all_day, is_private) -> dict:
    """Synchronized values in one canonical shape, shared by Prextra and Outlook sides."""
    return {
        "subject": subject or "",
        "location": location or "",
        "start": _utc_iso(start),
        "end": _utc_iso(end),
        "all_day": bool(all_day),
        "is_private": bool(is_private),
    }


def sync_fingerprint(values: dict) -> str:
    import hashlib
    import json

    return hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()


# ---------------------------------------------------------------- ERP import
# An import of customers, prospects, suppliers or contacts from an ERP file (crm/erp/): first a
# preview (nothing written), then, once an administrator confirms, the import itself. Both keep
# their counts and the lines they created, updated or refused, with codes for the reasons (the
# screen renders them in the reader's language).


class ErpImport(models.Model):
    class Kind(models.TextChoices):
        CUSTOMER = "customer", _("Clients")
        PROSPECT = "prospect", _("Prospects")
        SUPPLIER = "supplier", _("Fournisseurs")
        CONTACT = "contact", _("Contacts")

    class Status(models.TextChoices):
        QUEUED = "queued", _("En attente")
        PREVIEWING = "previewing", _("Aperçu en cours")
        PREVIEWED = "previewed", _("Aperçu prêt")
        IMPORTING = "importing", _("Import en cours")
        DONE = "done", _("Terminé")
        FAILED = "failed", _("Échec")

    class Source(models.TextChoices):
        SCREEN = "screen", _("Écran")
        COMMAND = "command", _("Commande")

    kind = models.CharField(_("type"), max_length=10, choices=Kind)
    file_name = models.CharField(_("fichier"), max_length=255)
    # The uploaded file, kept between the preview and the import (the worker may run on another
    # host), then emptied once imported. Empty for the command, which reads its file where it is.
    file_data = models.BinaryField(_("contenu du fichier"), null=True, blank=True, editable=False)
    file_size = models.PositiveBigIntegerField(_("taille du fichier"), default=0)
    source = models.CharField(_("origine"), max_length=10, choices=Source, default=Source.SCREEN)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("par"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    status = models.CharField(_("état"), max_length=12, choices=Status, default=Status.QUEUED)
    # A problem with the whole file (unreadable, missing column): a code of crm/erp/reasons.py.
    error = models.CharField(_("erreur"), max_length=40, blank=True)
    error_params = models.JSONField(_("détails de l'erreur"), default=dict, blank=True)
    lines_total = models.PositiveIntegerField(_("lignes"), default=0)
    lines_done = models.PositiveIntegerField(_("lignes traitées"), default=0)
    # {"preview": {"created": n, "updated": n, "unchanged": n, "refused": n}, "import": {...}}
    counts = models.JSONField(_("totaux"), default=dict, blank=True)
    ignored_columns = models.JSONField(_("colonnes ignorées"), default=list, blank=True)
    created_at = models.DateTimeField(_("créé le"), default=timezone.now)
    updated_at = models.DateTimeField(_("modifié le"), auto_now=True)
    finished_at = models.DateTimeField(_("terminé le"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("import du progiciel")
        verbose_name_plural = _("imports du progiciel")

    def __str__(self) -> str:
        return self.file_name


class ErpImportLine(models.Model):
    """A line of an import file that the preview or the import created, updated or refused
    (unchanged lines are only counted, so a second import of the same file writes no line)."""

    class Phase(models.TextChoices):
        PREVIEW = "preview", _("Aperçu")
        IMPORT = "import", _("Import")

    class Action(models.TextChoices):
        CREATED = "created", _("Créé")
        UPDATED = "updated", _("Mis à jour")
        REFUSED = "refused", _("Refusé")

    run = models.ForeignKey(ErpImport, on_delete=models.CASCADE, related_name="lines")
    phase = models.CharField(_("étape"), max_length=10, choices=Phase)
    line = models.PositiveIntegerField(_("ligne"))
    action = models.CharField(_("résultat"), max_length=10, choices=Action)
    code = models.CharField(_("code"), max_length=100, blank=True)
    label = models.CharField(_("nom"), max_length=255, blank=True)
    # Updated: the columns whose value changed. Refused: [{"field", "code", "params"}, ...].
    changes = models.JSONField(_("colonnes changées"), default=list, blank=True)
    reasons = models.JSONField(_("raisons"), default=list, blank=True)

    class Meta:
        ordering = ["line"]
        verbose_name = _("ligne d'import")
        verbose_name_plural = _("lignes d'import")
        indexes = [models.Index(fields=["run", "phase", "action", "line"], name="erpimportline_run_idx")]

    def __str__(self) -> str:
        return f"{self.run_id}:{self.line}"
