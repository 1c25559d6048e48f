"""Sync state per user and direction, the run history, the per-item journal, worker heartbeats."""

from __future__ import annotations

from typing import NamedTuple

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from .reasons import describe


class Direction(models.TextChoices):
    CONTACTS_IN = "contacts_in", _("Contacts Exchange → Prextra")
    ACTIVITIES_IN = "activities_in", _("Activités Exchange → Prextra")
    ACTIVITIES_OUT = "activities_out", _("Activités Prextra → Exchange")


class Lane(NamedTuple):
    """What a direction is wired to: the ExchangeProfile switch that turns it on for a user (R4),
    and its group, the unit of work one task runs under one lock."""

    switch: str
    group: str


# The groups: "contacts_in", and "activities" (both activity directions of a user, pull then push
# under one lock, so a push never races a full pull round).
ACTIVITIES = "activities"
# The one table of directions: the refusal, the scheduler, the locks and the status screen read it.
LANES = {
    Direction.CONTACTS_IN: Lane("sync_contacts_in", Direction.CONTACTS_IN),
    Direction.ACTIVITIES_IN: Lane("sync_activities_in", ACTIVITIES),
    Direction.ACTIVITIES_OUT: Lane("sync_activities_out", ACTIVITIES),
}


def group_of(name: str) -> str | None:
    """The group a direction belongs to; a group's own name is its group; None for anything else."""
    if name in LANES:
        return LANES[name].group
    return name if any(lane.group == name for lane in LANES.values()) else None


class GraphConnection(models.Model):
    """The organization's Microsoft 365 connection (R1): an app registered in Microsoft Entra ID.

    There is one active connection. The client secret is stored encrypted (exchange.crypto) and is
    never shown again after saving. Authority and Graph URLs are Microsoft's by default; the demo
    points them at the bundled Graph emulator and trusts its certificate through `ca_file`.
    """

    class PrivateEvents(models.TextChoices):
        IMPORT_PRIVATE = "private", _("Importer comme privées")
        IMPORT_PUBLIC = "public", _("Importer comme publiques (comme Prextra l'a toujours fait)")
        SKIP = "skip", _("Ne pas importer")

    class ConflictWinner(models.TextChoices):
        OUTLOOK = "outlook", _("Outlook")
        PREXTRA = "prextra", _("Prextra")

    tenant_id = models.CharField(_("identifiant du locataire (tenant)"), max_length=100)
    client_id = models.CharField(_("identifiant de l'application (client)"), max_length=100)
    client_secret_encrypted = models.TextField(_("secret client chiffré"), blank=True, editable=False)
    authority_host = models.URLField(_("adresse d'authentification"), default="https://login.microsoftonline.com")
    graph_url = models.URLField(_("adresse de Microsoft Graph"), default="https://graph.microsoft.com/v1.0")
    ca_file = models.CharField(
        _("certificat d'autorité de confiance"),
        max_length=500,
        blank=True,
        help_text=_("Chemin d'un fichier PEM ; vide pour les certificats publics habituels (Microsoft)."),
    )
    private_events = models.CharField(
        _("événements privés ou confidentiels d'Outlook"),
        max_length=10,
        choices=PrivateEvents,
        default=PrivateEvents.IMPORT_PRIVATE,
    )
    conflict_winner = models.CharField(
        _("gagnant d'un conflit"), max_length=10, choices=ConflictWinner, default=ConflictWinner.OUTLOOK
    )
    window_days_back = models.PositiveSmallIntegerField(_("fenêtre du calendrier : jours passés"), default=90)
    window_days_ahead = models.PositiveSmallIntegerField(_("fenêtre du calendrier : jours à venir"), default=365)
    is_active = models.BooleanField(_("active"), default=True)
    updated_at = models.DateTimeField(_("modifiée le"), auto_now=True)
    last_test_at = models.DateTimeField(_("dernier test"), null=True, blank=True)
    last_test_ok = models.BooleanField(_("dernier test réussi"), null=True, blank=True)
    # What the last test found: a reason of exchange/reasons.py; `last_test_message` reads it.
    last_test_result = models.JSONField(_("résultat du dernier test"), default=dict, blank=True)

    class Meta:
        verbose_name = _("connexion Microsoft 365")
        verbose_name_plural = _("connexions Microsoft 365")

    def __str__(self) -> str:
        return f"{self.tenant_id} / {self.client_id}"

    @property
    def has_secret(self) -> bool:
        return bool(self.client_secret_encrypted)

    @property
    def last_test_message(self) -> str:
        """What the last connection test found, in the active language."""
        return describe_failure(self.last_test_result)

    def set_secret(self, secret: str) -> None:
        from .crypto import encrypt

        self.client_secret_encrypted = encrypt(secret)

    def get_secret(self) -> str:
        from .crypto import decrypt

        return decrypt(self.client_secret_encrypted) if self.client_secret_encrypted else ""

    @classmethod
    def current(cls) -> GraphConnection | None:
        """The active connection, or None when no administrator has registered one."""
        return cls.objects.filter(is_active=True).order_by("-updated_at").first()


def describe_failure(failure: dict | None) -> str:
    """A stored failure reason as a sentence in the active language ('' for none)."""
    return describe(failure) if failure else ""


class SyncState(models.Model):
    """One row per user and direction: the cursor, the stamps (R20), the backoff and the brake.

    Whether a sync is running is not stored: its lock says so (exchange.sync.locks)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sync_states")
    direction = models.CharField(_("direction"), max_length=20, choices=Direction)
    delta_link = models.TextField(_("lien delta"), blank=True)
    window_start = models.DateTimeField(_("début de la fenêtre"), null=True, blank=True)
    window_end = models.DateTimeField(_("fin de la fenêtre"), null=True, blank=True)
    last_success_at = models.DateTimeField(_("dernière synchronisation réussie"), null=True, blank=True)
    last_attempt_at = models.DateTimeField(_("dernière tentative"), null=True, blank=True)
    # Why the last attempt failed: a reason of exchange/reasons.py (code and parameters), {} when it
    # did not; `last_error` is its sentence in the reader's language.
    last_failure = models.JSONField(_("dernière erreur"), default=dict, blank=True)
    failed_attempts = models.PositiveIntegerField(_("échecs consécutifs"), default=0)
    not_before = models.DateTimeField(_("pas avant"), null=True, blank=True)
    reconciled_at = models.DateTimeField(
        _("dernière réconciliation"),
        null=True,
        blank=True,
        help_text=_("Dernier passage complet de la fenêtre du calendrier (rattrape une suppression non signalée)."),
    )
    pending_confirmation = models.BooleanField(
        _("confirmation requise"),
        default=False,
        help_text=_("Le frein des suppressions massives s'est déclenché : un administrateur doit confirmer."),
    )
    pending_deletions = models.JSONField(
        _("suppressions en attente"),
        default=list,
        blank=True,
        help_text=_("Identifiants Prextra retenus par le frein, appliqués quand un administrateur confirme."),
    )
    folders_listed_at = models.DateTimeField(_("dossiers de contacts relus le"), null=True, blank=True)

    class Meta:
        ordering = ["user", "direction"]
        verbose_name = _("état de synchronisation")
        verbose_name_plural = _("états de synchronisation")
        constraints = [
            models.UniqueConstraint(fields=["user", "direction"], name="syncstate_one_per_user_direction"),
        ]

    def __str__(self) -> str:
        return f"{self.user} – {self.get_direction_display()}"

    @property
    def last_error(self) -> str:
        """Why the last attempt failed, in the active language ('' when it did not)."""
        return describe_failure(self.last_failure)


class ContactFolder(models.Model):
    """One Outlook contact folder of a user's mailbox and its own delta link.

    Graph tracks contact changes per folder (https://learn.microsoft.com/graph/api/contact-delta),
    so each folder has its cursor; blank until its first round is committed (then a full round)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="contact_folders")
    folder_id = models.CharField(_("identifiant du dossier"), max_length=512)
    display_name = models.CharField(_("nom"), max_length=255, blank=True)
    is_default = models.BooleanField(_("dossier Contacts par défaut"), default=False)
    delta_link = models.TextField(_("lien delta"), blank=True)

    class Meta:
        ordering = ["user", "-is_default", "display_name"]
        verbose_name = _("dossier de contacts Outlook")
        verbose_name_plural = _("dossiers de contacts Outlook")
        constraints = [
            models.UniqueConstraint(fields=["user", "folder_id"], name="contactfolder_one_per_user_folder"),
        ]

    def __str__(self) -> str:
        return f"{self.user} – {self.display_name}"


class SyncRun(models.Model):
    """One synchronization run: who, which direction, why, when, what it did, and its error in words."""

    class Trigger(models.TextChoices):
        SCHEDULE = "schedule", _("Planifiée")
        SAVE = "save", _("Enregistrement des cases")
        MANUAL = "manual", _("Manuelle")
        COMMAND = "command", _("Commande")
        NOTIFIED = "notified", _("Notification d'Outlook")

    class Result(models.TextChoices):
        RUNNING = "running", _("En cours")
        SUCCESS = "success", _("Réussie")
        FAILED = "failed", _("Échouée")
        HALTED = "halted", _("Arrêtée (confirmation requise)")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sync_runs")
    direction = models.CharField(_("direction"), max_length=20, choices=Direction)
    trigger = models.CharField(_("déclencheur"), max_length=10, choices=Trigger, default=Trigger.SCHEDULE)
    started_at = models.DateTimeField(_("début"), default=timezone.now)
    finished_at = models.DateTimeField(_("fin"), null=True, blank=True)
    result = models.CharField(_("résultat"), max_length=10, choices=Result, default=Result.RUNNING)
    created = models.PositiveIntegerField(_("créés"), default=0)
    updated = models.PositiveIntegerField(_("modifiés"), default=0)
    deleted = models.PositiveIntegerField(_("désactivés ou supprimés"), default=0)
    skipped = models.PositiveIntegerField(_("ignorés"), default=0)
    failed = models.PositiveIntegerField(_("en erreur"), default=0)
    graph_requests = models.PositiveIntegerField(_("requêtes Graph"), default=0)
    # Why it failed or halted: a reason of exchange/reasons.py, {} when it did neither; `error` is
    # its sentence in the reader's language.
    failure = models.JSONField(_("erreur"), default=dict, blank=True)

    class Meta:
        ordering = ["-started_at"]
        verbose_name = _("exécution de synchronisation")
        verbose_name_plural = _("exécutions de synchronisation")
        indexes = [models.Index(fields=["user", "direction", "-started_at"], name="syncrun_user_dir_idx")]

    def __str__(self) -> str:
        return f"{self.user} – {self.get_direction_display()} – {self.started_at:%Y-%m-%d %H:%M}"

    @property
    def error(self) -> str:
        """Why the run failed or halted, in the active language ('' when it did neither)."""
        return describe_failure(self.failure)

    @property
    def automatic(self) -> bool:
        """Whether nobody asked for this run: the scheduler's, or a change notification's. A quiet
        automatic run keeps no record and moves no stamp before they are due (runs.finish_success)."""
        return self.trigger in AUTOMATIC_TRIGGERS

    @property
    def summary(self) -> str:
        """The run's counts in words (the status screen): « 1 créé, 2 modifiés, … »."""
        return run_summary(
            created=self.created, updated=self.updated, deleted=self.deleted, skipped=self.skipped, failed=self.failed
        )


AUTOMATIC_TRIGGERS = frozenset({SyncRun.Trigger.SCHEDULE, SyncRun.Trigger.NOTIFIED})


def run_summary(*, created: int, updated: int, deleted: int, skipped: int, failed: int) -> str:
    """A synchronization's counts in words, each agreeing with its number (ngettext): « 1 créé,
    2 modifiés, 0 désactivés, 1 ignoré, 0 en erreur ». The one wording of run counts."""
    return ", ".join(
        [
            ngettext("%(count)s créé", "%(count)s créés", created) % {"count": created},
            ngettext("%(count)s modifié", "%(count)s modifiés", updated) % {"count": updated},
            ngettext("%(count)s désactivé", "%(count)s désactivés", deleted) % {"count": deleted},
            ngettext("%(count)s ignoré", "%(count)s ignorés", skipped) % {"count": skipped},
            ngettext("%(count)s en erreur", "%(count)s en erreur", failed) % {"count": failed},
        ]
    )


class JournalEntry(models.Model):
    """One decision about one item during a run, with its reasons ("skipped: no email"): codes of
    exchange/reasons.py and their parameters, read in the viewer's language (`reasons.describe`)."""

    class Action(models.TextChoices):
        CREATED = "created", _("Créé")
        UPDATED = "updated", _("Modifié")
        DELETED = "deleted", _("Désactivé ou supprimé")
        SKIPPED = "skipped", _("Ignoré")
        LINKED = "linked", _("Associé")
        CONFLICT = "conflict", _("Conflit")
        FAILED = "failed", _("En erreur")
        TRUNCATED = "truncated", _("Tronqué")
        UNLINKED = "unlinked", _("Dissocié")
        MERGED = "merged", _("Fusionné")

    run = models.ForeignKey(SyncRun, null=True, blank=True, on_delete=models.CASCADE, related_name="entries")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="journal_entries")
    direction = models.CharField(_("direction"), max_length=20, choices=Direction)
    at = models.DateTimeField(_("date"), default=timezone.now)
    action = models.CharField(_("action"), max_length=10, choices=Action)
    outlook_id = models.CharField(_("identifiant Outlook"), max_length=512, blank=True)
    item_label = models.CharField(_("élément"), max_length=255, blank=True)
    email = models.CharField(_("courriel"), max_length=254, blank=True)
    reasons = models.JSONField(_("raisons"), default=list, blank=True)
    changes = models.JSONField(_("changements"), default=dict, blank=True)
    contact = models.ForeignKey(
        "crm.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="journal_entries"
    )
    activity = models.ForeignKey(
        "crm.Activity", null=True, blank=True, on_delete=models.SET_NULL, related_name="journal_entries"
    )

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name = _("entrée du journal")
        verbose_name_plural = _("journal des éléments")
        indexes = [
            models.Index(fields=["user", "-at"], name="journal_user_at_idx"),
            models.Index(fields=["outlook_id"], name="journal_outlook_id_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()} – {self.item_label}"


class WorkerHeartbeat(models.Model):
    """The last time a beat-scheduled task ran on a worker: proof that worker and beat are alive."""

    name = models.CharField(_("nom"), max_length=100, unique=True)
    last_seen = models.DateTimeField(_("vu pour la dernière fois"))
    count = models.PositiveBigIntegerField(_("nombre"), default=0)

    class Meta:
        verbose_name = _("signal de vie")
        verbose_name_plural = _("signaux de vie")

    def __str__(self) -> str:
        return self.name


class MailboxPreview(models.Model):
    """What a first synchronization of a user's mailbox would do, read before the switches are
    saved (exchange/preview.py): the mailbox is only read, no cursor is stored, nothing of the CRM
    is written; this row holds the progress (for the dialog's bar) and the counts."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("En attente")
        RUNNING = "running", _("En cours")
        DONE = "done", _("Terminé")
        FAILED = "failed", _("Échec")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mailbox_previews")
    status = models.CharField(_("état"), max_length=10, choices=Status, default=Status.QUEUED)
    items_read = models.PositiveIntegerField(_("éléments lus"), default=0)
    result = models.JSONField(_("résultat"), default=dict, blank=True)
    failure = models.JSONField(_("erreur"), default=dict, blank=True)  # a reason, as SyncRun.failure
    created_at = models.DateTimeField(_("créé le"), default=timezone.now)
    updated_at = models.DateTimeField(_("modifié le"), auto_now=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("aperçu d'une boîte")
        verbose_name_plural = _("aperçus des boîtes")

    def __str__(self) -> str:
        return f"{self.user_id}: {self.status}"

    @property
    def error(self) -> str:
        """Why the preview failed, in the active language ('' when it did not)."""
        return describe_failure(self.failure)


class Subscription(models.Model):
    """One Microsoft Graph change-notification subscription of a user's mailbox (exchange/subscriptions.py):
    on the calendar's events, or on one contact folder. A notification only says "look now": the
    delta round of that mailbox and kind stays the source of truth.

    `client_state_hash`: the SHA-256 of the secret `clientState` sent to Graph at creation (a
    random 256-bit value, never stored in clear); a notification counts only if its clientState
    hashes to a row's. Stored before the creation request, so a notification that arrives before
    Graph's answer is recognized too."""

    class Kind(models.TextChoices):
        EVENTS = "events", _("Calendrier")
        CONTACTS = "contacts", _("Contacts")

    class Status(models.TextChoices):
        PENDING = "pending", _("À créer")
        ACTIVE = "active", _("Active")
        FAILED = "failed", _("En échec")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="graph_subscriptions")
    kind = models.CharField(_("type"), max_length=10, choices=Kind)
    resource = models.CharField(_("ressource Graph"), max_length=1024)
    graph_id = models.CharField(_("identifiant Graph"), max_length=200, blank=True)
    client_state_hash = models.CharField(_("empreinte du secret"), max_length=64, blank=True)
    status = models.CharField(_("état"), max_length=10, choices=Status, default=Status.PENDING)
    expires_at = models.DateTimeField(_("expire le"), null=True, blank=True)
    # Why the last creation or renewal failed: a reason of exchange/reasons.py, {} when it did not.
    failure = models.JSONField(_("erreur"), default=dict, blank=True)
    failed_attempts = models.PositiveIntegerField(_("échecs consécutifs"), default=0)
    retry_at = models.DateTimeField(_("nouvel essai"), null=True, blank=True)
    created_at = models.DateTimeField(_("créée le"), default=timezone.now)
    renewed_at = models.DateTimeField(_("renouvelée le"), null=True, blank=True)
    last_notified_at = models.DateTimeField(_("dernière notification"), null=True, blank=True)

    class Meta:
        ordering = ["user", "kind", "resource"]
        verbose_name = _("abonnement aux notifications")
        verbose_name_plural = _("abonnements aux notifications")
        constraints = [
            models.UniqueConstraint(fields=["user", "resource"], name="subscription_one_per_user_resource"),
        ]
        indexes = [models.Index(fields=["client_state_hash"], name="subscription_state_hash_idx")]

    def __str__(self) -> str:
        return f"{self.user} – {self.resource}"

    @property
    def error(self) -> str:
        """Why the last creation or renewal failed, in the active language ('' when it did not)."""
        return describe_failure(self.failure)

    @property
    def group(self) -> str:
        """The sync group a notification of this subscription asks to run."""
        return SUBSCRIPTION_GROUPS[self.kind]


# The sync group each kind of subscription wakes (a contacts notification: the contacts group).
SUBSCRIPTION_GROUPS = {Subscription.Kind.EVENTS: ACTIVITIES, Subscription.Kind.CONTACTS: Direction.CONTACTS_IN}
