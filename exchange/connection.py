"""The Microsoft 365 connection (R1): saving it and testing it in words a person understands."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.utils import timezone
from django.utils.translation import gettext as _

from .graph import errors, permissions
from .graph.client import GraphClient, GraphSettings
from .models import GraphConnection
from .sync.mailbox import find_mailbox

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ConnectionCheck:
    ok: bool
    message: str


def check_connection(connection: GraphConnection, mailbox: str = "") -> ConnectionCheck:
    """Get a token and read the permissions it carries; then (given a mailbox address) find that
    mailbox in the directory and read one contact and one event of it; record the result.

    Failures are told plainly: bad secret, unknown application or tenant, which application
    permission lacks admin consent (the token's `roles`), no mailbox with that address,
    unreachable, certificate not trusted. The secret never reaches a log.
    """
    try:
        result = _check(GraphClient(GraphSettings.from_connection(connection)), mailbox)
    except errors.GraphError as exc:
        logger.info("Microsoft 365 connection test failed: %s (%s)", exc.code or type(exc).__name__, exc.detail)
        result = ConnectionCheck(False, exc.message)
    except Exception:  # the secret cannot be decrypted, or anything unexpected: never a traceback page
        logger.exception("Microsoft 365 connection test crashed")
        result = ConnectionCheck(False, _("Le test a échoué de façon inattendue ; voir le journal du serveur."))
    connection.last_test_at = timezone.now()
    connection.last_test_ok = result.ok
    connection.last_test_message = result.message
    connection.save(update_fields=["last_test_at", "last_test_ok", "last_test_message"])
    return result


def _check(client: GraphClient, mailbox: str) -> ConnectionCheck:
    client.token()
    missing = permissions.missing(client.token_roles())
    if missing:
        return ConnectionCheck(False, errors.sentence(permissions.advice(missing)))
    if not mailbox:
        return ConnectionCheck(
            True, _("Connexion réussie : jeton obtenu. Indiquez une boîte aux lettres pour vérifier les permissions.")
        )
    user = find_mailbox(client, mailbox)
    client.probe_mailbox(user["id"])
    return ConnectionCheck(
        True,
        _("Connexion réussie : jeton obtenu et boîte %(mailbox)s lue (utilisateur %(upn)s).")
        % {"mailbox": mailbox, "upn": user.get("userPrincipalName") or user["id"]},
    )
