"""App configuration for accounts."""

from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Utilisateurs")

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from .middleware import stamp_activity_at_sign_in

        user_logged_in.connect(stamp_activity_at_sign_in, dispatch_uid="accounts.stamp_activity_at_sign_in")
