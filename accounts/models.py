"""Users (R2), their Exchange switches (R4) and the configuration table (R3)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _


class Company(models.Model):
    """A company of the Prextra installation (a user's default and allowed companies)."""

    code = models.CharField(_("code"), max_length=10, unique=True)
    name = models.CharField(_("nom"), max_length=100)

    class Meta:
        ordering = ["code"]
        verbose_name = _("compagnie")
        verbose_name_plural = _("compagnies")

    def __str__(self) -> str:
        return f"{self.code} – {self.name}"


class UserQuerySet(models.QuerySet):
    def synchronizable(self, today=None) -> UserQuerySet:
        """The users R5 synchronizes at all, in one query: active, unexpired (R2), with an email
        address (their mailbox). `User.sync_blocker` is this rule for one user, in words; the
        direction's switch and the connection are the exchange app's part (exchange.sync.runs)."""
        today = today or timezone.localdate()
        unexpired = Q(never_expires=True) | Q(expiry_date__isnull=True) | Q(expiry_date__gte=today)
        return self.filter(unexpired, is_active=True).exclude(email="")


class UserManager(BaseUserManager.from_queryset(UserQuerySet)):
    use_in_migrations = True

    def create_user(self, code: str, password: str | None = None, **fields) -> User:
        if not code:
            raise ValueError("A user code is required")
        fields.setdefault("email", "")
        fields["email"] = self.normalize_email(fields["email"])
        user = self.model(code=code.upper(), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, code: str, password: str | None = None, **fields) -> User:
        fields.setdefault("is_staff", True)
        fields.setdefault("is_superuser", True)
        return self.create_user(code, password, **fields)

    def get_by_natural_key(self, code: str) -> User:
        return self.get(code__iexact=code)


class User(AbstractBaseUser, PermissionsMixin):
    """A Prextra user, identified by its user code, with every field of the user screen (R2).

    `is_staff` marks an administrator: only administrators change users, settings and the
    Microsoft 365 connection. `email` is the mailbox synchronized (R5).
    """

    class ConnectionExpiry(models.IntegerChoices):
        NONE = 0, _("Aucune expiration")
        MIN_15 = 15, _("15 minutes")
        MIN_30 = 30, _("30 minutes")
        HOUR_1 = 60, _("1 heure")
        HOUR_4 = 240, _("4 heures")
        HOUR_8 = 480, _("8 heures")

    class OfficeVersion(models.TextChoices):
        NONE = "", _("Aucune")
        OFFICE_2016 = "2016", "Office 2016"
        OFFICE_2019 = "2019", "Office 2019"
        OFFICE_2021 = "2021", "Office 2021"
        M365 = "365", "Microsoft 365"

    class Language(models.TextChoices):
        FRENCH = "fr-ca", _("Français")
        ENGLISH = "en", _("English")

    code = models.CharField(
        _("code d'utilisateur"),
        max_length=20,
        unique=True,
        help_text=_("Identifiant de connexion, en majuscules."),
    )
    name = models.CharField(_("nom"), max_length=100)
    email = models.EmailField(_("courriel"), blank=True, db_index=True)
    is_active = models.BooleanField(_("actif"), default=True)
    is_staff = models.BooleanField(
        _("administrateur"),
        default=False,
        help_text=_("Peut modifier les utilisateurs, la configuration et la connexion Microsoft 365."),
    )
    never_expires = models.BooleanField(_("n'expire jamais"), default=True)
    automatic_trace = models.BooleanField(_("trace automatique"), default=False)
    name_on_reports = models.CharField(_("nom d'utilisateur sur rapport"), max_length=100, blank=True)
    task_assignment = models.BooleanField(_("assignation de tâches"), default=False)
    show_all_planned_work_orders = models.BooleanField(_("afficher tous les BT planifiés"), default=False)
    show_prextra_news = models.BooleanField(_("afficher les nouvelles PreXtra"), default=True)
    approve_eft = models.BooleanField(_("approuver TEF"), default=False)
    alert_at_sign_in = models.BooleanField(_("alerte lors ouverture session"), default=False)
    hide_in_reminder_notes = models.BooleanField(_("cacher dans notes de rappel"), default=False)
    developer = models.BooleanField(_("développeur"), default=False)
    cdid_user = models.BooleanField(_("utilisateur CDID"), default=False)
    expiry_date = models.DateField(_("date d'expiration"), null=True, blank=True)
    connection_expiry = models.PositiveIntegerField(
        _("expiration de la connexion"), choices=ConnectionExpiry, default=ConnectionExpiry.NONE
    )
    rows_per_page = models.PositiveSmallIntegerField(
        _("nbre lignes"), default=20, validators=[MinValueValidator(5), MaxValueValidator(500)]
    )
    crm_calendar_scale = models.PositiveSmallIntegerField(
        _("échelle calendrier CRM"),
        default=30,
        validators=[MinValueValidator(5), MaxValueValidator(120)],
        help_text=_("En minutes : la hauteur d'une ligne du calendrier journalier."),
    )
    contact = models.ForeignKey(
        "crm.Contact",
        verbose_name=_("contact"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    office_version = models.CharField(
        _("version de Microsoft Office"), max_length=10, choices=OfficeVersion, blank=True
    )
    default_company = models.ForeignKey(
        Company,
        verbose_name=_("compagnie par défaut"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="default_for",
    )
    allowed_companies = models.ManyToManyField(
        Company, verbose_name=_("compagnies permises"), blank=True, related_name="allowed_users"
    )
    language = models.CharField(_("langue"), max_length=10, choices=Language, default=Language.FRENCH)
    customer_number = models.CharField(_("no client"), max_length=20, blank=True)
    email_authentication = models.BooleanField(_("authentification par courriel"), default=False)
    signature = models.TextField(_("signature"), blank=True)
    date_joined = models.DateTimeField(_("date de création"), default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "code"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["name", "email"]

    class Meta:
        ordering = ["code"]
        verbose_name = _("utilisateur")
        verbose_name_plural = _("utilisateurs")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(rows_per_page__gte=5, rows_per_page__lte=500),
                name="user_rows_per_page_range",
            ),
            models.CheckConstraint(
                condition=models.Q(crm_calendar_scale__gte=5, crm_calendar_scale__lte=120),
                name="user_calendar_scale_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} – {self.name}" if self.name else self.code

    def save(self, *args, **kwargs) -> None:
        self.code = self.code.upper()
        super().save(*args, **kwargs)

    def get_full_name(self) -> str:
        return self.name

    def get_short_name(self) -> str:
        return self.code

    def is_expired(self, today=None) -> bool:
        """True when the account's expiry date has passed (and it may expire)."""
        if self.never_expires or self.expiry_date is None:
            return False
        return self.expiry_date < (today or timezone.localdate())

    def sync_blocker(self, today=None) -> str:
        """Why R5 does not synchronize this user at all, in words; '' when it may (active,
        unexpired: R2, with an email address). `User.objects.synchronizable()` is the same rule
        for every user at once (tests/accounts/test_models.py holds them to agree)."""
        if not self.is_active:
            return gettext("Utilisateur inactif.")
        if self.is_expired(today):
            return gettext("Utilisateur expiré.")
        if not self.email:
            return gettext("L'utilisateur n'a pas d'adresse courriel.")
        return ""

    @property
    def can_be_synchronized(self) -> bool:
        """R5 / R2: only active, unexpired users with an email address are synchronized."""
        return not self.sync_blocker()


class ExchangeProfile(models.Model):
    """A user's three Exchange switches (R4). Stamps and cursors live in exchange.SyncState."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="exchange_profile")
    sync_contacts_in = models.BooleanField(_("sync. contacts d'Exchange à Prextra"), default=False)
    sync_activities_in = models.BooleanField(_("sync. activités Exchange à Prextra"), default=False)
    sync_activities_out = models.BooleanField(_("sync. activités Prextra à Exchange"), default=False)
    # The Microsoft 365 user (object id) whose mailbox is synchronized, resolved from the address
    # `mailbox_address` (the user's « Courriel » then): a changed email resolves again.
    mailbox_id = models.CharField(_("identifiant de la boîte Microsoft 365"), max_length=64, blank=True)
    mailbox_address = models.EmailField(_("adresse de la boîte résolue"), blank=True)
    updated_at = models.DateTimeField(_("modifié le"), auto_now=True)

    class Meta:
        verbose_name = _("profil Exchange")
        verbose_name_plural = _("profils Exchange")

    def __str__(self) -> str:
        return str(self.user)

    @property
    def any_enabled(self) -> bool:
        return self.sync_contacts_in or self.sync_activities_in or self.sync_activities_out


class Setting(models.Model):
    """One key → value configuration entry of Prextra, such as `UserMaintenanceShowFields` (R3)."""

    key = models.CharField(_("clé"), max_length=100, unique=True)
    value = models.TextField(_("valeur"), blank=True)
    description = models.TextField(_("description"), blank=True)
    updated_at = models.DateTimeField(_("modifié le"), auto_now=True)

    class Meta:
        ordering = ["key"]
        verbose_name = _("configuration")
        verbose_name_plural = _("configurations")

    def __str__(self) -> str:
        return self.key

    @property
    def shown_description(self) -> str:
        """The description the product ships for its own keys (stored empty, shown in the reader's
        language), or the one an administrator typed."""
        return self.description or str(SHIPPED_SETTING_DESCRIPTIONS.get(self.key, ""))

    def values(self) -> list[str]:
        """The value as a list: Prextra separates entries with commas, semicolons or spaces."""
        return [part.lower() for part in self.value.replace(";", ",").replace(" ", ",").split(",") if part]


USER_MAINTENANCE_SHOW_FIELDS = "UserMaintenanceShowFields"
FREE_MAIL_SETTING = "ExchangeFreeMailDomains"

SHIPPED_SETTING_DESCRIPTIONS = {
    USER_MAINTENANCE_SHOW_FIELDS: _(
        "Boutons supplémentaires de la fiche utilisateur, séparés par des virgules. "
        "Ajoutez « btnexchange » pour afficher le bouton « Exchange »."
    ),
    FREE_MAIL_SETTING: _(
        "Domaines de messagerie gratuits ou de fournisseurs Internet, séparés par des virgules : un contact "
        "synchronisé avec une de ces adresses n'est jamais associé à un client, prospect ou fournisseur."
    ),
}


def exchange_button_enabled() -> bool:
    """R3: the Exchange button shows only when UserMaintenanceShowFields contains btnexchange."""
    row = Setting.objects.filter(key=USER_MAINTENANCE_SHOW_FIELDS).first()
    return bool(row) and "btnexchange" in row.values()
