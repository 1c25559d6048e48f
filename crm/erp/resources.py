"""How an ERP line becomes a Prextra record, with django-import-export: one resource per kind.

The library does the work it was made for: find the record by its code (one query per batch of
lines, `CachedInstanceLoader`, here `CodeLoader`, which keeps a NUL out of the query), set each
column through a widget, skip a line that changes nothing (`skip_unchanged`, so a second import
of the same file writes nothing), validate the record (`full_clean`), write in batches
(`use_bulk`) and report each line as new, updated, skipped or invalid. This module adds what an
ERP file needs on top:

- columns by their French or English names (crm/erp/reading.py), the representative and a
  contact's owner by their codes, looked up once per batch, never once per line;
- the company email domains of a line (R8): a domain already on another record of the same kind,
  earlier in the file, malformed or free-mail is refused with the reason, as on the record page;
  domains are only added, never removed (a domain an administrator added in Prextra stays);
- a code or an email address twice in the file, an email address another contact already has,
  and control characters are refused with the line number;
- every refusal is a code with its details (crm/erp/reasons.py), never a sentence.

A preview (`dry_run`) writes nothing at all: the lines are judged against the database and the
lines before them in the file (`RunState`), so its counts are what the import then does.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models.functions import Lower
from import_export import fields, resources, widgets
from import_export.instance_loaders import CachedInstanceLoader, ModelInstanceLoader

from ..models import Contact, ContactGroup, Customer, EmailDomain, Prospect, Supplier
from ..records import DOMAIN_PATTERN, normalized_domain, proposal_refusals
from .reading import header_key
from .reasons import reason, refusal

LINE = "__line__"

ORGANIZATION_COLUMNS = {
    "code": ("code", "code_client", "code_prospect", "code_fournisseur", "numero", "no", "customer_code"),
    "nom": ("nom", "name", "raison_sociale", "nom_client", "company", "company_name"),
    "domaines": ("domaines", "domaine", "domains", "domain", "domaines_de_courriel", "email_domains"),
    "representant": ("representant", "code_representant", "representative", "sales_rep", "rep"),
    "telephone": ("telephone", "tel", "phone", "no_telephone"),
    "ville": ("ville", "city"),
    "province": ("province", "state", "etat", "region"),
    "pays": ("pays", "country"),
    "actif": ("actif", "active", "is_active", "statut", "status"),
}
CONTACT_COLUMNS = {
    "code": ("code", "code_contact", "no_contact", "contact_code", "numero"),
    "prenom": ("prenom", "first_name", "firstname", "given_name"),
    "nom": ("nom", "last_name", "lastname", "nom_de_famille", "surname"),
    "titre": ("titre", "title", "fonction", "job_title"),
    "courriel": ("courriel", "email", "e_mail", "adresse_courriel", "mail", "email_address"),
    "telephone": ("telephone", "tel", "phone", "business_phone"),
    "poste": ("poste", "extension", "ext"),
    "cellulaire": ("cellulaire", "cell", "mobile", "mobile_phone"),
    "ville": ("ville", "city"),
    "province": ("province", "state", "etat", "region"),
    "pays": ("pays", "country"),
    "actif": ("actif", "active", "is_active", "statut", "status"),
    "representant": ("representant", "code_representant", "representative", "sales_rep", "rep"),
    "proprietaire": ("proprietaire", "code_proprietaire", "owner", "owner_code", "code_client", "client"),
    "type_proprietaire": ("type_proprietaire", "type", "owner_type", "type_de_proprietaire"),
}
REQUIRED = {"organization": ("code", "nom"), "contact": ("code", "prenom", "nom", "proprietaire")}


def aliases(columns: dict[str, tuple[str, ...]]) -> dict[str, str]:
    """header_key of every accepted header → its canonical column."""
    return {header_key(alias): canonical for canonical, names in columns.items() for alias in names}


TRUE = {"1", "oui", "o", "yes", "y", "vrai", "true", "t", "actif", "active", "a", "x"}
FALSE = {"0", "non", "n", "no", "faux", "false", "f", "inactif", "inactive", "i"}
OWNER_TYPES = {
    "customer": ("c", "client", "clients", "customer", "cl"),
    "prospect": ("p", "prospect", "prospects", "pr"),
    "supplier": ("f", "fournisseur", "fournisseurs", "supplier", "vendor", "fo"),
    "group": ("g", "groupe", "groupe_de_contacts", "group", "contact_group", "gr"),
}
OWNER_TYPE_OF = {header_key(name): kind for kind, names in OWNER_TYPES.items() for name in names}
OWNER_MODELS = {"customer": Customer, "prospect": Prospect, "supplier": Supplier, "group": ContactGroup}
OWNER_FIELDS = tuple(f"{kind}_id" for kind in OWNER_MODELS)


@dataclass
class RunState:
    """What the lines before this one decided, across the batches of one file."""

    codes: dict[str, int] = field(default_factory=dict)  # code → line
    emails: dict[str, int] = field(default_factory=dict)  # lowercase address → line
    domains: dict[str, int] = field(default_factory=dict)  # domain → line that claimed it
    users: dict[str, int] = field(default_factory=dict)  # user code (upper) → pk
    free_mail: dict[str, str | None] = field(default_factory=dict)  # domain → refusal or None
    added_domains: list[str] = field(default_factory=list)  # written by the import (to re-link)
    batch: list[tuple[dict, str]] = field(default_factory=list)  # (table, key) claimed this batch

    def claim(self, table: dict, key: str, line: int) -> None:
        table[key] = line
        self.batch.append((table, key))

    def forget_batch(self) -> None:
        """Undo this batch's claims (it is judged again, line by line)."""
        for table, key in self.batch:
            table.pop(key, None)
        self.batch.clear()


def _coded(column: str, code: str, **params) -> ValidationError:
    return refusal(column, code, **params)


def _queryable(values) -> set[str]:
    """The values a batch may look up in the database: PostgreSQL refuses a NUL in any query,
    and a line holding one is refused for its control character before it is looked up."""
    return {value for value in values if value and "\x00" not in value}


class CodeLoader(CachedInstanceLoader):
    """The batch's records by code in one query (CachedInstanceLoader), asking only for the codes
    a query can hold (_queryable)."""

    def __init__(self, resource, dataset=None) -> None:
        ModelInstanceLoader.__init__(self, resource, dataset)
        self.pk_field = resource.fields[resource.get_import_id_fields()[0]]
        self.all_instances = {}
        if dataset is not None and self.pk_field.column_name in dataset.headers:
            codes = _queryable(self.pk_field.clean(row) for row in dataset.dict)
            rows = self.get_queryset().filter(**{f"{self.pk_field.attribute}__in": codes})
            self.all_instances = {self.pk_field.get_value(instance): instance for instance in rows}


class TextWidget(widgets.CharWidget):
    """Text as the ERP gives it, trimmed (a missing cell is an empty text, never None)."""

    def clean(self, value, row=None, **kwargs):
        return "" if value is None else str(value).strip()


class BooleanTextWidget(widgets.Widget):
    """oui/non, 1/0, actif/inactif, yes/no…; an empty cell means active."""

    def __init__(self, column: str) -> None:
        super().__init__()
        self.column = column

    def clean(self, value, row=None, **kwargs):
        text = header_key(value)
        if not text or text in TRUE:
            return True
        if text in FALSE:
            return False
        raise _coded(self.column, "invalid_boolean", value=value)


class UserCodeWidget(widgets.Widget):
    """A representative by user code, from the run's table of users (no query per line)."""

    def __init__(self, column: str, state: RunState) -> None:
        super().__init__()
        self.column, self.state = column, state

    def clean(self, value, row=None, **kwargs):
        code = str(value or "").strip().upper()
        if not code:
            return None
        if code not in self.state.users:
            raise _coded(self.column, "unknown_user", value=value)
        return self.state.users[code]


class ErpResource(resources.ModelResource):
    """What the three record kinds and the contacts share."""

    COLUMNS: dict[str, tuple[str, ...]] = {}

    class Meta:
        import_id_fields = ("code",)
        skip_unchanged = True
        report_skipped = True
        skip_html_diff = True
        use_bulk = True
        batch_size = 500
        clean_model_instances = True
        instance_loader_class = CodeLoader
        store_row_values = True
        store_instance = True

    def __init__(self, state: RunState) -> None:
        self.state = state
        super().__init__()
        self.column_of = {f.attribute: f.column_name for f in self.fields.values() if f.attribute}
        self.column_of |= {f.attribute.removesuffix("_id"): f.column_name for f in self.fields.values() if f.attribute}

    # ------------------------------------------------------------ per line
    def before_import_row(self, row, **kwargs):
        errors = {}
        for column, value in row.items():
            if column != LINE and isinstance(value, str) and _has_control_character(value):
                errors = _coded(column, "forbidden_character").update_error_dict(errors)
        if errors:
            raise ValidationError(errors)
        code, line = row.get("code") or "", row[LINE]
        if code and code in self.state.codes:
            raise _coded("code", "duplicate_code", value=code, line=self.state.codes[code])
        if code:
            self.state.claim(self.state.codes, code, line)

    def import_instance(self, instance, row, **kwargs):
        errors = {}
        if not row.get("code"):
            # The code is what a second import finds the line's record by: a line without one
            # would be created again at each import (or, for a contact, whose ERP code may be
            # empty in the model, land on another such line's contact).
            errors = _coded("code", "required").update_error_dict(errors)
        for import_field in self.get_import_fields():
            try:
                self.import_field(import_field, instance, row, **kwargs)
            except ValidationError as error:
                errors = error.update_error_dict(errors)
            except ValueError:
                errors = _coded(
                    import_field.column_name, "invalid", value=row.get(import_field.column_name)
                ).update_error_dict(errors)
        for error in self.line_checks(instance, row):
            errors = error.update_error_dict(errors)
        if errors:
            raise ValidationError(errors)

    def line_checks(self, instance, row) -> list[ValidationError]:
        """The kind's own rules beyond its fields' (domains, email addresses)."""
        return []

    def skip_row(self, instance, original, row, import_validation_errors=None):
        if import_validation_errors:
            return False
        changed = [
            f.column_name
            for f in self.get_import_fields()
            if f.attribute and f.get_value(instance) != f.get_value(original)
        ]
        changed += self.extra_changes(instance)
        instance._erp_changes = changed
        return not changed

    def extra_changes(self, instance) -> list[str]:
        return []

    def validate_instance(self, instance, import_validation_errors=None, validate_unique=True):
        """The model's own checks (lengths, required values, email syntax) as coded reasons;
        uniqueness is the import's (code and address by file and by batch), not a query per line."""
        errors = dict(import_validation_errors or {})
        try:
            instance.full_clean(exclude=self.not_validated(), validate_unique=False, validate_constraints=False)
        except ValidationError as error:
            for attribute, problems in error.error_dict.items():
                column = self.column_of.get(attribute, attribute)
                if column in errors:
                    continue
                errors = self._model_refusal(column, problems[0], getattr(instance, attribute, "")).update_error_dict(
                    errors
                )
        if errors:
            raise ValidationError(errors)

    def not_validated(self) -> list[str]:
        """The foreign keys the run resolved from its own tables (a representative by code, a
        contact's owner): `full_clean` would check each again with one query per line."""
        return []

    @staticmethod
    def _model_refusal(column: str, problem: ValidationError, value) -> ValidationError:
        code, params = problem.code, problem.params or {}
        if code == "max_length":
            return _coded(column, "too_long", length=len(str(value)), limit=params.get("limit_value"))
        if code in ("required", "blank", "null"):
            return _coded(column, "required")
        if column == "courriel":
            return _coded(column, "invalid_email", value=value)
        return _coded(column, "invalid", value=value)

    # ------------------------------------------------------------ writing
    def save_instance(self, instance, is_create, row, **kwargs):
        if kwargs.get("dry_run"):
            return  # a preview writes nothing, not even inside a transaction rolled back
        if self._meta.use_bulk:
            super().save_instance(instance, is_create, row, **kwargs)
            return
        with transaction.atomic():  # the record and its domains, or neither
            super().save_instance(instance, is_create, row, **kwargs)

    def after_save_instance(self, instance, row, **kwargs):
        if not self._meta.use_bulk:
            self.after_write([instance])

    def bulk_create(self, using_transactions, dry_run, raise_errors, batch_size=None, result=None):
        self._bulk_write(self.create_instances, result, lambda rows: self._meta.model.objects.bulk_create(rows))

    def bulk_update(self, using_transactions, dry_run, raise_errors, batch_size=None, result=None):
        names = self.get_bulk_update_fields()
        self._bulk_write(self.update_instances, result, lambda rows: self._meta.model.objects.bulk_update(rows, names))

    def _bulk_write(self, pending: list, result, write) -> None:
        if not pending:
            return
        try:
            write(pending)
            self.after_write(pending)
        except Exception as error:  # noqa: BLE001 - reported; the batch is then judged line by line
            self.handle_import_error(result, error)
        finally:
            pending.clear()

    def after_write(self, instances: list) -> None:
        """What follows a batch's records once they have their keys (their domains)."""

    def line_by_line(self) -> ErpResource:
        """The same resource writing each line on its own, in its own transaction: for a batch
        whose bulk write failed, so that the failure lands on its line."""
        return LINE_BY_LINE[type(self)](self.state)


def _has_control_character(text: str) -> bool:
    return any(unicodedata.category(char) == "Cc" for char in text)


def _text_field(attribute: str, column: str) -> fields.Field:
    return fields.Field(attribute=attribute, column_name=column, widget=TextWidget())


class OrganizationResource(ErpResource):
    """A customer, prospect or supplier line; `kind` is the field of EmailDomain it owns."""

    kind = "customer"
    COLUMNS = ORGANIZATION_COLUMNS

    known_domains: dict[str, dict] = {}

    def before_import(self, dataset, **kwargs):
        """The domains this batch names: who owns them already (one query)."""
        names = set()
        for cell in dataset["domaines"] if "domaines" in dataset.headers else ():
            names.update(split_domains(cell))
        rows = EmailDomain.objects.filter(domain__in=_queryable(names), **{f"{self.kind}__isnull": False})
        self.known_domains = {
            row["domain"]: row
            for row in rows.values("domain", f"{self.kind}_id", f"{self.kind}__code", f"{self.kind}__name")
        }
        unasked = sorted(domain for domain in names if domain not in self.state.free_mail)
        if unasked:  # who refuses which (free-mail, R9): asked once for the batch
            self.state.free_mail |= proposal_refusals(unasked)

    def line_checks(self, instance, row) -> list[ValidationError]:
        if "domaines" not in row:
            return []
        errors, new = [], []
        for domain in split_domains(row["domaines"]):
            known = self.known_domains.get(domain)
            if known is not None and instance.pk and known[f"{self.kind}_id"] == instance.pk:
                continue  # already this record's
            refused = self.domain_refusal(domain, known)
            if refused is not None:
                errors.append(refused)
            else:
                new.append(domain)
        if not errors:
            for domain in new:
                self.state.claim(self.state.domains, domain, row[LINE])
            instance._erp_new_domains = new
        return errors

    def domain_refusal(self, domain: str, known: dict | None) -> ValidationError | None:
        """The record page's rule (crm/records.py domain_refusal), against the file as well."""
        if not DOMAIN_PATTERN.match(domain):
            return _coded("domaines", "invalid_domain", value=domain)
        # An earlier line of the file first: once its batch is written the domain is also in the
        # database, and the reason must not depend on where the batches split (nor differ from
        # the preview's, which writes nothing).
        if domain in self.state.domains:
            return _coded("domaines", "domain_in_file", value=domain, line=self.state.domains[domain])
        if known is not None:
            return _coded(
                "domaines",
                "domain_taken",
                value=domain,
                name=known[f"{self.kind}__name"],
                record=known[f"{self.kind}__code"],
            )
        if domain not in self.state.free_mail:
            self.state.free_mail |= proposal_refusals([domain])
        if self.state.free_mail[domain]:
            return _coded("domaines", "free_mail_domain", value=domain)
        return None

    def extra_changes(self, instance) -> list[str]:
        return ["domaines"] if getattr(instance, "_erp_new_domains", None) else []

    def not_validated(self) -> list[str]:
        return ["sales_rep"]

    def after_write(self, instances: list) -> None:
        rows = [
            EmailDomain(domain=domain, **{f"{self.kind}_id": instance.pk})
            for instance in instances
            for domain in getattr(instance, "_erp_new_domains", ())
        ]
        EmailDomain.objects.bulk_create(rows)
        self.state.added_domains.extend(row.domain for row in rows)


def split_domains(cell) -> list[str]:
    """The domains of a cell: separated by spaces, commas, semicolons or bars, normalized."""
    text = str(cell or "")
    for separator in ",;|\n":
        text = text.replace(separator, " ")
    return list(dict.fromkeys(normalized_domain(part) for part in text.split() if normalized_domain(part)))


class _OrganizationFields(OrganizationResource):
    code = _text_field("code", "code")
    name = _text_field("name", "nom")
    sales_rep = fields.Field(attribute="sales_rep_id", column_name="representant")
    phone = _text_field("phone", "telephone")
    city = _text_field("city", "ville")
    province = _text_field("province", "province")
    country = _text_field("country", "pays")
    is_active = fields.Field(attribute="is_active", column_name="actif", widget=BooleanTextWidget("actif"))

    class Meta(ErpResource.Meta):
        fields = ("code", "name", "sales_rep", "phone", "city", "province", "country", "is_active")

    def __init__(self, state: RunState) -> None:
        super().__init__(state)
        self.fields["sales_rep"].widget = UserCodeWidget("representant", state)


class CustomerResource(_OrganizationFields):
    kind = "customer"

    class Meta(_OrganizationFields.Meta):
        model = Customer


class ProspectResource(_OrganizationFields):
    kind = "prospect"

    class Meta(_OrganizationFields.Meta):
        model = Prospect


class SupplierResource(_OrganizationFields):
    kind = "supplier"

    class Meta(_OrganizationFields.Meta):
        model = Supplier


class OwnerField(fields.Field):
    """A contact's owner: the code in « proprietaire », the kind in « type_proprietaire » or, when
    that column is absent or empty, whichever kind has the code (refused if several do)."""

    def __init__(self) -> None:
        super().__init__(attribute="owner", column_name="proprietaire")
        self.resource: ContactResource | None = None

    def get_value(self, instance):
        return tuple(getattr(instance, name) for name in OWNER_FIELDS)

    def save(self, instance, row, is_m2m=False, **kwargs):
        code = row.get("proprietaire") or ""
        if not code:
            raise _coded("proprietaire", "required")
        wanted = header_key(row.get("type_proprietaire"))
        if wanted and wanted not in OWNER_TYPE_OF:
            raise _coded("type_proprietaire", "unknown_owner_type", value=row.get("type_proprietaire"))
        kinds = [OWNER_TYPE_OF[wanted]] if wanted else list(OWNER_MODELS)
        found = [(kind, self.resource.owners[kind][code]) for kind in kinds if code in self.resource.owners[kind]]
        if not found:
            raise _coded("proprietaire", "unknown_owner", value=code)
        if len(found) > 1:
            kinds_text = ", ".join(str(OWNER_MODELS[kind]._meta.verbose_name) for kind, _pk in found)
            raise _coded("proprietaire", "ambiguous_owner", value=code, kinds=kinds_text)
        chosen, pk = found[0]
        for kind in OWNER_MODELS:
            setattr(instance, f"{kind}_id", pk if kind == chosen else None)


class ContactResource(ErpResource):
    """A contact line, owned by a customer, prospect, supplier or group by its code."""

    COLUMNS = CONTACT_COLUMNS

    erp_code = _text_field("erp_code", "code")
    first_name = _text_field("first_name", "prenom")
    last_name = _text_field("last_name", "nom")
    title = _text_field("title", "titre")
    email = _text_field("email", "courriel")
    phone = _text_field("phone", "telephone")
    extension = _text_field("extension", "poste")
    mobile = _text_field("mobile", "cellulaire")
    city = _text_field("city", "ville")
    province = _text_field("province", "province")
    country = _text_field("country", "pays")
    is_active = fields.Field(attribute="is_active", column_name="actif", widget=BooleanTextWidget("actif"))
    representative = fields.Field(attribute="representative_id", column_name="representant")
    owner = OwnerField()

    class Meta(ErpResource.Meta):
        model = Contact
        import_id_fields = ("erp_code",)
        fields = (
            "erp_code",
            "first_name",
            "last_name",
            "title",
            "email",
            "phone",
            "extension",
            "mobile",
            "city",
            "province",
            "country",
            "is_active",
            "representative",
            "owner",
        )

    def __init__(self, state: RunState) -> None:
        super().__init__(state)
        self.fields["representative"].widget = UserCodeWidget("representant", state)
        self.fields["owner"].resource = self
        self.owners: dict[str, dict[str, int]] = {kind: {} for kind in OWNER_MODELS}
        self.taken: dict[str, tuple[int, str]] = {}

    def get_bulk_update_fields(self):
        names = [name for name in self.fields if name not in ("erp_code", "owner")]
        return [*names, "customer", "prospect", "supplier", "group"]

    def before_import(self, dataset, **kwargs):
        """The owners and the addresses this batch names (one query per owner kind, one for addresses)."""
        codes = _queryable(dataset["proprietaire"])
        for kind, model in OWNER_MODELS.items():
            self.owners[kind] = dict(model.objects.filter(code__in=codes).values_list("code", "pk"))
        emails = _queryable(value.lower() for value in dataset["courriel"]) if "courriel" in dataset.headers else set()
        found = Contact.objects.annotate(address=Lower("email")).filter(address__in=emails, is_active=True)
        self.taken = {
            row[0]: (row[1], f"{row[2]} {row[3]}")
            for row in found.values_list("address", "pk", "first_name", "last_name")
        }

    def line_checks(self, instance, row) -> list[ValidationError]:
        address = (row.get("courriel") or "").lower()
        if not address:
            return []
        if address in self.state.emails:
            return [_coded("courriel", "duplicate_email", value=row["courriel"], line=self.state.emails[address])]
        owner = self.taken.get(address)
        if owner is not None and owner[0] != instance.pk:
            return [_coded("courriel", "email_taken", value=row["courriel"], name=owner[1])]
        self.state.claim(self.state.emails, address, row[LINE])
        return []

    def not_validated(self) -> list[str]:
        return ["representative", "customer", "prospect", "supplier", "group"]


RESOURCES = {
    "customer": CustomerResource,
    "prospect": ProspectResource,
    "supplier": SupplierResource,
    "contact": ContactResource,
}


def _line_by_line(resource: type[ErpResource]) -> type[ErpResource]:
    meta = type("Meta", (resource.Meta,), {"use_bulk": False})
    return type(f"{resource.__name__}LineByLine", (resource,), {"Meta": meta, "__module__": __name__})


LINE_BY_LINE = {resource: _line_by_line(resource) for resource in RESOURCES.values()}


def resource_for(kind: str, state: RunState) -> ErpResource:
    """A resource for `kind`, with the users' codes loaded once for the whole file."""
    if not state.users:
        state.users = {code.upper(): pk for code, pk in get_user_model().objects.values_list("code", "pk")}
    return RESOURCES[kind](state)


def columns_of(kind: str) -> tuple[dict[str, str], tuple[str, ...]]:
    """The header aliases and the required columns of a kind's files."""
    if kind == "contact":
        return aliases(CONTACT_COLUMNS), REQUIRED["contact"]
    return aliases(ORGANIZATION_COLUMNS), REQUIRED["organization"]


__all__ = ["RESOURCES", "RunState", "columns_of", "reason", "resource_for", "split_domains"]
