"""CSV import and export of customers (the same columns both ways, so an export re-imports).

Import: each row is validated and written in its own savepoint, so a row is either fully
imported or rejected with its row number and the reason (nothing half-imported); the report
lists the rejected rows. Idempotent: a row finds its customer by external CRM id, else by one
of its e-mails (following a merge to the survivor), and updates it; importing the same file
twice changes nothing the second time. Lists (e-mails, phones, handles) are added to, never
emptied, so a partial file cannot wipe what the CRM knows.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _

from social_crm.tenancy.actions import audit_record
from social_crm.tenancy.scope import tenant_context

from .actions import clean_customer_fields, union
from .models import Customer, Tier
from .normalize import fold

COLUMNS = ["external_crm_id", "name", "emails", "phones", "handles", "tier", "notes", "consent_marketing",
           "consent_contact", "consent_at"]
LIST_SEPARATOR = ";"  # inside a cell: "a@x.fr; b@x.fr" (a comma would clash with CSV in some locales)
MAX_IMPORT_BYTES = 5 * 1024 * 1024  # about 30 000 customers: one request, a few seconds
MAX_IMPORT_ROWS = 20_000
EXPORT_CHUNK = 500  # rows fetched per round trip while streaming
_TRUE, _FALSE = {"1", "true", "yes", "y", "oui", "o", "x"}, {"", "0", "false", "no", "n", "non"}
_FORMULA = ("=", "@", "\t", "\r")  # a spreadsheet would run these as formulas (CSV injection)


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[dict] = field(default_factory=list)  # [{"row": 3, "reason": "..."}]

    def as_dict(self) -> dict:
        return {"created": self.created, "updated": self.updated, "unchanged": self.unchanged,
                "rejected": self.rejected}


def _split(cell: str) -> list[str]:
    return [v.strip() for v in (cell or "").replace("|", LIST_SEPARATOR).split(LIST_SEPARATOR) if v.strip()]


def _bool(cell: str, column: str) -> bool:
    value = (cell or "").strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValidationError({column: [_("Write yes or no, not %(value)s.") % {"value": cell}]})


def _date(cell: str):
    value = (cell or "").strip()
    if not value:
        return None
    parsed = parse_datetime(value) or parse_date(value)
    if parsed is None:
        raise ValidationError({"consent_at": [_("Write the date as 2026-01-31, not %(value)s.") % {"value": value}]})
    if not hasattr(parsed, "hour"):
        from datetime import datetime, time, timezone

        parsed = datetime.combine(parsed, time(), tzinfo=timezone.utc)
    return parsed


def _decode(data: bytes) -> str:
    if len(data) > MAX_IMPORT_BYTES:
        raise ValidationError({"file": [_("The file is larger than %(mb)s MB: split it.")
                                        % {"mb": MAX_IMPORT_BYTES // (1024 * 1024)}]})
    for encoding in ("utf-8-sig", "cp1252"):  # Excel on Windows still writes cp1252
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ValidationError({"file": [_("The file is not UTF-8 text.")]})


def _reader(text: str) -> csv.DictReader:
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.DictReader(io.StringIO(text), dialect=dialect)
    headers = [h.strip().lower() for h in (reader.fieldnames or [])]
    if "name" not in headers:
        raise ValidationError({"file": [_("The first line must name the columns, with at least \"name\" "
                                          "(columns: %(columns)s).") % {"columns": ", ".join(COLUMNS)}]})
    reader.fieldnames = headers
    return reader


def _find(tenant_id: int, external_id: str, emails: list[str]) -> Customer | None:
    """The customer a row is about: by external id, else by e-mail; a merged one is followed
    to its survivor. Two different customers for the row's e-mails: ambiguous."""
    customer = None
    if external_id:
        customer = Customer.objects.filter(tenant_id=tenant_id, external_crm_id=external_id).first()
    if customer is None and emails:
        found = {c.merged_into_id or c.pk: c for e in emails
                 for c in Customer.objects.filter(tenant_id=tenant_id, emails__contains=[e])}
        if len(found) > 1:
            raise ValidationError(_("These e-mails belong to different customers: %(emails)s.")
                                  % {"emails": ", ".join(emails)})
        customer = next(iter(found.values()), None)
    while customer is not None and customer.merged_into_id:
        customer = Customer.objects.get(tenant_id=tenant_id, pk=customer.merged_into_id)
    return customer


def _import_row(tenant_id: int, row: dict, report: ImportReport) -> None:
    tier_given = (row.get("tier") or "").strip().lower()
    values = clean_customer_fields(
        name=row.get("name") or "", emails=_split(row.get("emails")), phones=_split(row.get("phones")),
        handles=_split(row.get("handles")), external_crm_id=row.get("external_crm_id") or "",
        tier=tier_given or Tier.STANDARD)
    notes = (row.get("notes") or "").strip()
    consent = {"consent_marketing": _bool(row.get("consent_marketing"), "consent_marketing"),
               "consent_contact": _bool(row.get("consent_contact"), "consent_contact")}
    consent_at = _date(row.get("consent_at"))
    customer = _find(tenant_id, values["external_crm_id"], values["emails"])
    if customer is None:
        customer = Customer(tenant_id=tenant_id, notes=notes, consent_at=consent_at, name_folded=fold(values["name"]),
                            **values, **consent)
        customer.save()
        report.created += 1
        return
    if values["external_crm_id"] and customer.external_crm_id not in ("", values["external_crm_id"]):
        raise ValidationError(_("This e-mail belongs to the customer with external id %(id)s.")
                              % {"id": customer.external_crm_id})
    before = _row(customer)
    customer.name = values["name"]
    for key in ("emails", "phones", "handles"):
        setattr(customer, key, union(getattr(customer, key), values[key]))
    customer.tier = values["tier"] if tier_given else customer.tier
    customer.external_crm_id = values["external_crm_id"] or customer.external_crm_id
    customer.notes = notes or customer.notes
    customer.consent_marketing, customer.consent_contact = consent["consent_marketing"], consent["consent_contact"]
    customer.consent_at = consent_at or customer.consent_at
    if _row(customer) == before:
        report.unchanged += 1
        return
    customer.name_folded, customer.updated_at = fold(customer.name)[:200], timezone.now()
    customer.save()
    report.updated += 1


def customers_import(tenant_id: int, *, actor, data: bytes) -> ImportReport:
    """Import a CSV file (see the module docstring). A file that cannot be read at all is a
    ValidationError on "file"; bad rows are in the report."""
    text = _decode(data)
    report = ImportReport()
    with tenant_context(tenant_id):
        reader = _reader(text)
        for number, row in enumerate(reader, start=2):  # row 1 is the header, as in a spreadsheet
            if number - 1 > MAX_IMPORT_ROWS:
                report.rejected.append({"row": number, "reason": _("More than %(n)s rows: the rest was not read.")
                                        % {"n": MAX_IMPORT_ROWS}})
                break
            if not any((v or "").strip() for v in row.values() if isinstance(v, str)):
                continue  # a blank line
            try:
                with transaction.atomic():
                    _import_row(tenant_id, row, report)
            except ValidationError as exc:
                report.rejected.append({"row": number, "reason": "; ".join(_reason(exc))})
            except IntegrityError:  # a concurrent import or edit took the external id
                report.rejected.append({"row": number, "reason": _("Another customer has this external CRM id.")})
        audit_record(tenant_id, actor=actor, action="customers.imported", target=None,
                     data={"created": report.created, "updated": report.updated, "unchanged": report.unchanged,
                           "rejected": len(report.rejected)})
    return report


def _reason(exc: ValidationError) -> list[str]:
    if hasattr(exc, "error_dict"):
        return [f"{name}: {message}" for name, messages in exc.message_dict.items() for message in messages]
    return exc.messages


# --- Export --------------------------------------------------------------------------------------


def _safe(value) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA) else text


def _row(customer: Customer) -> list[str]:
    cells = {"emails": f"{LIST_SEPARATOR} ".join(customer.emails),
             "phones": f"{LIST_SEPARATOR} ".join(customer.phones),
             "handles": f"{LIST_SEPARATOR} ".join(customer.handles),
             "consent_marketing": "yes" if customer.consent_marketing else "no",
             "consent_contact": "yes" if customer.consent_contact else "no",
             "consent_at": customer.consent_at.isoformat() if customer.consent_at else ""}
    return [_safe(cells[c] if c in cells else getattr(customer, c)) for c in COLUMNS]


def customers_export(tenant_id: int, *, actor) -> Iterator[str]:
    """The live (not merged) customers as CSV lines, header first, for a streaming response.
    The audit row is written now; the rows are read when the response is sent, in a tenant
    transaction of their own (the request's is closed by then)."""
    with tenant_context(tenant_id):
        count = Customer.objects.filter(tenant_id=tenant_id, merged_into__isnull=True).count()
        audit_record(tenant_id, actor=actor, action="customers.exported", target=None, data={"count": count})

    def lines() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)

        def flush() -> str:
            value = buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            return value

        writer.writerow(COLUMNS)
        yield flush()
        with tenant_context(tenant_id):
            rows = Customer.objects.filter(tenant_id=tenant_id, merged_into__isnull=True).order_by("pk")
            for customer in rows.iterator(chunk_size=EXPORT_CHUNK):
                writer.writerow(_row(customer))
                yield flush()

    return lines()
