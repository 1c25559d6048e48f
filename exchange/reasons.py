"""Why the sync decided what it did about one item: codes stored with their parameters in the
journal (`JournalEntry.reasons`), and the sentence each one reads as in the reader's language.

The stored data holds no sentence (an English reader sees English, a French one French, and a
wording fixed later applies to old rows too); requirement numbers are for developers and appear in
no sentence. A parameter is a value from Outlook or Prextra (a domain, a name, a count), or a code
rendered at display time: `kind` (customer, prospect, supplier), `field`/`fields` (names of
synchronized fields) and `winner` (a conflict policy).
"""

from __future__ import annotations

from datetime import date

from django.core.exceptions import FieldDoesNotExist
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext_lazy

from crm.models import RECEIVED_MEETING, REVIEW_MESSAGES, Activity, Contact, kind_label

from .graph import errors

# A code's sentence; one that counts chooses its plural form by its `count` parameter.
MESSAGES = {
    # Outlook items that are not synchronized
    "no_valid_id": _("Ignoré : élément sans identifiant valide."),
    "not_a_contact": _("Ignoré : élément illisible (ce n'est pas un contact)."),
    "not_an_event": _("Ignoré : élément illisible (ce n'est pas un événement)."),
    "no_first_name": _("Ignoré : pas de prénom."),
    "no_last_name": _("Ignoré : pas de nom."),
    "no_email": _("Ignoré : pas de courriel."),
    "invalid_email": _("Ignoré : adresse courriel invalide (%(address)s)."),
    "unreadable_time": _("Ignoré : date ou fuseau horaire illisible."),
    "date_out_of_range": _("Ignoré : date hors des limites."),
    "date_out_of_range_years": _("Ignoré : date hors des limites (%(first)s à %(last)s)."),
    "end_before_start": _("Ignoré : la fin précède le début."),
    "recurring": _("Ignoré : événement récurrent."),
    "recurring_series": ngettext_lazy(
        "Ignoré : série récurrente (%(count)s occurrence dans la période).",
        "Ignoré : série récurrente (%(count)s occurrences dans la période).",
        "count",
    ),
    "private_event": _("Ignoré : événement privé ou confidentiel (réglage de la connexion)."),
    # Where a contact goes
    "free_mail": _("Groupe Exchange : %(domain)s est un domaine de messagerie gratuit."),
    "linked_by_domain": _("Associé par le domaine %(domain)s → %(kind)s « %(name)s »."),
    "ambiguous_domain": REVIEW_MESSAGES["ambiguous_domain"],
    "unknown_domain": _("Groupe Exchange : aucun client, prospect ou fournisseur n'a le domaine %(domain)s."),
    # Contacts
    "linked_existing": _("Associé au contact existant %(name)s par %(email)s."),
    "address_changed": _("Adresse changée dans Outlook : l'élément passe au contact de %(email)s."),
    "newer_elsewhere": _(
        "Une autre boîte Outlook a une version plus récente de ce contact : elle est gardée, "
        "celle-ci est conservée au journal."
    ),
    "modified": _("Modifié dans Outlook."),
    "reactivated": _("Réapparu dans Outlook : réactivé."),
    "moved_folder": _("Déplacé dans Outlook vers le dossier « %(folder)s »."),
    "truncated": _("Valeurs trop longues coupées : %(fields)s."),
    "refused_by_database": _("Refusé par la base de données."),
    "left_mailbox": ngettext_lazy(
        "Retiré de la boîte Outlook de %(user)s ; %(count)s autre boîte a encore ce contact.",
        "Retiré de la boîte Outlook de %(user)s ; %(count)s autres boîtes ont encore ce contact.",
        "count",
    ),
    "deleted_in_outlook": _("Supprimé dans Outlook : contact désactivé."),
    "deletion_confirmed": _("Supprimé dans Outlook : désactivation confirmée par un administrateur."),
    "contacts_switched_off": _("Synchronisation des contacts désactivée pour cet utilisateur."),
    "merged_duplicates": ngettext_lazy(
        "Une seule fiche par adresse : %(count)s doublon de %(address)s fusionné dans ce contact (activités, "
        "notes et éléments Outlook conservés).",
        "Une seule fiche par adresse : %(count)s doublons de %(address)s fusionnés dans ce contact (activités, "
        "notes et éléments Outlook conservés).",
        "count",
    ),
    "user_deactivated": _("Utilisateur désactivé : ses contacts Outlook ne sont plus synchronisés."),
    # Activities
    "imported_public": _("Importé d'Outlook (public)."),
    "imported_private": _("Importé d'Outlook (privé)."),
    "found_by_transaction": _(
        "Événement créé par Prextra (réponse d'Outlook perdue) retrouvé par sa transaction : associé, sans doublon."
    ),
    "conflict": _("Conflit sur « %(field)s » : modifié des deux côtés ; gagnant : %(winner)s."),
    "became_recurring": _(
        "Devenu récurrent dans Outlook : dissocié (les événements récurrents ne sont pas synchronisés)."
    ),
    "deleted_in_prextra": _("Supprimée dans Prextra : la modification faite dans Outlook est ignorée."),
    "removed_in_outlook": _("Supprimé ou annulé dans Outlook : retiré des calendriers (récupérable)."),
    "received_meeting": RECEIVED_MEETING,
    "meeting_with_attendees": _(
        "Réunion avec des participants : elle se modifie dans Outlook (aucune invitation envoyée)."
    ),
    "outlook_refused_retry": _("Refusé par Outlook (%(status)s %(code)s) ; nouvel essai au prochain passage."),
    "outlook_refused_delete": _(
        "Outlook refuse de supprimer l'événement (%(status)s %(code)s : %(message)s). L'activité reste "
        "supprimée dans Prextra et l'événement reste dans Outlook ; pas de nouvel essai."
    ),
    "outlook_refused": _(
        "Refusé par Outlook (%(status)s %(code)s : %(message)s) ; pas de nouvel essai tant que "
        "l'activité n'est pas modifiée."
    ),
    "outside_window": _("Hors de la période synchronisée : sera envoyée à Outlook le %(day)s, quand elle y entrera."),
    "behind_window": _("Antérieure à la période synchronisée : ne sera pas envoyée à Outlook."),
    # Anything else
    "error": _("Erreur : %(detail)s"),
    # Why a run failed or halted (SyncRun.failure, SyncState.last_failure, MailboxPreview.failure);
    # a Graph failure has a code of exchange/graph/errors.py (added below).
    "run_interrupted": _("Interrompue : le processus a été arrêté."),
    # What a connection test found (GraphConnection.last_test_result)
    "connection_token_ok": _(
        "Connexion réussie : jeton obtenu. Indiquez une boîte aux lettres pour vérifier les permissions."
    ),
    "connection_mailbox_ok": _("Connexion réussie : jeton obtenu et boîte %(mailbox)s lue (utilisateur %(upn)s)."),
    "connection_test_crashed": _("Le test a échoué de façon inattendue ; voir le journal du serveur."),
    "unexpected_error": _("Erreur inattendue ; voir le journal du serveur."),
    "brake_contacts": _(
        "Frein : %(count)s contacts sur %(total)s seraient désactivés. Un administrateur doit confirmer."
    ),
    "brake_activities": _(
        "Frein : %(count)s activités sur %(total)s seraient supprimées. Un administrateur doit confirmer."
    ),
    # Why a change-notification subscription could not be created or renewed (Subscription.failure)
    "subscription_refused": _(
        "Microsoft 365 a refusé l'abonnement aux notifications (%(status)s %(code)s : %(message)s). "
        "Vérifiez que l'adresse publique de Prextra est joignable depuis Internet en HTTPS."
    ),
    "text": "%(text)s",  # a row written before reasons were codes, whose sentence was not recognized
    **errors.MESSAGES,
}


def reason(code: str, /, **params) -> dict:
    """A stored reason. An unknown code is a programming error, caught by the tests."""
    if code not in MESSAGES:
        raise KeyError(f"unknown journal reason code {code!r}")
    return {"code": code, "params": params} if params else {"code": code}


def error_reason(exc: BaseException) -> dict:
    """A failure: the exception's own text (Graph's or the database's, never translated by us)."""
    return reason("error", detail=str(exc)[:500])


def field_label(name: str) -> str:
    """A synchronized field's name as the reader's screens call it."""
    for model in (Activity, Contact):
        try:
            return str(model._meta.get_field(name).verbose_name)
        except FieldDoesNotExist:  # a field of the other model
            continue
    return name


def _winner_label(value: str) -> str:
    """The conflict policy's name (GraphConnection.ConflictWinner: the two products' names)."""
    return {"outlook": "Outlook", "prextra": "Prextra"}.get(value, value)


def _day_label(value: str) -> str:
    """A stored ISO date as the screens write dates (SHORT_DATE_FORMAT: jj/mm/aaaa)."""
    try:
        return date_format(date.fromisoformat(value), "SHORT_DATE_FORMAT")
    except ValueError:
        return value


def _shown(params: dict) -> dict:
    """The parameters as the sentence shows them: codes rendered in the active language."""
    shown = dict(params)
    if "kind" in shown:
        shown["kind"] = kind_label(shown["kind"]) if shown["kind"] in ("customer", "prospect", "supplier") else ""
    if "field" in shown:
        shown["field"] = field_label(str(shown["field"]))
    if isinstance(shown.get("fields"), list):
        shown["fields"] = ", ".join(field_label(str(name)) for name in shown["fields"])
    if "day" in shown:
        shown["day"] = _day_label(str(shown["day"]))
    if "winner" in shown:
        shown["winner"] = _winner_label(str(shown["winner"]))
    return shown


def sentence(item: dict) -> str:
    """One stored reason as a sentence in the active language."""
    if not isinstance(item, dict):
        return str(item)
    code, params = item.get("code", ""), item.get("params") or {}
    message = MESSAGES.get(code)
    if message is None:
        return str(params.get("text", code))
    shown = _shown(params)
    try:
        return str(message % shown)
    except (KeyError, TypeError, ValueError):
        return str(params.get("text", code))


def describe(reasons) -> str:
    """The reasons of one journal entry as one line."""
    if isinstance(reasons, dict):
        reasons = [reasons]
    return " ".join(filter(None, (sentence(item) for item in reasons or [])))
