"""Typed Graph failures: temporary ones are retried later, permanent ones need a person.

Each carries a sentence a person understands (French first, translated), the HTTP status and
Graph's error code. Graph's error body: {"error": {"code", "message", "innerError": {...}}}
(https://learn.microsoft.com/graph/errors).
"""

from __future__ import annotations

from django.utils.translation import gettext as _


class GraphError(Exception):
    """A failure talking to Microsoft 365. `transient` says whether trying again later may work;
    `retry_after`, when set, is how many seconds Graph asked us to wait before the next try."""

    transient = False
    retry_after: float | None = None

    def __init__(self, message: str, *, status: int | None = None, code: str = "", detail: str = ""):
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.detail = detail

    def __str__(self) -> str:
        return self.message


class GraphTransientError(GraphError):
    """Throttled, a server error, a dropped connection or a time-out: the next run retries."""

    transient = True


class ThrottledError(GraphTransientError):
    """429 (or 503 with Retry-After) still answered after the bounded retries, or a Retry-After
    longer than the client waits: `retry_after` then says when the run may try again."""


class GraphUnavailableError(GraphTransientError):
    """Microsoft 365 could not be reached or answered with a server error."""


class GraphAuthError(GraphError):
    """The application could not get a token: wrong tenant, client id or secret, or no consent."""


class PermissionDeniedError(GraphError):
    """403: the app lacks a permission (no admin consent, or an application access policy)."""


class CertificateError(GraphError):
    """The server's certificate is not trusted (wrong CA file, or a proxy intercepting TLS)."""


class MailboxNotFoundError(GraphError):
    """The user's email address is not an Exchange Online mailbox of the tenant."""


class ItemNotFoundError(GraphError):
    """404 ErrorItemNotFound: the contact or event no longer exists."""


class ChangeConflictError(GraphError):
    """412 ErrorIrresolvableConflict: the item changed since we read it (stale change key)."""


class DeltaExpiredError(GraphError):
    """410, or a 4xx with syncStateNotFound / syncStateInvalid / resyncRequired: the delta link
    expired; a full resync is needed."""


# The codes with which Graph says "start the delta round over". They come as 410 and also as
# other 4xx: "In case the token expires, the service should respond with a 40X-series error with
# error codes such as syncStateNotFound" (https://learn.microsoft.com/graph/delta-query-overview,
# "Token duration"); 410 SyncStateNotFound is what Outlook is seen to send
# (microsoft-graph-docs issues 2350, 2877); the devblogs post of 2020-07-03 on token lifetimes shows a 400
# syncStateNotFound; `resyncRequired` is in https://learn.microsoft.com/graph/errors; a 400
# InvalidDeltaToken for an unusable $deltatoken is in microsoft-graph-docs issue 6599. The code
# decides before the status: a 404 syncStateNotFound is the delta link's, not a missing item's.
DELTA_RESTART_CODES = {"syncstatenotfound", "syncstateinvalid", "resyncrequired", "invaliddeltatoken"}


class BadRequestError(GraphError):
    """400 and other client errors: the request itself was refused."""


def unreachable(detail: str) -> GraphUnavailableError:
    return GraphUnavailableError(
        _("Microsoft 365 est injoignable (réseau, pare-feu ou adresse erronée). Nouvel essai automatique."),
        detail=detail,
    )


def untrusted_certificate(detail: str) -> CertificateError:
    return CertificateError(
        _(
            "Le certificat du serveur Microsoft 365 n'est pas reconnu. Vérifiez le certificat d'autorité de "
            "confiance de la connexion, ou un proxy qui intercepte le trafic."
        ),
        detail=detail,
    )


def deferred(seconds: float, status: int, code: str, graph_message: str) -> ThrottledError:
    """Graph asked to wait longer than a run waits (Retry-After): the run is deferred until then."""
    error = ThrottledError(
        _(
            "Microsoft 365 demande d'attendre %(minutes)s min avant de nouvelles requêtes : la "
            "synchronisation reprendra automatiquement à ce moment."
        )
        % {"minutes": max(1, round(seconds / 60))},
        status=status,
        code=code,
        detail=f"{status} {code}: Retry-After {seconds:.0f} s; {graph_message}"[:500],
    )
    error.retry_after = seconds
    return error


def tenant_not_found(detail: str) -> GraphAuthError:
    return GraphAuthError(_("Le locataire (tenant) est introuvable. Vérifiez son identifiant."), detail=detail)


def from_token_error(result: dict) -> GraphAuthError:
    """The error msal returned instead of a token, in words (AADSTS codes of Microsoft Entra ID)."""
    codes = set(result.get("error_codes") or [])
    error = result.get("error", "")
    description = result.get("error_description", "")
    if codes & {7000215, 7000222} or error == "invalid_client" and "secret" in description.lower():
        message = _("Le secret client est invalide ou expiré. Créez un nouveau secret dans Microsoft Entra ID.")
    elif codes & {700016} or error == "unauthorized_client":
        message = _("L'identifiant de l'application (client) est introuvable dans ce locataire.")
    elif codes & {90002, 90023} or "tenant" in description.lower() and "not found" in description.lower():
        message = _("Le locataire (tenant) est introuvable. Vérifiez son identifiant.")
    elif codes & {65001, 500011, 7000112}:
        message = _("L'application n'a pas le consentement d'un administrateur du locataire.")
    elif error == "invalid_client":
        message = _("L'identifiant de l'application ou le secret client est refusé.")
    else:
        message = _("Microsoft Entra ID a refusé de fournir un jeton d'accès.")
    return GraphAuthError(message, code=error, detail=description[:500])


def from_response(status: int, code: str, graph_message: str) -> GraphError:
    """Map a Graph error response to a typed error with a sentence a person understands."""
    detail = f"{status} {code}: {graph_message}"[:500]
    lowered = code.lower()
    if status == 410 or (400 <= status < 500 and status not in (401, 429) and lowered in DELTA_RESTART_CODES):
        return DeltaExpiredError(
            _("Le jeton de synchronisation a expiré : une synchronisation complète est nécessaire."),
            status=status,
            code=code,
            detail=detail,
        )
    if status == 401:
        return GraphAuthError(
            _("Microsoft 365 a refusé le jeton d'accès de l'application."), status=status, code=code, detail=detail
        )
    if status == 403:
        return PermissionDeniedError(
            _(
                "Accès refusé par Microsoft 365 : l'application n'a pas les permissions Contacts.Read et "
                "Calendars.ReadWrite avec le consentement d'un administrateur, ou une stratégie d'accès "
                "exclut cette boîte aux lettres."
            ),
            status=status,
            code=code,
            detail=detail,
        )
    if lowered in {"mailboxnotenabledforrestapi", "errorinvaliduser", "resourcenotfound"} or (
        status == 404 and "user" in lowered
    ):
        return MailboxNotFoundError(
            _("Boîte aux lettres introuvable : l'adresse courriel n'est pas une boîte Exchange Online du locataire."),
            status=status,
            code=code,
            detail=detail,
        )
    if status == 404:
        return ItemNotFoundError(_("L'élément n'existe plus dans Outlook."), status=status, code=code, detail=detail)
    if status == 412:
        return ChangeConflictError(
            _("L'élément a été modifié dans Outlook entre-temps."), status=status, code=code, detail=detail
        )
    if status == 429:
        return ThrottledError(
            _("Microsoft 365 limite le nombre de requêtes (429). Nouvel essai automatique."),
            status=status,
            code=code,
            detail=detail,
        )
    if status >= 500:
        return GraphUnavailableError(
            _("Microsoft 365 est temporairement indisponible (erreur %(status)s). Nouvel essai automatique.")
            % {"status": status},
            status=status,
            code=code,
            detail=detail,
        )
    return BadRequestError(
        _("Microsoft 365 a refusé la requête (%(status)s %(code)s).") % {"status": status, "code": code or "?"},
        status=status,
        code=code,
        detail=detail,
    )
