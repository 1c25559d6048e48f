"""The French sentences sync runs, states and previews held as their error before failures were
reasons (exchange 0012), read back as a code and parameters. Frozen here, as `_legacy_reasons`:
a later change of a sentence must not change what the migration recognizes. A sentence none of
these match (Graph's own words, a text older than these) is kept word for word as "text".
"""

from __future__ import annotations

from ._legacy_reasons import _params, _pattern

# (code, the French sentence as the product wrote it)
SENTENCES = [
    ("run_interrupted", "Interrompue : le processus a été arrêté."),
    ("unexpected_error", "Erreur inattendue ; voir le journal du serveur."),
    ("brake_contacts", "Frein : %(count)s contacts sur %(total)s seraient désactivés. Un administrateur doit confirmer."),
    (
        "brake_activities",
        "Frein : %(count)s activités sur %(total)s seraient supprimées. Un administrateur doit confirmer.",
    ),
    ("graph_unreachable", "Microsoft 365 est injoignable (réseau, pare-feu ou adresse erronée). Nouvel essai automatique."),
    (
        "graph_untrusted_certificate",
        "Le certificat du serveur Microsoft 365 n'est pas reconnu. Vérifiez le certificat d'autorité de confiance "
        "de la connexion, ou un proxy qui intercepte le trafic.",
    ),
    (
        "graph_deferred",
        "Microsoft 365 demande d'attendre %(minutes)s min avant de nouvelles requêtes : la synchronisation "
        "reprendra automatiquement à ce moment.",
    ),
    ("graph_tenant_not_found", "Le locataire (tenant) est introuvable. Vérifiez son identifiant."),
    ("graph_bad_secret", "Le secret client est invalide ou expiré. Créez un nouveau secret dans Microsoft Entra ID."),
    ("graph_unknown_client", "L'identifiant de l'application (client) est introuvable dans ce locataire."),
    ("graph_no_consent", "L'application n'a pas le consentement d'un administrateur du locataire."),
    ("graph_client_refused", "L'identifiant de l'application ou le secret client est refusé."),
    ("graph_no_token", "Microsoft Entra ID a refusé de fournir un jeton d'accès."),
    ("graph_delta_expired", "Le jeton de synchronisation a expiré : une synchronisation complète est nécessaire."),
    ("graph_token_refused", "Microsoft 365 a refusé le jeton d'accès de l'application."),
    (
        "graph_access_denied",
        "Accès refusé par Microsoft 365 : l'application n'a pas les permissions Contacts.Read et Calendars.ReadWrite "
        "avec le consentement d'un administrateur, ou une stratégie d'accès exclut cette boîte aux lettres.",
    ),
    (
        "graph_mailbox_not_found",
        "Boîte aux lettres introuvable : l'adresse courriel n'est pas une boîte Exchange Online du locataire.",
    ),
    (
        "graph_no_mailbox_for_address",
        "Aucune boîte aux lettres Microsoft 365 n'a l'adresse %(address)s (ni comme adresse principale, ni comme "
        "alias). Vérifiez le « Courriel » de l'utilisateur.",
    ),
    ("graph_ambiguous_mailbox", "Plusieurs utilisateurs Microsoft 365 ont l'adresse %(address)s."),
    (
        "graph_missing_permission",
        "Permission manquante : %(permissions)s. Accordez la permission d'application %(permissions2)s avec le "
        "consentement d'un administrateur dans Microsoft Entra ID (Inscriptions d'applications → API autorisées → "
        "Accorder un consentement d'administrateur).",
    ),
    ("graph_item_gone", "L'élément n'existe plus dans Outlook."),
    ("graph_item_changed", "L'élément a été modifié dans Outlook entre-temps."),
    ("graph_throttled", "Microsoft 365 limite le nombre de requêtes (429). Nouvel essai automatique."),
    ("graph_unavailable", "Microsoft 365 est temporairement indisponible (erreur %(status)s). Nouvel essai automatique."),
    ("graph_refused", "Microsoft 365 a refusé la requête (%(status)s %(code)s)."),
]
PATTERNS = [(code, _pattern(sentence)) for code, sentence in SENTENCES]


def failure_of(text: str) -> dict:
    """A stored error sentence as one reason: a recognized one as its code; otherwise the text."""
    text = (text or "").strip()
    if not text:
        return {}
    for code, pattern in PATTERNS:
        match = pattern.fullmatch(text)
        if match is not None:
            found = {key: value for key, value in match.groupdict().items() if key != "permissions2"}
            params = _params(code, found)
            for name in ("total", "minutes"):
                if name in params and params[name].isdigit():
                    params[name] = int(params[name])
            return {"code": code, "params": params} if found else {"code": code}
    return {"code": "text", "params": {"text": text}}
