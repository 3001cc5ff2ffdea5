"""课后服务补助分配: the teachers' monthly subsidy, as the seed's plan (学校课后服务补助分配方案) reads.

General service payout (一般性服务支出):
- periods taught in the month (sessions whose roll call was taken) × the period rate (20 元);
- safety-zone duty (区域安全管理): breaks covered × the break rate (10 元);
- administrative duty (行政值班): the admin share (8%) of the two above, converted to periods at
  7 元 (whole periods; what does not make a whole period is not paid out) and shared among the
  administrators by their duty days.

Performance deductions (绩效考核), from recorded events:
- an unexcused missed session: the whole month;
- early leave and handover violations: 10% each, the whole month from the third in a month;
- a verified parent complaint: 10–100% as decided;
- a major safety accident: 50–100% of the term's pay — in its month, of the term's pay so far;
  in the term's later months, of each month's pay.
A month's deductions never exceed its pay.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Sum
from django.db.models.functions import TruncMonth
from django.utils.translation import gettext as _

from enrollment.models import Term, User
from scheduling.models import Session

from .models import DutyShift, LedgerEntry, PerformanceEvent, SubsidyRates
from .money import to_fen

ZERO = to_fen(0)
HUNDRED = Decimal(100)


@dataclass
class _Figures:
    periods: int = 0
    breaks: int = 0
    admin_days: int = 0
    admin_periods: int = 0


@dataclass
class PayrollRow:
    teacher: object
    periods: int
    breaks: int
    admin_days: int
    admin_periods: int
    teaching_pay: Decimal
    duty_pay: Decimal
    admin_pay: Decimal
    deduction: Decimal
    reasons: list = field(default_factory=list)

    @property
    def name(self):
        return str(self.teacher)

    @property
    def gross(self):
        return self.teaching_pay + self.duty_pay + self.admin_pay

    @property
    def net(self):
        return self.gross - self.deduction

    @property
    def reason_text(self):
        return "；".join(self.reasons)


@dataclass
class Payroll:
    school: object
    month: date
    last: date
    rates: SubsidyRates
    rows: list
    general_payout: Decimal
    admin_pool: Decimal
    admin_periods: int

    @property
    def voucher_no(self):
        return f"SUB-{self.month:%Y%m}"

    @property
    def total_gross(self):
        return to_fen(sum((row.gross for row in self.rows), ZERO))

    @property
    def total_deduction(self):
        return to_fen(sum((row.deduction for row in self.rows), ZERO))

    @property
    def total_net(self):
        return to_fen(sum((row.net for row in self.rows), ZERO))


def apportion(total: int, weights: dict) -> dict:
    """Share ``total`` whole units by ``weights`` (largest remainder; ties to the lower key), so the
    shares add up to ``total`` exactly."""
    weight_sum = sum(weights.values())
    if total <= 0 or weight_sum <= 0:
        return {key: 0 for key in weights}
    shares = {key: total * weight // weight_sum for key, weight in weights.items()}
    left = total - sum(shares.values())
    by_remainder = sorted(weights, key=lambda key: (-(total * weights[key] % weight_sum), key))
    for key in by_remainder[:left]:
        shares[key] += 1
    return shares


def _month_figures(school, first: date, last: date, rates) -> dict:
    """{month: {teacher id: _Figures}} for the months between ``first`` and ``last``. Two queries."""

    figures = defaultdict(lambda: defaultdict(_Figures))
    taught = (
        Session.objects.filter(group__term__school=school, date__gte=first, date__lte=last, roll_call_at__isnull=False)
        .annotate(month=TruncMonth("date"))
        .values_list("month", "teacher_id")
        .annotate(n=Count("pk"))
    )
    for month, teacher_id, count in taught:
        figures[month][teacher_id].periods = count
    duty = (
        DutyShift.objects.filter(school=school, date__gte=first, date__lte=last)
        .annotate(month=TruncMonth("date"))
        .values_list("month", "teacher_id", "kind")
        .annotate(days=Count("pk"), breaks=Sum("breaks"))
    )
    for month, teacher_id, kind, days, breaks in duty:
        if kind == DutyShift.Kind.SAFETY_ZONE:
            figures[month][teacher_id].breaks = breaks
        else:
            figures[month][teacher_id].admin_days = days
    for per_teacher in figures.values():
        general = sum(f.periods * rates.period_rate + f.breaks * rates.break_rate for f in per_teacher.values())
        pool = to_fen(general * rates.admin_share / HUNDRED)
        shares = apportion(int(pool // rates.admin_period_rate), {t: f.admin_days for t, f in per_teacher.items()})
        for teacher_id, share in shares.items():
            per_teacher[teacher_id].admin_periods = share
    return figures


def _pay(figures: _Figures, rates) -> Decimal:
    return to_fen(
        figures.periods * rates.period_rate
        + figures.breaks * rates.break_rate
        + figures.admin_periods * rates.admin_period_rate
    )


def _month_percent(events, rates) -> tuple[Decimal, list]:
    """The share of the month's pay that the month's events deduct, and the reasons."""
    Kind = PerformanceEvent.Kind
    by_kind = defaultdict(list)
    for event in events:
        by_kind[event.kind].append(event)
    percent, reasons = Decimal(0), []
    if by_kind[Kind.MISSED_SESSION]:
        percent = HUNDRED
        reasons.append(_("unexcused missed session ×%(n)s: 100%%") % {"n": len(by_kind[Kind.MISSED_SESSION])})
    for kind, each in ((Kind.EARLY_LEAVE, rates.early_leave_percent), (Kind.HANDOVER, rates.handover_percent)):
        count = len(by_kind[kind])
        if count:
            share = HUNDRED if count >= rates.repeat_limit else each * count
            percent += share
            reasons.append(f"{Kind(kind).label} ×{count}: {share.normalize():f}%")
    for event in by_kind[Kind.COMPLAINT]:
        percent += event.percent
        reasons.append(f"{Kind.COMPLAINT.label}: {event.percent.normalize():f}%")
    return min(percent, HUNDRED), reasons


def subsidy_payroll(*, school, year: int, month: int) -> Payroll:
    """The month's subsidy for every teacher with periods, duty or events; a fixed number of
    queries whatever the number of teachers."""
    import calendar

    first = date(year, month, 1)
    last = date(year, month, calendar.monthrange(year, month)[1])
    rates, _created = SubsidyRates.objects.get_or_create(school=school)
    term = Term.objects.filter(school=school, start__lte=last, end__gte=first).order_by("start").first()
    term_first = term.start.replace(day=1) if term else first
    figures = _month_figures(school, term_first, last, rates)
    this_month = figures.get(first, {})
    events = list(
        PerformanceEvent.objects.filter(school=school, date__gte=term_first, date__lte=last).order_by("date", "pk")
    )
    month_events, accidents = defaultdict(list), defaultdict(list)
    for event in events:
        if event.kind == PerformanceEvent.Kind.MAJOR_ACCIDENT:
            accidents[event.teacher_id].append(event)
        elif event.date >= first:
            month_events[event.teacher_id].append(event)
    teacher_ids = (
        set(this_month) | set(month_events) | {t for t, evs in accidents.items() if any(e.date >= first for e in evs)}
    )
    teachers = User.objects.in_bulk(teacher_ids)
    rows = []
    for teacher_id in teacher_ids:
        mine = this_month.get(teacher_id, _Figures())
        pay = _pay(mine, rates)
        percent, reasons = _month_percent(month_events.get(teacher_id, ()), rates)
        deduction = to_fen(pay * percent / HUNDRED)
        for accident in accidents.get(teacher_id, ()):
            if accident.date >= first:  # its month: the term's pay so far
                base = to_fen(sum((_pay(f[teacher_id], rates) for f in figures.values() if teacher_id in f), ZERO))
            else:  # a later month of the term
                base = pay
            deduction += to_fen(base * accident.percent / HUNDRED)
            reasons.append(
                _("%(kind)s on %(date)s: %(percent)s%% of %(base)s")
                % {
                    "kind": PerformanceEvent.Kind.MAJOR_ACCIDENT.label,
                    "date": accident.date,
                    "percent": f"{accident.percent.normalize():f}",
                    "base": base,
                }
            )
        rows.append(
            PayrollRow(
                teacher=teachers[teacher_id], periods=mine.periods, breaks=mine.breaks, admin_days=mine.admin_days,
                admin_periods=mine.admin_periods, teaching_pay=to_fen(mine.periods * rates.period_rate),
                duty_pay=to_fen(mine.breaks * rates.break_rate),
                admin_pay=to_fen(mine.admin_periods * rates.admin_period_rate),
                deduction=min(deduction, pay), reasons=reasons,
            )
        )  # fmt: skip
    rows.sort(key=lambda row: (row.name, row.teacher.pk))
    general = to_fen(sum((row.teaching_pay + row.duty_pay for row in rows), ZERO))
    pool = to_fen(general * rates.admin_share / HUNDRED)
    return Payroll(
        school=school, month=first, last=last, rates=rates, rows=rows, general_payout=general, admin_pool=pool,
        admin_periods=sum(row.admin_periods for row in rows),
    )  # fmt: skip


@transaction.atomic
def payroll_record(*, payroll: Payroll, recorded_by) -> LedgerEntry:
    """Book the month's net subsidy as a teacher-remuneration expense of the special account, once."""
    if LedgerEntry.objects.filter(school=payroll.school, voucher_no=payroll.voucher_no).exists():
        raise ValidationError(
            _("The subsidy of %(month)s is already in the ledger.") % {"month": f"{payroll.month:%Y-%m}"}
        )
    if payroll.total_net <= 0:
        raise ValidationError(_("There is no subsidy to book for %(month)s.") % {"month": f"{payroll.month:%Y-%m}"})
    return LedgerEntry.objects.create(
        school=payroll.school, date=payroll.last, kind=LedgerEntry.Kind.EXPENSE,
        category=LedgerEntry.Category.TEACHER_PAY, amount=payroll.total_net, voucher_no=payroll.voucher_no,
        description=_("After-school subsidy %(month)s, %(n)s teachers")
        % {"month": f"{payroll.month:%Y-%m}", "n": len(payroll.rows)},
        recorded_by=recorded_by,
    )  # fmt: skip
