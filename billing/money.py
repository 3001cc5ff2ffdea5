"""Money: Decimal yuan with two places, rounded half-up to the fen. The only place a rounding
mode is spelled. Floats are refused everywhere money enters."""

from decimal import ROUND_HALF_UP, Decimal

FEN = Decimal("0.01")

# Field kwargs for every money column (yuan, two decimal places).
MONEY_FIELD = {"max_digits": 12, "decimal_places": 2}
# Rates and fractions (e.g. a waiver of 0.5 or a per-day rate of 3.6) keep more places.
RATE_FIELD = {"max_digits": 9, "decimal_places": 4}


def money(value) -> Decimal:
    """A Decimal from str, int or Decimal; float raises TypeError (3.6 is not 3.60 in binary)."""
    if isinstance(value, float):
        raise TypeError("money must not be a float; pass a str, int or Decimal")
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise TypeError(f"cannot make money of {type(value).__name__}")
    return Decimal(value)


def to_fen(value) -> Decimal:
    """Round to the fen, half up (2.675 → 2.68, 0.005 → 0.01)."""
    return money(value).quantize(FEN, rounding=ROUND_HALF_UP)


def split(total, parts: int) -> list[Decimal]:
    """``total`` in ``parts`` amounts to the fen that add up exactly; the remainder goes last."""
    total = to_fen(total)
    if parts < 1:
        raise ValueError("parts must be at least 1")
    share = to_fen(total / parts)
    return [share] * (parts - 1) + [total - share * (parts - 1)]
