"""The monthly billing run, payments and refunds, statements and arrears."""

import calendar as _stdlib_calendar
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from functools import cached_property

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Min, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from enrollment.documents import document_request
from enrollment.models import Application, Document, Student
from safety.models import ATTENDED, RollCallEntry
from scheduling.calendar import HolidayCalendar, service_days
from scheduling.models import GroupMembership, TimetableSlot
from scheduling.selectors import membership_during

from .fees import apply_waiver, daily_prepaid_settlement, monthly_half_rule_charge, term_flat_settlement
from .models import BillingRun, ChargeLine, FeeStandard, LedgerEntry, Payment, ReceiptSequence, Refund, Waiver
from .money import to_fen

ZERO = to_fen(0)


# Which choice on the application makes a child take part in a fee item.
ITEM_SLOTS = {
    FeeStandard.Item.AFTER_SCHOOL: "slot_after_school",
    FeeStandard.Item.EARLY_ARRIVAL: "slot_early",
    FeeStandard.Item.LUNCH: "slot_midday",
    FeeStandard.Item.EVENING: "slot_evening",
}


@dataclass(frozen=True)
class _Due:
    """What a child owes for one item: the inputs and the result (before and after the waiver)."""

    gross: Decimal
    workdays: int
    participation_days: int
    periods: int = 1
    settled: bool = False


@dataclass
class _RunInputs:
    """Everything a run reads, fetched with a fixed number of queries."""

    first: date
    last: date
    month_workdays: int
    members: set  # children served at some point of the month
    chosen: dict  # student id → the items the family chose
    exits: dict  # student id → first day without service, for withdrawn children
    month_days: dict  # student id → days attended this month (statutory working days)
    term_days: dict  # student id → days attended in the term so far
    periods: dict  # student id → periods a day in the timetable
    waivers: dict  # student id → waived percent in force by the month's end (monthly items)
    term_waivers: dict  # student id → approved waived percent (once-a-term items: the whole fee)
    today: date
    term: object
    holiday_calendar: HolidayCalendar

    @cached_property
    def service_days(self) -> list:
        """The term's service days, for pro-rata settlement: read only when a child leaves (the
        whole term's calendar must be known then)."""

        return service_days(self.term, holiday_calendar=self.holiday_calendar)


def _run_inputs(term, first, last, standards, holiday_calendar) -> _RunInputs:

    modes = {s.mode for s in standards}
    month_workdays = set(holiday_calendar.workdays(first, last))  # raises UnknownHolidayYear, never guesses
    slot_fields = list(ITEM_SLOTS.values())
    chosen, exits, placed = {}, {}, set()
    applications = Application.objects.filter(
        term=term, status__in=[Application.Status.PLACED, Application.Status.WITHDRAWN]
    ).values_list("student_id", "status", "withdrawn_on", *slot_fields)
    for student_id, status, withdrawn_on, *slots in applications:
        chosen[student_id] = {item for item, on in zip(ITEM_SLOTS, slots, strict=True) if on}
        if status == Application.Status.WITHDRAWN:
            if withdrawn_on is None:
                continue  # withdrawn before being placed: never served
            exits[student_id] = withdrawn_on
            if withdrawn_on <= first:
                continue  # left before the month
        placed.add(student_id)
    memberships = list(
        GroupMembership.objects.filter(
            membership_during(first, last), group__term=term, student_id__in=placed
        ).values_list("student_id", "group_id", "left_on")
    )
    attended = RollCallEntry.objects.filter(roll_call__session__group__term=term, status__in=ATTENDED)
    # Counted by the database: one row per child, not one per child and day.
    month_days = dict(
        attended.filter(roll_call__session__date__in=sorted(month_workdays))
        .values("student_id")
        .annotate(days=Count("roll_call__session__date", distinct=True))
        .values_list("student_id", "days")
    )
    term_days = {}
    if FeeStandard.Mode.DAILY_PREPAID in modes:
        # Every day of service attended in the term so far (sessions exist on service days only).
        term_days = dict(
            attended.values("student_id")
            .annotate(days=Count("roll_call__session__date", distinct=True))
            .values_list("student_id", "days")
        )
    periods = {}
    if FeeStandard.Mode.PER_PERIOD_DAY in modes:
        per_group = defaultdict(lambda: defaultdict(int))
        for group_id, weekday, count in (
            TimetableSlot.objects.filter(group__term=term).values("group_id", "weekday").annotate(n=Count("pk"))
        ).values_list("group_id", "weekday", "n"):
            per_group[group_id][weekday] = count
        # The groups a child is in at the month's end (a child who changed group counts once).
        at_end = {(sid, gid) for sid, gid, left_on in memberships if left_on is None or left_on > last}
        still_in = {sid for sid, _gid in at_end}
        counted = at_end | {(sid, gid) for sid, gid, _left in memberships if sid not in still_in}
        per_student = defaultdict(lambda: defaultdict(int))
        for student_id, group_id in counted:
            for weekday, count in per_group[group_id].items():
                per_student[student_id][weekday] += count
        periods = {sid: max(days.values(), default=0) for sid, days in per_student.items()}
    approved = list(
        Waiver.objects.filter(term=term, status=Waiver.Status.APPROVED).values_list(
            "student_id", "percent", "effective_from"
        )
    )
    return _RunInputs(
        first=first,
        last=last,
        month_workdays=len(month_workdays),
        members={student_id for student_id, _group, _left in memberships},
        chosen=chosen,
        exits=exits,
        month_days=month_days,
        term_days=term_days,
        periods=periods,
        waivers={sid: percent for sid, percent, since in approved if since <= last},
        term_waivers={sid: percent for sid, percent, _since in approved},
        today=timezone.localdate(),
        term=term,
        holiday_calendar=holiday_calendar,
    )


def _due(standard, student_id, inputs: _RunInputs, *, first_billed: date | None) -> _Due | None:
    """What ``student_id`` owes for ``standard``: for a monthly item, for the month; for a
    once-a-term item, for the whole term as known now (so running any month again agrees with the
    others). None when nothing is due. ``first_billed`` is the first month the item was charged."""
    Mode = FeeStandard.Mode
    if standard.item not in inputs.chosen.get(student_id, ()):
        return None  # the family did not choose this service
    active = student_id in inputs.members
    if standard.mode == Mode.MONTHLY_HALF:
        if not active:
            return None
        days = inputs.month_days.get(student_id, 0)
        gross = monthly_half_rule_charge(
            standard.amount, days, inputs.month_workdays, exactly_half_is_full=standard.exactly_half_is_full
        )
        return _Due(gross, inputs.month_workdays, days)
    if not (active or first_billed):
        return None
    # Settled once the child has left: by the end of the month billed, or by today.
    exit_day = inputs.exits.get(student_id)
    left = exit_day is not None and exit_day <= max(inputs.last + timedelta(days=1), inputs.today)
    if standard.mode == Mode.DAILY_PREPAID:
        served = inputs.term_days.get(student_id, 0)
        term_over = max(inputs.last, inputs.today) >= standard.term.end
        if left or term_over:  # withdrawal, or the term's end
            charge, _refund = daily_prepaid_settlement(standard.amount, standard.prepaid_days, served)
            return _Due(charge, standard.prepaid_days, served, settled=True)
        return _Due(to_fen(standard.amount * standard.prepaid_days), standard.prepaid_days, standard.prepaid_days)
    periods = max(inputs.periods.get(student_id, 1), 1) if standard.mode == Mode.PER_PERIOD_DAY else 1
    fee = to_fen(standard.amount * periods)
    if left:
        # Pro rata over the service days from the child's first month billed to the term's end.
        start = max(first_billed or inputs.first, standard.term.start)
        days = [day for day in inputs.service_days if day >= start]
        if days:
            served = sum(1 for day in days if day < exit_day)
            charge, _refund = term_flat_settlement(fee, len(days), served)
            return _Due(charge, len(days), served, periods, settled=True)
    return _Due(fee, 0, 0, periods)


@transaction.atomic
def billing_run(*, term, year: int, month: int, started_by=None, holiday_calendar=None) -> BillingRun:
    """Charge every placed child of ``term`` for the month, one line per child and item chosen.

    Monthly items follow the half-month rule on the month's roll call; once-a-term items (flat,
    per period a day, prepaid daily rate) are charged in the first month billed and settled by
    participation in the month the child leaves (and, for the prepaid rate, in the term's last
    month). Inputs are read fresh each time: roll call (present or late on statutory working days),
    the calendar, the fee standards and approved waivers. Running the same month again writes
    nothing unless an input changed; then an adjustment line carries the difference, and no line
    is ever overwritten. A fixed number of queries, whatever the number of children.
    """
    first, last = date(year, month, 1), date(year, month, _stdlib_calendar.monthrange(year, month)[1])
    if last < term.start or first > term.end:
        raise ValidationError(_("%(month)s is outside %(term)s.") % {"month": f"{year}-{month:02d}", "term": term})
    # One run per term at a time: a second one waits here and then sees the first one's lines.
    term.__class__.objects.select_for_update().filter(pk=term.pk).first()
    standards = list(FeeStandard.objects.filter(term=term))
    for standard in standards:
        standard.term = term
    inputs = _run_inputs(term, first, last, standards, holiday_calendar or HolidayCalendar())

    def sums(queryset):
        return {
            (row["student_id"], row["standard_id"]): (to_fen(row["amount"]), to_fen(row["waived"]), row["first"])
            for row in queryset.values("student_id", "standard_id").annotate(
                amount=Sum("amount"), waived=Sum("waived"), first=Min("month")
            )
        }

    lines_of_term = ChargeLine.objects.filter(term=term)
    this_month = sums(lines_of_term.filter(month=first))
    # Once-a-term items are compared with all their lines, whatever month they were written in.
    whole_term = sums(lines_of_term.filter(standard__in=[s for s in standards if s.once_a_term]))
    run = BillingRun.objects.create(term=term, month=first, started_by=started_by)
    lines = []
    candidates = inputs.members | {sid for sid, _std in this_month} | {sid for sid, _std in whole_term}
    for student_id in sorted(candidates):
        for standard in standards:
            key = (student_id, standard.pk)
            if standard.once_a_term:
                percent = inputs.term_waivers.get(student_id) or ZERO
                so_far = whole_term.get(key)
                due = _due(standard, student_id, inputs, first_billed=so_far[2] if so_far else None)
            else:
                percent = inputs.waivers.get(student_id) or ZERO
                so_far = this_month.get(key)
                due = _due(standard, student_id, inputs, first_billed=None)
            amount = waived = ZERO
            if due is not None:
                amount = apply_waiver(due.gross, percent)
                waived = due.gross - amount
            done_amount, done_waived, _first = so_far or (ZERO, ZERO, None)
            if (so_far is None and amount == waived == ZERO) or (done_amount, done_waived) == (amount, waived):
                continue
            due = due or _Due(ZERO, inputs.month_workdays, 0)
            lines.append(
                ChargeLine(
                    term=term, student_id=student_id, standard=standard, month=first,
                    kind=ChargeLine.Kind.CHARGE if so_far is None else ChargeLine.Kind.ADJUSTMENT,
                    fee=standard.amount, workdays=due.workdays, participation_days=due.participation_days,
                    periods=due.periods, settled=due.settled, waiver_percent=percent,
                    amount=amount - done_amount, waived=waived - done_waived, run=run,
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


@transaction.atomic
def settlement_refund(*, term, student, refunded_by) -> Refund:
    """结余退还: pay back what the family paid beyond its charges. The school year's receipt
    sequence is locked first, so two clicks (or two cashiers) cannot both pay the same balance."""
    year = school_year(term.start)
    ReceiptSequence.objects.get_or_create(school=term.school, year=year)
    ReceiptSequence.objects.select_for_update().get(school=term.school, year=year)
    balance = statement_for(student=student, term=term).balance
    if balance >= 0:
        raise ValidationError(_("Nothing is due to this child any more."))
    return refund_post(
        term=term, student=student, amount=-balance, refunded_by=refunded_by,
        reason=_("Balance refunded at settlement (结余退还)"),
    )  # fmt: skip


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
    # Waivers granted: what the lines of these months took off the fees.
    waived = ChargeLine.objects.filter(term__school=school, month__gte=first.replace(day=1), month__lte=last).aggregate(
        total=Sum("waived")
    )["total"]
    return LedgerTotals(income=income, expenses=expenses, waived=to_fen(waived or 0), opening=opening)


def disclosure_publish(*, school, year: int, month: int, requested_by=None):
    """The month's income and expense disclosure PDF (每月收支公示), once: asking again returns the
    document already made or on its way (a failed one is made again)."""

    label = f"{year}-{month:02d}"
    existing = (
        Document.objects.filter(school=school, kind=Document.Kind.DISCLOSURE, params__month=label)
        .exclude(status=Document.Status.FAILED)
        .first()
    )
    if existing is not None:
        return existing
    return document_request(
        kind=Document.Kind.DISCLOSURE, school=school, subject=school, params={"month": label},
        title=_("Income and expense disclosure %(month)s") % {"month": label}, requested_by=requested_by,
    )  # fmt: skip
