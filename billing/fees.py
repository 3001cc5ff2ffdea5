"""Fee rules from the schools' published standards (shared/seeds), as pure functions.

Every function takes and returns Decimal and rounds once, at the end, to the fen.
"""

from decimal import Decimal

from .money import money, to_fen

ZERO = Decimal("0.00")


def monthly_half_rule_charge(
    monthly_fee, participation_days: int, statutory_workdays: int, *, exactly_half_is_full: bool = True
) -> Decimal:
    """The month's fee under the half-month rule (梧州's published rule).

    - The denominator is the whole calendar month's statutory working days; a mid-month start
      does not shrink it.
    - Participation days are days the child attended (roll call present or late).
    - Fewer than half of the working days → 50% of the fee; otherwise the full fee. Exactly half
      counts as the full month unless ``exactly_half_is_full`` is off (some districts charge 50%).
    - No participation → no charge (no service, no fee).
    - Half is compared as 2 × days against the working days, never as an integer-divided half
      (21 working days → half is 10.5).
    """
    fee = money(monthly_fee)
    if participation_days < 0 or statutory_workdays <= 0:
        raise ValueError("participation days must be ≥ 0 and working days > 0")
    if participation_days > statutory_workdays:
        raise ValueError(
            f"{participation_days} participation days exceed the month's {statutory_workdays} working days"
        )
    if participation_days == 0:
        return ZERO
    doubled = 2 * participation_days
    if doubled < statutory_workdays or (doubled == statutory_workdays and not exactly_half_is_full):
        return to_fen(fee * Decimal("0.5"))
    return to_fen(fee)


def apply_waiver(amount, waiver_percent) -> Decimal:
    """``amount`` less a hardship waiver of ``waiver_percent`` (0–100)."""
    percent = money(waiver_percent)
    if not Decimal(0) <= percent <= Decimal(100):
        raise ValueError("a waiver is between 0 and 100 percent")
    return to_fen(money(amount) * (Decimal(100) - percent) / Decimal(100))


def daily_prepaid_settlement(rate, prepaid_days: int, served_days: int) -> tuple[Decimal, Decimal]:
    """(charge, refund) for a daily rate prepaid for ``prepaid_days`` when ``served_days`` were
    served; days served beyond the prepaid ones are charged too (the refund is then negative:
    money owed)."""
    if prepaid_days < 0 or served_days < 0:
        raise ValueError("days must not be negative")
    rate = money(rate)
    paid = to_fen(rate * prepaid_days)
    charge = to_fen(rate * served_days)
    return charge, paid - charge


def term_flat_settlement(term_fee, service_days: int, served_days: int) -> tuple[Decimal, Decimal]:
    """(charge, refund) for a per-term flat fee when a child leaves after ``served_days`` of the
    term's ``service_days``: charged pro rata by days, the rest refunded. Charge and refund add
    up exactly to the fee."""
    if service_days <= 0 or not 0 <= served_days <= service_days:
        raise ValueError("served days must lie between 0 and the term's service days")
    fee = to_fen(term_fee)
    charge = to_fen(fee * served_days / service_days)
    return charge, fee - charge
