"""On the 1st, Celery beat publishes every school's disclosure of the previous month, once."""

from datetime import date
from decimal import Decimal

import pytest

from billing.models import LedgerEntry
from billing.tasks import monthly_disclosure
from enrollment.models import Document

pytestmark = pytest.mark.django_db


def test_the_previous_months_disclosure_is_made_once(school, django_capture_on_commit_callbacks):
    LedgerEntry.objects.create(
        school=school, date=date(2026, 10, 31), kind="income", category="fees", amount=Decimal("7080.00"),
        voucher_no="FEE-202610-1", description="服务性收费",
    )  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        first = monthly_disclosure(today="2026-11-01")
        again = monthly_disclosure(today="2026-11-01")

    document = Document.objects.get()
    assert first == again == [document.pk]
    assert (document.kind, document.params, document.status) == ("disclosure", {"month": "2026-10"}, "done")
    assert document.data["total_income"] == "7080.00" and document.data["month"] == "2026年10月"


def test_january_publishes_december_and_a_failed_one_is_made_again(school, django_capture_on_commit_callbacks):
    Document.objects.create(
        kind="disclosure", school=school, title="x", params={"month": "2025-12"}, status="failed", error="disk full"
    )
    with django_capture_on_commit_callbacks(execute=True):
        [pk] = monthly_disclosure(today="2026-01-01")

    assert Document.objects.get(pk=pk).params == {"month": "2025-12"} and Document.objects.count() == 2
