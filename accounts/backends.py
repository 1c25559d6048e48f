"""The sign-in back end: Django's model back end, refusing inactive and expired users (R2)."""

from __future__ import annotations

from django.contrib.auth.backends import ModelBackend


class UserBackend(ModelBackend):
    """« Actif » off or « Date d'expiration » passed: the password is refused at sign-in, and an open
    session finds no user at its next request (`get_user` asks the same question), so the person is
    signed out there (accounts.middleware.SessionSecurityMiddleware says why)."""

    def user_can_authenticate(self, user) -> bool:
        return super().user_can_authenticate(user) and not user.is_expired()
