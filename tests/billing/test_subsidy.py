"""课后服务补助分配: periods taught, safety-zone and administrative duty, deductions, the payroll
page, its downloads and its booking in the special-account ledger."""

import csv
import io
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import openpyxl
import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from billing.models import DutyShift, LedgerEntry, PerformanceEvent, SubsidyRates
from billing.subsidy import apportion, payroll_record, subsidy_payroll
from tests.enrollment.factories import TermFactory, UserFactory
from tests.scheduling.factories import ServiceGroupFactory, SlotFactory, sessions_on

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def term(school):
    return TermFactory(school=school, start=date(2026, 9, 1), end=date(2027, 1, 22))


def _teacher(name):
    return UserFactory(username=name, first_name=name, last_name="")


def _sessions(term, teacher, first_day: date, count: int, *, roll_call=True):
    """``count`` one-period sessions of ``teacher`` on the days from ``first_day``."""
    group = ServiceGroupFactory(term=term, teacher=teacher)
    slot = SlotFactory(group=group, teacher=teacher)
    taken = timezone.make_aware(datetime.combine(first_day, time(16, 5))) if roll_call else None
    sessions_on(slot, [first_day + timedelta(days=n) for n in range(count)], teacher=teacher, roll_call_at=taken)


def _duty(school, teacher, kind, days, breaks=1, start=date(2026, 10, 12)):
    for n in range(days):
        DutyShift.objects.create(
            school=school, teacher=teacher, kind=kind, date=start + timedelta(days=n), breaks=breaks
        )


def _event(school, teacher, kind, day=date(2026, 10, 14), percent=None):
    return PerformanceEvent.objects.create(
        school=school, teacher=teacher, kind=kind, date=day, percent=percent, description="记录"
    )


@pytest.fixture
def october(school, term):
    """Two teachers, two administrators on duty, and the seed's deductions, in October 2026."""
    people = {name: _teacher(name) for name in ("王芳", "李强", "赵校长", "钱主任")}
    _sessions(term, people["王芳"], date(2026, 10, 8), 16)
    _sessions(term, people["王芳"], date(2026, 10, 8), 3, roll_call=False)  # no roll call: not proven held
    _sessions(term, people["李强"], date(2026, 10, 8), 10)
    _sessions(term, people["李强"], date(2026, 9, 7), 5)  # September: not this month's
    _duty(school, people["王芳"], DutyShift.Kind.SAFETY_ZONE, 2, breaks=2)
    _duty(school, people["赵校长"], DutyShift.Kind.ADMIN, 2)
    _duty(school, people["钱主任"], DutyShift.Kind.ADMIN, 1)
    _event(school, people["王芳"], PerformanceEvent.Kind.EARLY_LEAVE)
    _event(school, people["王芳"], PerformanceEvent.Kind.EARLY_LEAVE, day=date(2026, 10, 20))
    for day in (13, 14, 15):
        _event(school, people["李强"], PerformanceEvent.Kind.HANDOVER, day=date(2026, 10, day))
    _event(school, people["钱主任"], PerformanceEvent.Kind.COMPLAINT, percent=D("30"))
    return people


def test_the_payroll_follows_the_seeds_plan(school, october):
    payroll = subsidy_payroll(school=school, year=2026, month=10)

    rows = {row.name: row for row in payroll.rows}
    wang, li, zhao, qian = (rows[n] for n in ("王芳", "李强", "赵校长", "钱主任"))
    # 16 periods × 20 + 4 breaks × 10; two early leaves: 20% off.
    assert (wang.periods, wang.teaching_pay, wang.breaks, wang.duty_pay) == (16, D("320.00"), 4, D("40.00"))
    assert (wang.gross, wang.deduction, wang.net) == (D("360.00"), D("72.00"), D("288.00"))
    # Three handover violations in a month: the whole month.
    assert (li.periods, li.gross, li.deduction, li.net) == (10, D("200.00"), D("200.00"), D("0.00"))
    # General payout 320 + 40 + 200 = 560; 8% = 44.80 → 6 whole periods at 7 元, shared 2 : 1 by duty days.
    assert (payroll.general_payout, payroll.admin_pool, payroll.admin_periods) == (D("560.00"), D("44.80"), 6)
    assert (zhao.admin_periods, zhao.admin_pay, zhao.net) == (4, D("28.00"), D("28.00"))
    assert (qian.admin_periods, qian.admin_pay, qian.deduction, qian.net) == (2, D("14.00"), D("4.20"), D("9.80"))
    assert payroll.total_net == D("325.80")
    assert "早退 ×2: 20%" in wang.reason_text


def test_an_unexcused_missed_session_costs_the_month(school, term):
    teacher = _teacher("孙老师")
    _sessions(term, teacher, date(2026, 10, 8), 12)
    _event(school, teacher, PerformanceEvent.Kind.MISSED_SESSION)
    _event(school, teacher, PerformanceEvent.Kind.EARLY_LEAVE)

    (row,) = subsidy_payroll(school=school, year=2026, month=10).rows

    assert (row.gross, row.deduction, row.net) == (D("240.00"), D("240.00"), D("0.00"))


def test_a_major_accident_takes_its_share_of_the_terms_pay(school, term):
    teacher = _teacher("周老师")
    _sessions(term, teacher, date(2026, 9, 7), 10)  # September: 200
    _sessions(term, teacher, date(2026, 10, 8), 20)  # October: 400
    _sessions(term, teacher, date(2026, 11, 2), 10)  # November: 200
    _event(school, teacher, PerformanceEvent.Kind.MAJOR_ACCIDENT, day=date(2026, 10, 20), percent=D("50"))

    september, october, november = (subsidy_payroll(school=school, year=2026, month=m).rows[0] for m in (9, 10, 11))

    assert (september.net, september.deduction) == (D("200.00"), D("0.00"))
    assert (october.gross, october.deduction, october.net) == (D("400.00"), D("300.00"), D("100.00"))  # 50% of 600
    assert (november.gross, november.deduction) == (D("200.00"), D("100.00"))  # 50% of the month, later in the term


def test_rates_are_the_schools_own(school, october):
    SubsidyRates.objects.create(school=school, period_rate=D("25.00"), break_rate=D("12.00"), admin_share=D("0"))

    rows = {row.name: row for row in subsidy_payroll(school=school, year=2026, month=10).rows}

    assert (rows["王芳"].teaching_pay, rows["王芳"].duty_pay, rows["赵校长"].admin_pay) == (
        D("400.00"),
        D("48.00"),
        D("0.00"),
    )


def test_apportion_adds_up_exactly():
    assert apportion(6, {1: 2, 2: 1}) == {1: 4, 2: 2}
    assert apportion(7, {1: 1, 2: 1, 3: 1}) == {1: 3, 2: 2, 3: 2}
    assert apportion(5, {1: 0, 2: 0}) == {1: 0, 2: 0}
    assert sum(apportion(1000, {n: n for n in range(1, 30)}).values()) == 1000


@pytest.mark.parametrize(
    ("kind", "percent", "ok"),
    [
        ("complaint", None, False),
        ("complaint", "5", False),
        ("complaint", "40", True),
        ("accident", "30", False),
        ("accident", "60", True),
        ("early_leave", "10", False),
        ("early_leave", None, True),
    ],
)
def test_deduction_percents_follow_the_seeds_ranges(school, kind, percent, ok):
    event = PerformanceEvent(
        school=school, teacher=_teacher("吴老师"), kind=kind, date=date(2026, 10, 1), description="x",
        percent=D(percent) if percent else None,
    )  # fmt: skip
    if ok:
        event.full_clean()
    else:
        with pytest.raises(ValidationError):
            event.full_clean()


@pytest.mark.parametrize("teachers", [2, 20])
def test_the_payroll_reads_a_fixed_number_of_queries(school, term, teachers, django_assert_num_queries):
    for n in range(teachers):
        teacher = _teacher(f"郑{n}")
        _sessions(term, teacher, date(2026, 10, 8), 3)
        _duty(school, teacher, DutyShift.Kind.SAFETY_ZONE, 1)
        _event(school, teacher, PerformanceEvent.Kind.EARLY_LEAVE)
    SubsidyRates.objects.create(school=school)

    with django_assert_num_queries(6):  # rates, term, sessions, duty, events, teachers
        payroll = subsidy_payroll(school=school, year=2026, month=10)

    assert len(payroll.rows) == teachers


def test_finance_reads_downloads_and_books_the_payroll(client, school, october, finance):
    client.force_login(finance)
    url = reverse("admin:billing_subsidy_payroll")

    page = client.get(url, {"month": "2026-10"})
    assert page.status_code == 200 and "325.80" in page.content.decode()

    book = client.get(url, {"month": "2026-10", "format": "xlsx"})
    sheet = openpyxl.load_workbook(io.BytesIO(book.content)).active
    header = [cell.value for cell in sheet[1]]
    assert header[0] == "教师" and header[-2] == "实发金额"
    nets = [row[-2] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert all(isinstance(v, (int, float)) for v in nets) and round(sum(nets), 2) == 325.80

    text = client.get(url, {"month": "2026-10", "format": "csv"}).content.decode("utf-8-sig")
    assert len(list(csv.reader(io.StringIO(text)))) == 5

    client.post(f"{url}?month=2026-10")
    entry = LedgerEntry.objects.get(voucher_no="SUB-202610")
    assert (entry.kind, entry.category, entry.amount, entry.date) == (
        "expense",
        "teacher_pay",
        D("325.80"),
        date(2026, 10, 31),
    )
    again = client.post(f"{url}?month=2026-10", follow=True)
    assert "已记入" in again.content.decode() and LedgerEntry.objects.filter(voucher_no="SUB-202610").count() == 1


def test_booking_twice_or_nothing_is_refused(school, october, finance):
    payroll = subsidy_payroll(school=school, year=2026, month=10)
    payroll_record(payroll=payroll, recorded_by=finance)
    with pytest.raises(ValidationError):
        payroll_record(payroll=subsidy_payroll(school=school, year=2026, month=10), recorded_by=finance)
    with pytest.raises(ValidationError):
        payroll_record(payroll=subsidy_payroll(school=school, year=2026, month=7), recorded_by=finance)


def test_the_admin_reads_the_payroll_but_books_nothing(client, school, october, admin_user):
    client.force_login(admin_user)
    url = reverse("admin:billing_subsidy_payroll")
    assert client.get(url, {"month": "2026-10"}).status_code == 200
    assert client.post(f"{url}?month=2026-10").status_code == 403
    assert not LedgerEntry.objects.exists()


@pytest.mark.parametrize("persona", ["guardian", "homeroom_teacher", "service_teacher", "duty_leader", "gate_guard"])
def test_nobody_else_sees_the_payroll(client, request, persona):
    client.force_login(request.getfixturevalue(persona))
    url = reverse("admin:billing_subsidy_payroll")
    assert client.get(url, {"month": "2026-10", "format": "xlsx"}).status_code == 403
    assert client.get(url).status_code == 403
