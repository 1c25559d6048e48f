"""Why a line or a file of an ERP import was refused: codes stored with their details, and the
sentence each one reads as in the reader's language (the stored data holds no sentence)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

MESSAGES = {
    # A line
    "required": _("%(field)s : valeur obligatoire."),
    "too_long": _("%(field)s : %(length)s caractères, au plus %(limit)s."),
    "invalid_email": _("%(field)s : « %(value)s » n'est pas une adresse de courriel."),
    "invalid_boolean": _("%(field)s : « %(value)s » n'est ni oui ni non (oui, non, 1, 0, actif, inactif)."),
    "forbidden_character": _("%(field)s : caractère de contrôle interdit."),
    "unknown_user": _("%(field)s : aucun utilisateur n'a le code « %(value)s »."),
    "unknown_owner": _("%(field)s : aucun client, prospect, fournisseur ou groupe n'a le code « %(value)s »."),
    "unknown_owner_type": _("%(field)s : « %(value)s » n'est pas client, prospect, fournisseur ou groupe."),
    "ambiguous_owner": _(
        "%(field)s : le code « %(value)s » est celui de plusieurs fiches (%(kinds)s) ; ajoutez la colonne type."
    ),
    "duplicate_code": _("code : « %(value)s » est déjà à la ligne %(line)s du fichier."),
    "duplicate_email": _("%(field)s : « %(value)s » est déjà à la ligne %(line)s du fichier."),
    "email_taken": _("%(field)s : « %(value)s » est déjà le courriel du contact %(name)s."),
    "invalid_domain": _("domaines : « %(value)s » n'est pas un domaine de courriel (par exemple : finloc.com)."),
    "domain_taken": _("domaines : %(value)s est déjà celui de %(name)s (%(record)s)."),
    "domain_in_file": _("domaines : %(value)s est déjà à la ligne %(line)s du fichier."),
    "free_mail_domain": _("domaines : %(value)s est un domaine de messagerie gratuit."),
    "invalid": _("%(field)s : valeur invalide « %(value)s »."),
    "write_failed": _("La ligne n'a pas pu être enregistrée (%(error)s)."),
    # The whole file
    "missing_columns": _("Colonnes obligatoires absentes : %(columns)s. Colonnes trouvées : %(found)s."),
    "unknown_encoding": _("Encodage inconnu : le fichier n'est ni en UTF-8 ni en Windows-1252."),
    "unreadable_xlsx": _("Le fichier n'est pas un classeur XLSX lisible."),
    "unreadable_csv": _("Le fichier CSV est illisible à la ligne %(line)s : %(error)s."),
    "file_missing": _("Le fichier à importer n'est plus disponible : téléversez-le de nouveau."),
    "interrupted": _("L'import a été interrompu (%(error)s) ; les lignes déjà importées le restent."),
}


def reason(field: str, code: str, **params) -> dict:
    """A stored reason: which column, which code, the values its sentence needs."""
    return {"field": field, "code": code, "params": {key: _short(value) for key, value in params.items()}}


def refusal(field: str, code: str, **params) -> ValidationError:
    """The ValidationError a resource raises for one column: a reason import-export carries."""
    return ValidationError({field: ValidationError(code, code=code, params=reason(field, code, **params)["params"])})


def describe(code: str, params: dict | None = None, field: str = "") -> str:
    """The sentence for a stored reason, in the active language."""
    template = MESSAGES.get(code, MESSAGES["invalid"])
    values = {"field": field, "value": "", "line": "", "limit": "", "length": "", "name": "", "record": ""}
    values |= {"kinds": "", "columns": "", "found": "", "error": ""}
    values |= params or {}
    try:
        return str(template) % values
    except (KeyError, TypeError, ValueError):
        return str(MESSAGES["invalid"]) % values


def _short(value) -> str | int:
    """A detail as stored: numbers as they are, text cut to what a screen shows."""
    if isinstance(value, int):
        return value
    text = str(value)
    return text if len(text) <= 80 else f"{text[:77]}…"
