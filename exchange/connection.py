"""The Microsoft 365 connection (R1): saving it and testing it in words a person understands."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.utils import timezone

from .graph import errors, permissions
from .graph.client import GraphClient, GraphSettings
from .models import GraphConnection
from .reasons import describe, reason
from .sync.mailbox import find_mailbox

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ConnectionCheck:
    ok: bool
    result: dict  # a reason of exchange/reasons.py (stored as GraphConnection.last_test_result)

    @property
    def message(self) -> str:
        return describe(self.result)


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
        result = ConnectionCheck(False, exc.reason)
    except Exception:  # the secret cannot be decrypted, or anything unexpected: never a traceback page
        logger.exception("Microsoft 365 connection test crashed")
        result = ConnectionCheck(False, reason("connection_test_crashed"))
    connection.last_test_at = timezone.now()
    connection.last_test_ok = result.ok
    connection.last_test_result = result.result
    connection.save(update_fields=["last_test_at", "last_test_ok", "last_test_result"])
    return result


def _check(client: GraphClient, mailbox: str) -> ConnectionCheck:
    client.token()
    missing = permissions.missing(client.token_roles())
    if missing:
        return ConnectionCheck(False, permissions.advice(missing))
    if not mailbox:
        return ConnectionCheck(True, reason("connection_token_ok"))
    user = find_mailbox(client, mailbox)
    client.probe_mailbox(user["id"])
    return ConnectionCheck(
        True, reason("connection_mailbox_ok", mailbox=mailbox, upn=user.get("userPrincipalName") or user["id"])
    )
