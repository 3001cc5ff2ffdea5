"""Bank-statement import: a CSV or XLSX file of transfers, matched to children by 学号.

Every row is checked first; the preview shows each row's child or its problem, and nothing is
posted while any row is bad. A bank reference already imported is refused, so importing the same
statement twice posts nothing twice.
"""

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext as _

from afterschool.spreadsheets import STATEMENT_MAX_ROWS, SpreadsheetRefused, read_csv, read_xlsx
from enrollment.models import Student
from enrollment.roster import FORMULA_STARTS, cell_text

from .models import Payment
from .money import to_fen

COL_STUDENT_NO, COL_AMOUNT, COL_REFERENCE = "学号", "金额", "流水号"
COLUMNS = [COL_STUDENT_NO, COL_AMOUNT, COL_REFERENCE]
MAX_AMOUNT = Decimal("10000000000")  # what a payment's amount column can hold (12 digits, 2 decimals)


@dataclass
class StatementRow:
    number: int
    student_no: str
    amount: Decimal | None
    reference: str
    student: Student | None
    error: str


def read_statement(*, data: bytes, file_name: str, term) -> tuple[list[StatementRow], str]:
    """Parse and check a statement; returns (rows, a message for the whole file or "")."""
    kind = "xlsx" if file_name.lower().endswith(".xlsx") else "csv"
    try:
        # Never past STATEMENT_MAX_ROWS rows nor past the last cell with a value: a stray cell
        # far below is refused with its row, not read as a million empty rows.
        if kind == "xlsx":
            dataset = read_xlsx(data, max_rows=STATEMENT_MAX_ROWS)
        else:
            dataset = read_csv(data.decode("utf-8-sig"), max_rows=STATEMENT_MAX_ROWS)
    except SpreadsheetRefused as refused:
        return [], str(refused)
    except Exception:  # noqa: BLE001 - any unreadable file gets the same plain answer
        return [], _("The file could not be read: use the CSV (UTF-8) or XLSX the bank exports.")
    missing = [c for c in COLUMNS if c not in (dataset.headers or [])]
    if missing:
        return [], _("The file lacks the column(s) %(columns)s.") % {"columns": "、".join(missing)}
    raw = [
        (index, cell_text(row[COL_STUDENT_NO]), cell_text(row[COL_AMOUNT]), cell_text(row[COL_REFERENCE]))
        for index, row in enumerate(dataset.dict, start=1)
        if any(cell_text(v) for v in row.values())
    ]
    if not raw:
        return [], _("The file has its column headers but no transfers.")
    # Only plausible values are looked up (a NUL character cannot even be sent to PostgreSQL).
    numbers = [r[1] for r in raw if "\x00" not in r[1]]
    references = [r[3] for r in raw if r[3] and "\x00" not in r[3]]
    students = {s.student_no: s for s in Student.objects.filter(school=term.school, student_no__in=numbers)}
    known_refs = set(Payment.objects.filter(reference__in=references).values_list("reference", flat=True))
    reference_limit = Payment._meta.get_field("reference").max_length
    rows, seen = [], set()
    for number, student_no, amount_text, reference in raw:
        error, amount = "", None
        try:
            amount = to_fen(Decimal(amount_text.replace(",", "")))
        except (InvalidOperation, ValueError):
            error = _("“%(value)s” is not an amount.") % {"value": amount_text}
        if not error and amount <= 0:
            error = _("The amount must be more than 0.00.")
        if not error and amount >= MAX_AMOUNT:
            error = _("“%(value)s” is far more than a fee: check the amount column.") % {"value": amount_text}
        student = students.get(student_no)
        if not error and student is None:
            error = _("No student with 学号 %(no)s.") % {"no": student_no}
        if not error and not reference:
            error = _("The bank reference (流水号) is empty.")
        if not error and (
            len(reference) > reference_limit or "\x00" in reference or reference.startswith(FORMULA_STARTS)
        ):
            error = _("The bank reference (流水号) “%(ref)s” is not one a bank gives.") % {"ref": reference[:30]}
        if not error and (reference in known_refs or reference in seen):
            error = _("Reference %(ref)s was already imported.") % {"ref": reference}
        seen.add(reference)
        rows.append(StatementRow(number, student_no, amount, reference, student, error))
    return rows, ""
