"""Encryption of secrets at rest (the Microsoft 365 client secret) with a key from the environment."""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.views.decorators.debug import sensitive_variables


class SecretUnreadable(Exception):
    """The stored secret cannot be decrypted: the encryption key changed since it was saved."""


def _fernet() -> Fernet:
    key = settings.PREXTRA_ENCRYPTION_KEY
    if not key:
        # Development only (production refuses to start without the key): a key derived from
        # SECRET_KEY, so the embedded set-up works with nothing configured.
        key = base64.urlsafe_b64encode(hashlib.sha256(f"prextra-secrets:{settings.SECRET_KEY}".encode()).digest())
    try:
        return Fernet(key)
    except (ValueError, TypeError):
        raise ImproperlyConfigured("PREXTRA_ENCRYPTION_KEY must be a Fernet key (32 url-safe base64 bytes)") from None


@sensitive_variables("plaintext")
def encrypt(plaintext: str) -> str:
    """The encrypted form of `plaintext`, as text safe to store."""
    return _fernet().encrypt(plaintext.encode()).decode()


@sensitive_variables("token")
def decrypt(token: str) -> str:
    """The plaintext of a value made by `encrypt`; SecretUnreadable when the key changed."""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise SecretUnreadable from None
