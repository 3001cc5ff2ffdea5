"""The monthly billing run, payments and refunds, statements and arrears."""

import calendar as _stdlib_calendar
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from enrollment.models import Application
from scheduling.calendar import HolidayCalendar
from scheduling.models import GroupMembership

from .fees import apply_waiver, monthly_half_rule_charge
from .models import BillingRun, ChargeLine, FeeStandard, LedgerEntry, Payment, ReceiptSequence, Refund, Waiver
from .money import to_fen

ZERO = to_fen(0)
ATTENDED = ("present", "late")  # safety.models.Attendance values that count as participation


@transaction.atomic
def billing_run(*, term, year: int, month: int, started_by=None, holiday_calendar=None) -> BillingRun:
    """Charge every placed child of ``term`` for the month, one line per child and item.

    Inputs are read fresh each time: roll call (present or late on statutory working days), the
    month's working days, the fee standard and approved waivers. Running the same month again
    writes nothing unless an input changed; then an adjustment line carries the difference, and no
    line is ever overwritten. A fixed number of queries, whatever the number of children.
    """
    from safety.models import RollCallEntry

    first, last = date(year, month, 1), date(year, month, _stdlib_calendar.monthrange(year, month)[1])
    if last < term.start or first > term.end:
        raise ValidationError(_("%(month)s is outside %(term)s.") % {"month": f"{year}-{month:02d}", "term": term})
    # One run per term at a time: a second one waits here and then sees the first one's lines.
    term.__class__.objects.select_for_update().filter(pk=term.pk).first()
    holiday_calendar = holiday_calendar or HolidayCalendar()
    workdays = set(holiday_calendar.workdays(first, last))  # raises UnknownHolidayYear, never guesses
    standards = [
        s
        for s in FeeStandard.objects.filter(term=term)
        if s.mode in (FeeStandard.Mode.MONTHLY_HALF, FeeStandard.Mode.TERM_FLAT)
    ]
    # Placed children, and children withdrawn after the month began (they pay for what they used).
    placed = set(
        Application.objects.filter(term=term)
        .filter(Q(status=Application.Status.PLACED) | Q(status=Application.Status.WITHDRAWN, withdrawn_on__gt=first))
        .values_list("student_id", flat=True)
    )
    # Children who took part at some point of the month (left after its first day, or not at all).
    members = set(
        GroupMembership.objects.filter(group__term=term, student_id__in=placed)
        .filter(Q(left_on__isnull=True) | Q(left_on__gt=first))
        .values_list("student_id", flat=True)
    )
    days = defaultdict(set)
    attended = RollCallEntry.objects.filter(
        roll_call__session__group__term=term,
        roll_call__session__date__gte=first,
        roll_call__session__date__lte=last,
        status__in=ATTENDED,
    ).values_list("student_id", "roll_call__session__date")
    for student_id, day in attended.distinct():
        if day in workdays:
            days[student_id].add(day)
    waivers = dict(
        Waiver.objects.filter(term=term, status=Waiver.Status.APPROVED, effective_from__lte=last).values_list(
            "student_id", "percent"
        )
    )
    charged = {
        (row["student_id"], row["standard_id"]): row["total"]
        for row in ChargeLine.objects.filter(term=term, month=first)
        .values("student_id", "standard_id")
        .annotate(total=Sum("amount"))
    }

    # A flat term fee is charged once, in the first month billed for the child.
    flat_charged = set(
        ChargeLine.objects.filter(term=term, standard__mode=FeeStandard.Mode.TERM_FLAT)
        .exclude(month=first)
        .values_list("student_id", "standard_id")
        .distinct()
    )
    run = BillingRun.objects.create(term=term, month=first, started_by=started_by)
    lines = []
    for student_id in sorted(members | {s for s, _std in charged}):
        for standard in standards:
            participation = len(days.get(student_id, ()))
            percent = waivers.get(student_id) or ZERO
            if student_id not in members:
                expected = ZERO  # withdrawn before the month: nothing is due
            elif standard.mode == FeeStandard.Mode.MONTHLY_HALF:
                expected = apply_waiver(
                    monthly_half_rule_charge(
                        standard.amount,
                        participation,
                        len(workdays),
                        exactly_half_is_full=standard.exactly_half_is_full,
                    ),
                    percent,
                )
            elif (student_id, standard.pk) in flat_charged:
                expected = ZERO  # TERM_FLAT, already charged in an earlier month
            else:  # TERM_FLAT: the whole term's fee, once
                expected = apply_waiver(standard.amount, percent)
            before = charged.get((student_id, standard.pk))
            if before is None and expected == ZERO:
                continue
            if before is not None and to_fen(before) == expected:
                continue
            lines.append(
                ChargeLine(
                    term=term, student_id=student_id, standard=standard, month=first,
                    kind=ChargeLine.Kind.CHARGE if before is None else ChargeLine.Kind.ADJUSTMENT,
                    fee=standard.amount, workdays=len(workdays), participation_days=participation,
                    waiver_percent=percent, amount=expected - to_fen(before or 0), run=run,
                )
            )  # fmt: skip
    ChargeLine.objects.bulk_create(lines)
    total = to_fen(sum((line.amount for line in lines), ZERO))
    if total != ZERO:
        # The fee income of the month in the special-account ledger moves with the charges, so the
        # ledger and the charge export always agree to the fen.
        LedgerEntry.objects.create(
            school_id=term.school_id, date=last, kind=LedgerEntry.Kind.INCOME, category=LedgerEntry.Category.FEES,
            amount=total, voucher_no=f"FEE-{first:%Y%m}-{run.pk}", run=run, recorded_by=started_by,
            description=_("Service fees %(month)s (billing run %(run)s)") % {"month": f"{first:%Y-%m}", "run": run.pk},
        )  # fmt: skip
    run.charges = sum(1 for line in lines if line.kind == ChargeLine.Kind.CHARGE)
    run.adjustments = len(lines) - run.charges
    run.save(update_fields=["charges", "adjustments"])
    return run


# -- payments, refunds, balances ----------------------------------------------------------------


def school_year(day: date) -> int:
    """The school year a date belongs to, named by the year it starts in (September)."""
    return day.year if day.month >= 8 else day.year - 1


def _next_receipt_no(*, school, year: int) -> str:
    """Take the school year's next receipt number inside the caller's transaction. The sequence
    row is locked, so concurrent posts queue and the numbers have no gaps; a rolled-back post
    gives its number back."""
    ReceiptSequence.objects.get_or_create(school=school, year=year)
    sequence = ReceiptSequence.objects.select_for_update().get(school=school, year=year)
    sequence.last += 1
    sequence.save(update_fields=["last"])
    return f"{year}-{sequence.last:06d}"


@transaction.atomic
def payment_post(*, term, student, amount, method: str, received_by, paid_at=None, reference: str = "") -> Payment:
    amount = to_fen(amount)
    if amount <= 0:
        raise ValidationError(_("A payment must be more than 0.00 yuan."))
    if student.school_id != term.school_id:
        raise ValidationError(_("The student is not at this term's school."))
    paid_at = paid_at or timezone.now()
    payment = Payment(
        school_id=term.school_id, term=term, student=student, amount=amount, method=method, paid_at=paid_at,
        reference=reference.strip(), received_by=received_by,
        receipt_no=_next_receipt_no(school=term.school, year=school_year(term.start)),
    )  # fmt: skip
    payment.full_clean()
    payment.save()
    return payment


@transaction.atomic
def refund_post(*, term, student, amount, reason: str, refunded_by, refunded_at=None) -> Refund:
    amount = to_fen(amount)
    if amount <= 0:
        raise ValidationError(_("A refund must be more than 0.00 yuan."))
    if student.school_id != term.school_id:
        raise ValidationError(_("The student is not at this term's school."))
    if not reason.strip():
        raise ValidationError(_("Give the reason for the refund."))
    refund = Refund(
        school_id=term.school_id, term=term, student=student, amount=amount, reason=reason.strip(),
        refunded_by=refunded_by, refunded_at=refunded_at or timezone.now(),
        receipt_no=_next_receipt_no(school=term.school, year=school_year(term.start)),
    )  # fmt: skip
    refund.full_clean()
    refund.save()
    return refund


@dataclass
class Statement:
    charges: list
    payments: list
    refunds: list

    @property
    def charged(self):
        return to_fen(sum((line.amount for line in self.charges), ZERO))

    @property
    def paid(self):
        return to_fen(sum((p.amount for p in self.payments), ZERO))

    @property
    def refunded(self):
        return to_fen(sum((r.amount for r in self.refunds), ZERO))

    @property
    def balance(self):
        """What the family still owes (negative: money the school owes back)."""
        return self.charged - self.paid + self.refunded


def statement_for(*, student, term) -> Statement:
    return Statement(
        charges=list(
            ChargeLine.objects.filter(student=student, term=term)
            .select_related("standard")
            .order_by("month", "created_at")
        ),
        payments=list(Payment.objects.filter(student=student, term=term).order_by("paid_at")),
        refunds=list(Refund.objects.filter(student=student, term=term).order_by("refunded_at")),
    )


def _balances(term) -> list[tuple]:
    """Every child with money movements in ``term``: (student, charged, paid, refunded, owed),
    owed being negative when the school owes the family. Four queries."""
    from enrollment.models import Student

    def totals(queryset):
        return {
            row["student_id"]: to_fen(row["total"])
            for row in queryset.values("student_id").annotate(total=Sum("amount"))
        }

    charged = totals(ChargeLine.objects.filter(term=term))
    paid = totals(Payment.objects.filter(term=term))
    refunded = totals(Refund.objects.filter(term=term))
    ids = set(charged) | set(paid) | set(refunded)
    students = Student.objects.filter(pk__in=ids).select_related("homeroom__grade").in_bulk()
    rows = []
    for sid in ids:
        c, p, r = charged.get(sid, ZERO), paid.get(sid, ZERO), refunded.get(sid, ZERO)
        rows.append((students[sid], c, p, r, c - p + r))
    return rows


def arrears(*, term) -> list[tuple]:
    """Children who owe money for ``term``: (student, charged, paid, refunded, owed), largest first."""
    rows = [row for row in _balances(term) if row[4] > 0]
    return sorted(rows, key=lambda row: (-row[4], row[0].student_no))


def settlement_list(*, term) -> list[tuple]:
    """结余退还: children the school owes money for ``term`` (paid more than charged — a withdrawal,
    a half month, a waiver): (student, charged, paid, refunded, to refund)."""
    rows = [(*row[:4], -row[4]) for row in _balances(term) if row[4] < 0]
    return sorted(rows, key=lambda row: row[0].student_no)


@transaction.atomic
def waiver_request(*, term, student, guardian, category: str, evidence) -> Waiver:
    """A guardian asks for a hardship waiver with evidence; the school decides in the admin."""
    waiver = Waiver.objects.select_for_update().filter(term=term, student=student).first()
    if waiver is not None and waiver.status != Waiver.Status.REQUESTED:
        raise ValidationError(_("The school has already decided on this term's waiver request."))
    waiver = waiver or Waiver(term=term, student=student)
    waiver.category, waiver.requested_by = category, guardian
    if evidence:
        waiver.evidence = evidence
    if not waiver.evidence:
        raise ValidationError({"evidence": _("Attach the evidence (a photo or a PDF of the certificate).")})
    waiver.full_clean()
    waiver.save()
    return waiver


@dataclass
class LedgerTotals:
    income: dict  # category label → amount
    expenses: dict
    waived: Decimal
    opening: Decimal

    @property
    def total_income(self):
        return to_fen(sum(self.income.values(), ZERO))

    @property
    def total_expenses(self):
        return to_fen(sum(self.expenses.values(), ZERO))

    @property
    def closing(self):
        return self.opening + self.total_income - self.total_expenses


def ledger_totals(*, school, first: date, last: date) -> LedgerTotals:
    """Income and expenses of the special account between two dates, with the balance carried in
    and the waivers granted (what the monthly 收支公示 and the term-end 收支清单 show)."""
    entries = LedgerEntry.objects.filter(school=school)
    before = entries.filter(date__lt=first).values("kind").annotate(total=Sum("amount"))
    carried = {row["kind"]: to_fen(row["total"]) for row in before}
    opening = carried.get(LedgerEntry.Kind.INCOME, ZERO) - carried.get(LedgerEntry.Kind.EXPENSE, ZERO)
    income, expenses = {}, {}
    for row in entries.filter(date__gte=first, date__lte=last).values("kind", "category").annotate(total=Sum("amount")):
        label = str(LedgerEntry.Category(row["category"]).label)
        (income if row["kind"] == LedgerEntry.Kind.INCOME else expenses)[label] = to_fen(row["total"])
    # Waived amounts: the full fee of the waived lines minus what was charged.
    waived = ZERO
    for line in ChargeLine.objects.filter(
        term__school=school, month__gte=first.replace(day=1), month__lte=last
    ).exclude(waiver_percent=0):
        full = monthly_half_rule_charge(line.fee, line.participation_days, line.workdays)
        waived += full - line.amount if line.kind == ChargeLine.Kind.CHARGE else ZERO
    return LedgerTotals(income=income, expenses=expenses, waived=to_fen(waived), opening=opening)
