"""Forms of the ERP import screens (crm/import_views.py)."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _

from .models import ErpImport, ErpImportLine

EXTENSIONS = (".csv", ".txt", ".xlsx")


class ErpImportForm(forms.Form):
    """The kind of records and the file: CSV (UTF-8 or Windows-1252, comma or semicolon) or XLSX."""

    kind = forms.ChoiceField(label=_("Fiches à importer"), choices=ErpImport.Kind.choices)
    file = forms.FileField(
        label=_("Fichier"),
        max_length=255,
        help_text=_("CSV (séparé par des virgules ou des points-virgules, UTF-8 ou Windows-1252) ou XLSX."),
        widget=forms.ClearableFileInput(attrs={"accept": ",".join(EXTENSIONS)}),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        limit = settings.PREXTRA_IMPORT_MAX_BYTES
        if not upload.name.lower().endswith(EXTENSIONS):
            raise forms.ValidationError(_("Le fichier doit être un CSV ou un XLSX."), code="extension")
        if upload.size > limit:
            raise forms.ValidationError(
                _("Le fichier fait %(size)s ; au plus %(limit)s.")
                % {"size": filesizeformat(upload.size), "limit": filesizeformat(limit)},
                code="too_big",
            )
        return upload


class ErpImportLineFilterForm(forms.Form):
    """Which lines of a run to show: refused, created or updated."""

    action = forms.ChoiceField(label=_("Lignes"), choices=ErpImportLine.Action.choices, required=False)
