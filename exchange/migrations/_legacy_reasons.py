"""The French sentences journal entries and contacts held before reasons were codes, read back as
codes and parameters (exchange 0010, crm 0013). Frozen here: a later change of a sentence in
exchange/reasons.py must not change what these migrations recognize. A sentence none of these
match is kept word for word as the reason "text"; nothing is lost.

(Django's migration loader ignores modules whose name starts with an underscore.)
"""

from __future__ import annotations

import re

KINDS = {"client": "customer", "prospect": "prospect", "fournisseur": "supplier"}
WINNERS = {"Outlook": "outlook", "Prextra": "prextra"}

# (code, the French sentence as the product wrote it)
SENTENCES = [
    ("no_valid_id", "Ignoré : élément sans identifiant valide."),
    ("not_a_contact", "Ignoré : élément illisible (ce n'est pas un contact)."),
    ("not_an_event", "Ignoré : élément illisible (ce n'est pas un événement)."),
    ("no_first_name", "Ignoré : pas de prénom."),
    ("no_last_name", "Ignoré : pas de nom."),
    ("no_email", "Ignoré : pas de courriel."),
    ("invalid_email", "Ignoré : adresse courriel invalide (%(address)s)."),
    ("unreadable_time", "Ignoré : date ou fuseau horaire illisible."),
    ("date_out_of_range", "Ignoré : date hors des limites."),
    ("date_out_of_range_years", "Ignoré : date hors des limites (%(first)s à %(last)s)."),
    ("end_before_start", "Ignoré : la fin précède le début."),
    ("recurring", "Ignoré : événement récurrent (R13)."),
    ("private_event", "Ignoré : événement privé ou confidentiel (réglage de la connexion)."),
    ("free_mail", "Groupe Exchange : %(domain)s est un domaine de messagerie gratuit."),
    ("linked_by_domain", "Associé par le domaine %(domain)s → %(kind)s « %(name)s »."),
    ("ambiguous_domain", "À vérifier : le domaine %(domain)s est sur plusieurs fiches (%(kind)s : %(names)s)."),
    ("unknown_domain", "Groupe Exchange : aucun client, prospect ou fournisseur n'a le domaine %(domain)s."),
    ("linked_existing", "Associé au contact existant %(name)s par %(email)s."),
    ("address_changed", "Adresse changée dans Outlook : l'élément passe au contact de %(email)s."),
    (
        "newer_elsewhere",
        "Une autre boîte Outlook a une version plus récente de ce contact : elle est gardée, "
        "celle-ci est conservée au journal.",
    ),
    ("modified", "Modifié dans Outlook."),
    ("reactivated", "Réapparu dans Outlook : réactivé."),
    ("moved_folder", "Déplacé dans Outlook vers le dossier « %(folder)s »."),
    ("truncated", "Valeurs trop longues coupées : %(fields)s."),
    ("refused_by_database", "Refusé par la base de données."),
    ("left_mailbox", "Retiré de la boîte Outlook de %(user)s ; %(count)s autre(s) boîte(s) ont encore ce contact."),
    (
        "merged_duplicates",
        "Une seule fiche par adresse : %(count)s doublon(s) de %(address)s fusionné(s) dans ce contact "
        "(activités, notes et éléments Outlook de %(mailboxes)s boîte(s) conservés).",
    ),
    ("deleted_in_outlook", "Supprimé dans Outlook : contact désactivé."),
    ("deletion_confirmed", "Supprimé dans Outlook : désactivation confirmée par un administrateur."),
    ("contacts_switched_off", "Synchronisation des contacts désactivée pour cet utilisateur."),
    ("user_deactivated", "Utilisateur désactivé : ses contacts Outlook ne sont plus synchronisés."),
    ("imported_public", "Importé d'Outlook (public, R15)."),
    ("imported_private", "Importé d'Outlook (privé)."),
    (
        "found_by_transaction",
        "Événement créé par Prextra (réponse d'Outlook perdue) retrouvé par sa transaction : associé, sans doublon.",
    ),
    ("conflict", "Conflit sur « %(field)s » : modifié des deux côtés ; gagnant : %(winner)s."),
    (
        "became_recurring",
        "Devenu récurrent dans Outlook : dissocié (les événements récurrents ne sont pas synchronisés).",
    ),
    ("deleted_in_prextra", "Supprimée dans Prextra : la modification faite dans Outlook est ignorée."),
    ("removed_in_outlook", "Supprimé ou annulé dans Outlook : retiré des calendriers (récupérable)."),
    ("received_meeting", "Réunion organisée par %(organizer)s : à modifier dans Outlook"),
    ("meeting_with_attendees", "Réunion avec des participants : elle se modifie dans Outlook (aucune invitation envoyée)."),
    ("outlook_refused_retry", "Refusé par Outlook (%(status)s %(code)s) ; nouvel essai au prochain passage."),
    (
        "outlook_refused_delete",
        "Outlook refuse de supprimer l'événement (%(status)s %(code)s : %(message)s). L'activité reste "
        "supprimée dans Prextra et l'événement reste dans Outlook ; pas de nouvel essai.",
    ),
    (
        "outlook_refused",
        "Refusé par Outlook (%(status)s %(code)s : %(message)s) ; pas de nouvel essai tant que "
        "l'activité n'est pas modifiée.",
    ),
]


def _pattern(sentence: str) -> re.Pattern:
    parts = re.split(r"%\((\w+)\)s", sentence)
    regex = "".join(re.escape(part) if i % 2 == 0 else f"(?P<{part}>.+?)" for i, part in enumerate(parts))
    return re.compile(regex + r"(?:\s+|$)", re.DOTALL)


PATTERNS = [(code, _pattern(sentence)) for code, sentence in SENTENCES]


def _params(code: str, found: dict) -> dict:
    params = dict(found)
    if "kind" in params:
        params["kind"] = KINDS.get(params["kind"], params["kind"])
    if "winner" in params:
        params["winner"] = WINNERS.get(params["winner"], params["winner"])
    if code == "truncated":
        params["fields"] = [name.strip() for name in params["fields"].split(",") if name.strip()]
    for name in ("count", "first", "last", "status", "mailboxes"):
        if name in params and params[name].isdigit():
            params[name] = int(params[name])
    return params


def _read(text: str) -> list[dict] | None:
    """The reasons `text` is made of (the product joined several with a space), or None."""
    if not text:
        return []
    for code, pattern in PATTERNS:
        match = pattern.match(text)
        if match is None:
            continue
        rest = _read(text[match.end() :])
        if rest is not None:
            found = {k: v for k, v in match.groupdict().items()}
            return [{"code": code, "params": _params(code, found)} if found else {"code": code}, *rest]
    return None


def reasons_of(text: str) -> list[dict]:
    """A stored sentence as reasons: recognized ones as codes; otherwise the text, kept as written."""
    text = (text or "").strip()
    if not text:
        return []
    return _read(text) or [{"code": "text", "params": {"text": text}}]
