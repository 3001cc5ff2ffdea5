from datetime import date
from decimal import Decimal

import pytest

from billing.models import BillingRun, ChargeLine, FeeStandard
from billing.services import payment_post
from tests.enrollment.factories import PASSWORD, TermFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_guardian_reads_the_statement_on_a_phone(
    live_server, browser, screenshot, school, guardian, student_a, finance
):
    from django.utils import timezone

    today = timezone.localdate()
    term = TermFactory(
        school=school,
        start=date(today.year, 9, 1) if today.month >= 9 else date(today.year - 1, 9, 1),
        end=date(today.year + 1, 1, 22),
    )
    standard = FeeStandard.objects.create(term=term, item="after_school", mode="monthly_half", amount=Decimal("120.00"))
    run = BillingRun.objects.create(term=term, month=term.start)
    for month, days, amount in ((term.start, 22, "120.00"), (term.start.replace(month=10), 8, "60.00")):
        ChargeLine.objects.create(
            term=term,
            student=student_a,
            standard=standard,
            month=month,
            kind="charge",
            fee=Decimal("120"),
            workdays=22 if days == 22 else 18,
            participation_days=days,
            waiver_percent=Decimal("0"),
            amount=Decimal(amount),
            run=run,
        )
    payment_post(term=term, student=student_a, amount=Decimal("120.00"), method="online", received_by=finance)

    page = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, device_scale_factor=2).new_page()
    page.goto(live_server.url + "/login/")
    page.get_by_label("用户名或手机号").fill("13911112222")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.get_by_role("link", name="收费与缴费").click()
    page.get_by_text("尚需缴费：60.00 元").wait_for()
    assert "本月 18 个工作日中参加 8 天" in page.content()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    screenshot(page, "phone390-bills")
