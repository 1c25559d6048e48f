"""Typed Graph failures: temporary ones are retried later, permanent ones need a person.

Each carries its `reason` (a code of MESSAGES with its parameters, what the run records are
stored with: no sentence is stored), its `message` (that reason as a sentence a person
understands, in the active language), the HTTP status and Graph's error code. Graph's error body:
{"error": {"code", "message", "innerError": {...}}} (https://learn.microsoft.com/graph/errors).
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

# A failure's sentence by code; exchange/reasons.py renders these codes too (the stored reasons).
MESSAGES = {
    "graph_unreachable": _(
        "Microsoft 365 est injoignable (réseau, pare-feu ou adresse erronée). Nouvel essai automatique."
    ),
    "graph_untrusted_certificate": _(
        "Le certificat du serveur Microsoft 365 n'est pas reconnu. Vérifiez le certificat d'autorité de "
        "confiance de la connexion, ou un proxy qui intercepte le trafic."
    ),
    "graph_deferred": _(
        "Microsoft 365 demande d'attendre %(minutes)s min avant de nouvelles requêtes : la "
        "synchronisation reprendra automatiquement à ce moment."
    ),
    "graph_tenant_not_found": _("Le locataire (tenant) est introuvable. Vérifiez son identifiant."),
    "graph_bad_secret": _("Le secret client est invalide ou expiré. Créez un nouveau secret dans Microsoft Entra ID."),
    "graph_unknown_client": _("L'identifiant de l'application (client) est introuvable dans ce locataire."),
    "graph_no_consent": _("L'application n'a pas le consentement d'un administrateur du locataire."),
    "graph_client_refused": _("L'identifiant de l'application ou le secret client est refusé."),
    "graph_no_token": _("Microsoft Entra ID a refusé de fournir un jeton d'accès."),
    "graph_delta_expired": _("Le jeton de synchronisation a expiré : une synchronisation complète est nécessaire."),
    "graph_token_refused": _("Microsoft 365 a refusé le jeton d'accès de l'application."),
    "graph_access_denied": _(
        "Accès refusé par Microsoft 365 : l'application n'a pas les permissions Contacts.Read et "
        "Calendars.ReadWrite avec le consentement d'un administrateur, ou une stratégie d'accès "
        "exclut cette boîte aux lettres."
    ),
    "graph_mailbox_not_found": _(
        "Boîte aux lettres introuvable : l'adresse courriel n'est pas une boîte Exchange Online du locataire."
    ),
    "graph_no_mailbox_for_address": _(
        "Aucune boîte aux lettres Microsoft 365 n'a l'adresse %(address)s (ni comme adresse principale, ni "
        "comme alias). Vérifiez le « Courriel » de l'utilisateur."
    ),
    "graph_ambiguous_mailbox": _("Plusieurs utilisateurs Microsoft 365 ont l'adresse %(address)s."),
    "graph_missing_permission": _(
        "Permission manquante : %(permissions)s. Accordez la permission d'application %(permissions)s avec le "
        "consentement d'un administrateur dans Microsoft Entra ID (Inscriptions d'applications → API "
        "autorisées → Accorder un consentement d'administrateur)."
    ),
    "graph_item_gone": _("L'élément n'existe plus dans Outlook."),
    "graph_item_changed": _("L'élément a été modifié dans Outlook entre-temps."),
    "graph_throttled": _("Microsoft 365 limite le nombre de requêtes (429). Nouvel essai automatique."),
    "graph_unavailable": _(
        "Microsoft 365 est temporairement indisponible (erreur %(status)s). Nouvel essai automatique."
    ),
    "graph_refused": _("Microsoft 365 a refusé la requête (%(status)s %(code)s)."),
}
TEXT = "text"  # a sentence kept as it came (Graph's own words, or a record older than the codes)


def failure(code: str, /, **params) -> dict:
    """A failure's stored reason; an unknown code is a programming error."""
    if code not in MESSAGES:
        raise KeyError(f"unknown Graph failure code {code!r}")
    return {"code": code, "params": params} if params else {"code": code}


def sentence(reason: dict) -> str:
    """A failure's reason as a sentence in the active language (exchange.reasons.describe renders
    every stored reason; this one knows the Graph failures only, so this module stays low)."""
    params = reason.get("params") or {}
    message = MESSAGES.get(reason.get("code", ""))
    if message is None:
        return str(params.get("text", reason.get("code", "")))
    try:
        return str(message % params)
    except (KeyError, TypeError, ValueError):
        return str(message)


class GraphError(Exception):
    """A failure talking to Microsoft 365. `transient` says whether trying again later may work;
    `retry_after`, when set, is how many seconds Graph asked us to wait before the next try.
    `reason` is a code of MESSAGES with its parameters; a plain sentence is kept as it is."""

    transient = False
    retry_after: float | None = None

    def __init__(self, reason: dict | str, *, status: int | None = None, code: str = "", detail: str = ""):
        self.reason = reason if isinstance(reason, dict) else {"code": TEXT, "params": {"text": str(reason)}}
        super().__init__(self.reason.get("code"))
        self.status = status
        self.code = code
        self.detail = detail

    @property
    def message(self) -> str:
        return sentence(self.reason)

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
        failure("graph_unreachable"),
        detail=detail,
    )


def untrusted_certificate(detail: str) -> CertificateError:
    return CertificateError(
        failure("graph_untrusted_certificate"),
        detail=detail,
    )


def deferred(seconds: float, status: int, code: str, graph_message: str) -> ThrottledError:
    """Graph asked to wait longer than a run waits (Retry-After): the run is deferred until then."""
    error = ThrottledError(
        failure("graph_deferred", minutes=max(1, round(seconds / 60))),
        status=status,
        code=code,
        detail=f"{status} {code}: Retry-After {seconds:.0f} s; {graph_message}"[:500],
    )
    error.retry_after = seconds
    return error


def tenant_not_found(detail: str) -> GraphAuthError:
    return GraphAuthError(failure("graph_tenant_not_found"), detail=detail)


def from_token_error(result: dict) -> GraphAuthError:
    """The error msal returned instead of a token, in words (AADSTS codes of Microsoft Entra ID)."""
    codes = set(result.get("error_codes") or [])
    error = result.get("error", "")
    description = result.get("error_description", "")
    if codes & {7000215, 7000222} or error == "invalid_client" and "secret" in description.lower():
        reason = failure("graph_bad_secret")
    elif codes & {700016} or error == "unauthorized_client":
        reason = failure("graph_unknown_client")
    elif codes & {90002, 90023} or "tenant" in description.lower() and "not found" in description.lower():
        reason = failure("graph_tenant_not_found")
    elif codes & {65001, 500011, 7000112}:
        reason = failure("graph_no_consent")
    elif error == "invalid_client":
        reason = failure("graph_client_refused")
    else:
        reason = failure("graph_no_token")
    return GraphAuthError(reason, code=error, detail=description[:500])


def from_response(status: int, code: str, graph_message: str) -> GraphError:
    """Map a Graph error response to a typed error with a sentence a person understands."""
    detail = f"{status} {code}: {graph_message}"[:500]
    lowered = code.lower()
    if status == 410 or (400 <= status < 500 and status not in (401, 429) and lowered in DELTA_RESTART_CODES):
        return DeltaExpiredError(
            failure("graph_delta_expired"),
            status=status,
            code=code,
            detail=detail,
        )
    if status == 401:
        return GraphAuthError(failure("graph_token_refused"), status=status, code=code, detail=detail)
    if status == 403:
        return PermissionDeniedError(
            failure("graph_access_denied"),
            status=status,
            code=code,
            detail=detail,
        )
    if lowered in {"mailboxnotenabledforrestapi", "errorinvaliduser", "resourcenotfound"} or (
        status == 404 and "user" in lowered
    ):
        return MailboxNotFoundError(
            failure("graph_mailbox_not_found"),
            status=status,
            code=code,
            detail=detail,
        )
    if status == 404:
        return ItemNotFoundError(failure("graph_item_gone"), status=status, code=code, detail=detail)
    if status == 412:
        return ChangeConflictError(failure("graph_item_changed"), status=status, code=code, detail=detail)
    if status == 429:
        return ThrottledError(
            failure("graph_throttled"),
            status=status,
            code=code,
            detail=detail,
        )
    if status >= 500:
        return GraphUnavailableError(
            failure("graph_unavailable", status=status),
            status=status,
            code=code,
            detail=detail,
        )
    return BadRequestError(
        failure("graph_refused", status=status, code=code or "?"),
        status=status,
        code=code,
        detail=detail,
    )
