"""Once-a-term fees (flat, per period a day, prepaid daily rate) in the billing run, and their
settlement by participation on withdrawal and at the term's end."""

import math
from datetime import date, time
from decimal import Decimal

import pytest
from django.db import connection

from billing.models import ChargeLine, FeeStandard, LedgerEntry, Waiver
from billing.services import billing_run, ledger_totals, payment_post, settlement_list
from enrollment.models import Application
from enrollment.workflow import application_withdraw
from tests.billing.conftest import child
from tests.scheduling.factories import SlotFactory

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def autumn(setup):
    """The fixture's term, ending with 2026 so that its whole calendar is known: 84 service days
    (September 22, October 18, November 21, December 23), and no fee standard yet."""
    setup["standard"].delete()
    setup["term"].end = date(2026, 12, 31)
    setup["term"].save(update_fields=["end"])
    return setup


def _lines(student, standard):
    return [
        (f"{line.month:%Y-%m}", line.kind, line.amount, line.settled, line.participation_days, line.workdays)
        for line in ChargeLine.objects.filter(student=student, standard=standard).order_by("month", "created_at")
    ]


def _withdraw(student, effective, admin_user):
    application = Application.objects.get(student=student)
    application_withdraw(application=application, actor=admin_user, effective=effective, note="搬家")


def test_a_mid_term_withdrawal_from_a_flat_fee_is_settled_pro_rata_by_service_days(autumn, admin_user, finance):
    flat = FeeStandard.objects.create(term=autumn["term"], item="after_school", mode="term_flat", amount=D("300.00"))
    leaving = child(autumn, 20)
    staying = child(autumn, 20)
    billing_run(term=autumn["term"], year=2026, month=9)
    payment_post(term=autumn["term"], student=leaving, amount=D("300.00"), method="cash", received_by=finance)
    # First day without service: Monday 12 October; served 22 September days + 8, 9 and 10 (调休) October.
    _withdraw(leaving, date(2026, 10, 12), admin_user)

    october = billing_run(term=autumn["term"], year=2026, month=10)
    again = billing_run(term=autumn["term"], year=2026, month=10)
    november = billing_run(term=autumn["term"], year=2026, month=11)

    # 300 × 25 / 84 = 89.2857… → 89.29 charged, 210.71 back.
    assert _lines(leaving, flat) == [
        ("2026-09", "charge", D("300.00"), False, 0, 0),
        ("2026-10", "adjustment", D("-210.71"), True, 25, 84),
    ]
    assert _lines(staying, flat) == [("2026-09", "charge", D("300.00"), False, 0, 0)]
    assert (october.adjustments, again.charges + again.adjustments, november.charges + november.adjustments) == (
        1,
        0,
        0,
    )
    assert [(row[0], row[4]) for row in settlement_list(term=autumn["term"])] == [(leaving, D("210.71"))]
    fee_income = LedgerEntry.objects.filter(category="fees").order_by("date").values_list("amount", flat=True)
    assert list(fee_income) == [D("600.00"), D("-210.71")]


def test_a_withdrawal_recorded_after_a_skipped_month_is_settled_in_the_next_run(autumn, admin_user):
    flat = FeeStandard.objects.create(term=autumn["term"], item="after_school", mode="term_flat", amount=D("300.00"))
    leaving = child(autumn, 20)
    billing_run(term=autumn["term"], year=2026, month=9)
    _withdraw(leaving, date(2026, 10, 12), admin_user)

    billing_run(term=autumn["term"], year=2026, month=11)  # October was never run
    billing_run(term=autumn["term"], year=2026, month=9)  # and September again: nothing moves

    assert _lines(leaving, flat) == [
        ("2026-09", "charge", D("300.00"), False, 0, 0),
        ("2026-11", "adjustment", D("-210.71"), True, 25, 84),
    ]


def test_a_prepaid_daily_rate_is_charged_ahead_and_settled_at_the_term_end(autumn, finance):
    prepaid = FeeStandard.objects.create(
        term=autumn["term"], item="after_school", mode="daily_prepaid", amount=D("3.60"), prepaid_days=100
    )
    regular, often_away = child(autumn, 22), child(autumn, 7)
    for student in (regular, often_away):
        payment_post(term=autumn["term"], student=student, amount=D("360.00"), method="transfer", received_by=finance)

    for month in (9, 10, 11):
        billing_run(term=autumn["term"], year=2026, month=month)
    december = billing_run(term=autumn["term"], year=2026, month=12)  # the term's last month settles

    # Roll call was taken in September only: 22 and 7 days served → 79.20 and 25.20 charged.
    assert _lines(regular, prepaid) == [
        ("2026-09", "charge", D("360.00"), False, 100, 100),
        ("2026-12", "adjustment", D("-280.80"), True, 22, 100),
    ]
    assert _lines(often_away, prepaid)[-1] == ("2026-12", "adjustment", D("-334.80"), True, 7, 100)
    assert december.adjustments == 2
    refunds = {row[0]: row[4] for row in settlement_list(term=autumn["term"])}
    assert refunds == {regular: D("280.80"), often_away: D("334.80")}


def test_the_statement_explains_each_kind_of_line(autumn, admin_user):
    from django.utils import translation

    FeeStandard.objects.create(
        term=autumn["term"], item="after_school", mode="daily_prepaid", amount=D("3.60"), prepaid_days=100
    )
    FeeStandard.objects.create(term=autumn["term"], item="evening", mode="per_period_day", amount=D("180.00"))
    leaving = child(autumn, 19, slot_evening=True)
    billing_run(term=autumn["term"], year=2026, month=9)
    _withdraw(leaving, date(2026, 10, 12), admin_user)
    billing_run(term=autumn["term"], year=2026, month=10)

    with translation.override("zh-hans"):
        texts = [line.explanation() for line in ChargeLine.objects.order_by("month", "standard__item")]
    assert texts == [
        "预收 100 天，每天 3.60 元",
        "每天 1 课时，每课时每学期 180.00 元",
        "结算：实际参加 19 天，每天 3.60 元",
        "退出结算：按本学期 84 个服务日中的 25 天收取",
    ]


def test_a_withdrawal_from_a_prepaid_rate_settles_on_the_days_attended(autumn, admin_user):
    prepaid = FeeStandard.objects.create(
        term=autumn["term"], item="after_school", mode="daily_prepaid", amount=D("3.60"), prepaid_days=100
    )
    leaving = child(autumn, 19)
    _withdraw(leaving, date(2026, 9, 28), admin_user)  # left before the month was first billed

    billing_run(term=autumn["term"], year=2026, month=9)

    assert _lines(leaving, prepaid) == [("2026-09", "charge", D("68.40"), True, 19, 100)]


def test_per_period_a_day_charges_for_the_periods_in_the_timetable(autumn, admin_user):
    standard = FeeStandard.objects.create(
        term=autumn["term"], item="after_school", mode="per_period_day", amount=D("180.00")
    )
    one = child(autumn, 20)
    SlotFactory(group=autumn["group"], weekday=2, start=time(17, 0), end=time(18, 0))
    SlotFactory(group=autumn["group"], weekday=2, start=time(16, 0), end=time(17, 0))
    two = child(autumn, 20)  # the same group now has two periods on Wednesdays
    billing_run(term=autumn["term"], year=2026, month=9)

    assert _lines(one, standard) == _lines(two, standard) == [("2026-09", "charge", D("360.00"), False, 0, 0)]
    assert ChargeLine.objects.get(student=one).periods == 2
    _withdraw(one, date(2026, 10, 12), admin_user)
    billing_run(term=autumn["term"], year=2026, month=10)
    # 360 × 25 / 84 = 107.142… → 107.14 kept.
    assert _lines(one, standard)[-1] == ("2026-10", "adjustment", D("-252.86"), True, 25, 84)


def test_each_item_is_charged_only_to_the_families_who_chose_it(autumn):
    FeeStandard.objects.create(term=autumn["term"], item="after_school", mode="monthly_half", amount=D("120.00"))
    FeeStandard.objects.create(term=autumn["term"], item="early_arrival", mode="term_flat", amount=D("150.00"))
    FeeStandard.objects.create(term=autumn["term"], item="evening", mode="per_period_day", amount=D("200.00"))
    only_after_school = child(autumn, 20)
    everything = child(autumn, 20, slot_early=True, slot_evening=True)
    nothing_billable = child(autumn, 20, slot_after_school=False, slot_saturday=True)

    billing_run(term=autumn["term"], year=2026, month=9)

    items = sorted(ChargeLine.objects.values_list("student_id", "standard__item", "amount"))
    assert items == sorted(
        [
            (only_after_school.pk, "after_school", D("120.00")),
            (everything.pk, "after_school", D("120.00")),
            (everything.pk, "early_arrival", D("150.00")),
            (everything.pk, "evening", D("200.00")),
        ]
    )
    assert not ChargeLine.objects.filter(student=nothing_billable).exists()


def test_a_waiver_on_a_flat_fee_and_the_waivers_granted_in_the_disclosure(autumn, school):
    FeeStandard.objects.create(term=autumn["term"], item="after_school", mode="term_flat", amount=D("300.00"))
    full, half = child(autumn, 20), child(autumn, 20)
    for student, percent in ((full, "100"), (half, "50")):
        Waiver.objects.create(
            term=autumn["term"], student=student, category="dibao", status="approved", percent=D(percent),
            effective_from=date(2026, 9, 1), meeting_date=date(2026, 8, 30), approver="校长",
        )  # fmt: skip

    billing_run(term=autumn["term"], year=2026, month=9)

    amounts = dict(ChargeLine.objects.values_list("student_id", "amount"))
    assert (amounts[full.pk], amounts[half.pk]) == (D("0.00"), D("150.00"))
    totals = ledger_totals(school=school, first=date(2026, 9, 1), last=date(2026, 9, 30))
    assert totals.waived == D("450.00") and totals.total_income == D("150.00")


def test_a_prepaid_rate_needs_its_prepaid_days(autumn):
    from django.core.exceptions import ValidationError

    standard = FeeStandard(term=autumn["term"], item="lunch", mode="daily_prepaid", amount=D("3.60"))
    with pytest.raises(ValidationError, match="prepaid|预收|预交|预付"):
        standard.full_clean()


@pytest.mark.parametrize("children", [5, 30])
def test_a_run_with_every_mode_and_a_settlement_reads_a_fixed_number_of_queries(
    autumn, admin_user, children, django_assert_max_num_queries
):
    for item, mode, amount, days in (
        ("after_school", "monthly_half", "120.00", None),
        ("early_arrival", "term_flat", "150.00", None),
        ("lunch", "daily_prepaid", "3.60", 100),
        ("evening", "per_period_day", "180.00", None),
    ):
        FeeStandard.objects.create(term=autumn["term"], item=item, mode=mode, amount=D(amount), prepaid_days=days)
    everyone = [child(autumn, 11, slot_early=True, slot_midday=True, slot_evening=True) for _ in range(children)]
    _withdraw(everyone[0], date(2026, 9, 21), admin_user)

    with django_assert_max_num_queries(200) as captured:
        billing_run(term=autumn["term"], year=2026, month=9)

    inserts = [q for q in captured.captured_queries if q["sql"].startswith("INSERT")]
    fields = [f for f in ChargeLine._meta.concrete_fields if not f.primary_key]
    batch = connection.ops.bulk_batch_size(fields, [None] * children * 4)
    assert len(inserts) == 2 + math.ceil(children * 4 / batch)
    assert len(captured) - len(inserts) == READS_WITH_EVERY_MODE
    assert ChargeLine.objects.count() == children * 4
    assert ChargeLine.objects.filter(student=everyone[0], settled=True).count() == 3


# The monthly run's reads, plus the term's attendance (prepaid), the timetable (periods), and the
# closures and the other year's holiday notice behind the service days (settlement): the same for
# 5 and 30 children.
READS_WITH_EVERY_MODE = 16


def test_running_earlier_months_again_after_a_settlement_changes_nothing(autumn, admin_user):
    flat = FeeStandard.objects.create(term=autumn["term"], item="after_school", mode="term_flat", amount=D("300.00"))
    leaving = child(autumn, 20)
    for month in (9, 10):
        billing_run(term=autumn["term"], year=2026, month=month)
    _withdraw(leaving, date(2026, 10, 12), admin_user)
    billing_run(term=autumn["term"], year=2026, month=11)  # the settlement lands in November

    again = [billing_run(term=autumn["term"], year=2026, month=m) for m in (10, 9, 11)]

    assert [run.charges + run.adjustments for run in again] == [0, 0, 0]
    assert sum(line.amount for line in ChargeLine.objects.filter(student=leaving, standard=flat)) == D("89.29")


def test_a_term_fee_waiver_recorded_later_is_not_undone_by_rerunning_september(autumn):
    FeeStandard.objects.create(term=autumn["term"], item="after_school", mode="term_flat", amount=D("300.00"))
    helped = child(autumn, 20)
    billing_run(term=autumn["term"], year=2026, month=9)
    Waiver.objects.create(
        term=autumn["term"], student=helped, category="dibao", status="approved", percent=D("50"),
        effective_from=date(2026, 10, 8), meeting_date=date(2026, 10, 7), approver="校长",
    )  # fmt: skip
    billing_run(term=autumn["term"], year=2026, month=10)
    billing_run(term=autumn["term"], year=2026, month=9)

    lines = ChargeLine.objects.filter(student=helped).order_by("created_at")
    assert [(f"{line.month:%m}", line.amount, line.waived) for line in lines] == [
        ("09", D("300.00"), D("0.00")),
        ("10", D("-150.00"), D("150.00")),
    ]


def test_a_child_who_changes_group_mid_month_pays_for_the_periods_once(autumn):
    from scheduling.models import GroupMembership
    from tests.scheduling.factories import ServiceGroupFactory

    standard = FeeStandard.objects.create(
        term=autumn["term"], item="after_school", mode="per_period_day", amount=D("180.00")
    )
    mover = child(autumn, 20)
    other = ServiceGroupFactory(term=autumn["term"])
    SlotFactory(group=other, weekday=0)
    GroupMembership.objects.filter(student=mover).update(left_on=date(2026, 9, 14))
    GroupMembership.objects.create(group=other, student=mover)

    billing_run(term=autumn["term"], year=2026, month=9)
    billing_run(term=autumn["term"], year=2026, month=10)

    assert _lines(mover, standard) == [("2026-09", "charge", D("180.00"), False, 0, 0)]


def test_a_child_placed_late_is_settled_over_the_days_from_its_first_month(autumn, admin_user):
    flat = FeeStandard.objects.create(term=autumn["term"], item="after_school", mode="term_flat", amount=D("300.00"))
    late = child(autumn, 0)
    billing_run(term=autumn["term"], year=2026, month=11)  # first billed in November: 300
    _withdraw(late, date(2026, 12, 1), admin_user)
    billing_run(term=autumn["term"], year=2026, month=11)

    # November and December have 21 + 23 = 44 service days; 21 were served: 300 × 21 / 44 = 143.18.
    assert _lines(late, flat) == [
        ("2026-11", "charge", D("300.00"), False, 0, 0),
        ("2026-11", "adjustment", D("-156.82"), True, 21, 44),
    ]
