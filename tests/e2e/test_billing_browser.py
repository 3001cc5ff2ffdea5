from datetime import date
from decimal import Decimal
from pathlib import Path

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


def test_finance_books_the_months_subsidy_and_refunds_a_balance(
    live_server, desktop, screenshot, school, finance, student_a
):
    from billing.models import DutyShift, LedgerEntry, PerformanceEvent, Refund
    from tests.billing.test_subsidy import _sessions, _teacher

    term = TermFactory(school=school, start=date(2026, 9, 1), end=date(2027, 1, 22))
    teacher = _teacher("王芳")
    _sessions(term, teacher, date(2026, 10, 8), 16)
    DutyShift.objects.create(school=school, teacher=teacher, date=date(2026, 10, 9), kind="safety_zone", breaks=3)
    PerformanceEvent.objects.create(
        school=school, teacher=teacher, date=date(2026, 10, 9), kind="early_leave", description="提前离开"
    )
    child = student_a
    payment_post(term=term, student=child, amount=Decimal("50.00"), method="cash", received_by=finance)

    desktop.goto(live_server.url + "/login/")
    desktop.get_by_label("用户名或手机号").fill(finance.username)
    desktop.get_by_label("密码").fill(PASSWORD)
    desktop.get_by_role("button", name="登录").click()
    desktop.goto(live_server.url + "/admin/billing/dutyshift/payroll/?month=2026-10")
    row = desktop.locator("#payroll tbody tr").first
    assert row.locator("td").nth(10).inner_text() == "315.00"  # (16 × 20 + 3 × 10) less 10% for one early leave
    screenshot(desktop, "desktop-subsidy-payroll")
    desktop.get_by_role("button", name="记入专户台账").click()
    desktop.get_by_text("凭证号 SUB-202610").first.wait_for()
    assert LedgerEntry.objects.get(voucher_no="SUB-202610").amount == Decimal("315.00")

    desktop.goto(live_server.url + f"/admin/billing/payment/settlement/{term.pk}/")
    desktop.get_by_role("button", name="退还结余").click()
    desktop.get_by_text("已向").wait_for()
    assert Refund.objects.get(student=child).amount == Decimal("50.00")
    screenshot(desktop, "desktop-refund-balance")


def test_finance_makes_a_grades_fee_notices_follows_the_batch_and_downloads_one(
    live_server, desktop, screenshot, school, finance, student_a, student_b
):
    from django.utils import timezone

    from tests.enrollment.factories import StudentFactory

    today = timezone.localdate()
    term = TermFactory(school=school, start=today.replace(day=1), end=today.replace(day=1).replace(year=today.year + 1))
    standard = FeeStandard.objects.create(term=term, item="after_school", mode="monthly_half", amount=Decimal("120.00"))
    run = BillingRun.objects.create(term=term, month=term.start)
    children = [student_a, *(StudentFactory(homeroom=student_a.homeroom, school=school) for _ in range(4))]
    for child in children:
        ChargeLine.objects.create(
            term=term, student=child, standard=standard, month=term.start, kind="charge", fee=Decimal("120.00"),
            workdays=20, participation_days=15, waiver_percent=Decimal("0"), amount=Decimal("120.00"), run=run,
        )  # fmt: skip

    desktop.goto(live_server.url + "/login/")
    desktop.get_by_label("用户名或手机号").fill(finance.username)
    desktop.get_by_label("密码").fill(PASSWORD)
    desktop.get_by_role("button", name="登录").click()
    desktop.goto(live_server.url + "/admin/enrollment/grade/")
    desktop.locator("input.action-select").first.check()
    desktop.select_option("select[name=action]", label="生成 PDF：全年级缴费通知单（每生一个文件，批量）")
    desktop.get_by_role("button", name="执行").click()
    desktop.get_by_text("正在批量生成 5 份文档").wait_for()
    assert "5 / 5" in desktop.content()  # eager here: the batch has finished by the time the page shows
    screenshot(desktop, "desktop-document-batch")
    desktop.get_by_role("link", name="查看文档").click()
    with desktop.expect_download() as download:
        desktop.get_by_role("link", name="下载 PDF").first.click()
    assert download.value.suggested_filename.endswith(".pdf")
    assert Path(download.value.path()).read_bytes().startswith(b"%PDF")


def test_a_guardian_opens_the_monthly_disclosure_on_a_phone(live_server, browser, screenshot, school, guardian):
    from billing.models import LedgerEntry
    from billing.services import disclosure_publish

    LedgerEntry.objects.create(
        school=school, date=date(2026, 10, 31), kind="income", category="fees", amount=Decimal("7080.00"),
        voucher_no="FEE-202610-1", description="服务性收费",
    )  # fmt: skip
    disclosure_publish(school=school, year=2026, month=10)  # eager: made at once

    page = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, device_scale_factor=2).new_page()
    page.goto(live_server.url + "/login/")
    page.get_by_label("用户名或手机号").fill("13911112222")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.get_by_role("link", name="课后服务收支公示").click()
    page.get_by_text("2026-10 收支公示").wait_for()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    screenshot(page, "phone390-disclosures")
    href = page.get_by_role("link", name="2026-10 收支公示").get_attribute("href")
    response = page.request.get(live_server.url + href)
    assert response.ok and response.body().startswith(b"%PDF")
