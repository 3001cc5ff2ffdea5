from decimal import Decimal

import pytest

from billing.fees import apply_waiver, daily_prepaid_settlement, monthly_half_rule_charge, term_flat_settlement
from billing.money import money, split, to_fen

D = Decimal


@pytest.mark.parametrize(
    ("value", "rounded"), [("0.005", "0.01"), ("2.675", "2.68"), ("2.665", "2.67"), ("-0.005", "-0.01"), (3, "3.00")]
)
def test_rounding_is_half_up_to_the_fen(value, rounded):
    assert to_fen(value if isinstance(value, int) else D(value)) == D(rounded)
    assert round(2.675, 2) == 2.67  # float arithmetic would be a fen short


@pytest.mark.parametrize("bad", [3.6, 1e2, True, None])
def test_money_refuses_floats_and_other_things(bad):
    with pytest.raises(TypeError):
        money(bad)


def test_a_split_adds_up_exactly_with_the_remainder_last():
    parts = split(D("100.00"), 3)
    assert parts == [D("33.33"), D("33.33"), D("33.34")] and sum(parts) == D("100.00")


@pytest.mark.parametrize(
    ("days", "workdays", "charge"),
    [
        (10, 21, "60.00"),  # 20 < 21: fewer than half of 21 (10.5) → 50%
        (11, 21, "120.00"),  # 22 ≥ 21 → full month
        (11, 22, "120.00"),  # exactly half → the full month (the seed's rule)
        (10, 22, "60.00"),
        (1, 22, "60.00"),
        (0, 22, "0.00"),  # no participation, no fee
        (22, 22, "120.00"),
    ],
)
def test_the_half_month_rule(days, workdays, charge):
    assert monthly_half_rule_charge(D("120"), days, workdays) == D(charge)


def test_exactly_half_can_be_set_to_half_the_fee():
    assert monthly_half_rule_charge(D("120"), 11, 22, exactly_half_is_full=False) == D("60.00")
    assert monthly_half_rule_charge(D("120"), 12, 22, exactly_half_is_full=False) == D("120.00")


def test_a_mid_month_start_does_not_shrink_the_denominator():
    # Joined on 16 September 2026 (22 working days in the month) and attended all 11 days left:
    # 11 × 2 = 22, exactly half → the full month; with 10 days attended, half.
    assert monthly_half_rule_charge(D("120"), 11, 22) == D("120.00")
    assert monthly_half_rule_charge(D("120"), 10, 22) == D("60.00")


@pytest.mark.django_db
def test_october_2026_with_the_national_day_holiday():
    from scheduling.calendar import statutory_workdays

    workdays = statutory_workdays(2026, 10)  # 18: National Day week and a make-up Saturday
    assert workdays == 18
    assert monthly_half_rule_charge(D("120"), 8, workdays) == D("60.00")
    assert monthly_half_rule_charge(D("120"), 9, workdays) == D("120.00")


def test_more_participation_days_than_working_days_is_an_error_not_a_charge():
    with pytest.raises(ValueError, match="exceed"):
        monthly_half_rule_charge(D("120"), 23, 22)


@pytest.mark.parametrize(
    ("amount", "percent", "result"),
    [("120.00", "100", "0.00"), ("120.00", "50", "60.00"), ("35.55", "50", "17.78"), ("300", "0", "300.00")],
)
def test_waivers(amount, percent, result):
    assert apply_waiver(D(amount), D(percent)) == D(result)


def test_a_waiver_above_100_percent_is_refused():
    with pytest.raises(ValueError):
        apply_waiver(D("100"), D("101"))


def test_daily_prepaid_settlement_is_exact_where_floats_are_not():
    assert 57 * 3.6 != 205.2  # 205.20000000000002 in binary floating point
    charge, refund = daily_prepaid_settlement(D("3.60"), 100, 57)
    assert (charge, refund) == (D("205.20"), D("154.80"))
    assert charge + refund == D("360.00")


def test_daily_prepaid_beyond_the_prepaid_days_is_owed():
    assert daily_prepaid_settlement(D("3.60"), 10, 12) == (D("43.20"), D("-7.20"))


def test_a_mid_term_withdrawal_from_a_flat_term_fee():
    charge, refund = term_flat_settlement(D("300"), 97, 40)
    assert (charge, refund) == (D("123.71"), D("176.29")) and charge + refund == D("300.00")
    assert term_flat_settlement(D("300"), 97, 0) == (D("0.00"), D("300.00"))
    assert term_flat_settlement(D("300"), 97, 97) == (D("300.00"), D("0.00"))
