from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from enrollment import workflow
from enrollment.models import Notification
from tests.enrollment.factories import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_guardian_reads_the_schools_messages_on_a_phone(live_server, browser, screenshot, guardian, student_a):
    guardian.email = "wang@example.cn"
    guardian.save(update_fields=["email"])
    old = workflow.notify_guardian(guardian.guardian, kind="test.old", subject="开学通知", body="9月1日开学。")
    Notification.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - timedelta(days=3), read_at=timezone.now() - timedelta(days=2)
    )
    workflow.notify_guardian(
        guardian.guardian, kind="enrollment.leave", subject="王小明的请假：已批准", body="11月20日，看牙医。"
    )
    workflow.notify_guardian(
        guardian.guardian,
        kind="scheduling.closure",
        subject="11月25日–11月26日暂停课后服务",
        body="因全校运动会，11月25日至26日暂停课后服务，请按时接孩子放学。",
    )
    # Outside a test transaction the deliveries ran at commit (eager Celery): one e-mail each.
    assert len(mail.outbox) == 3 and mail.outbox[-1].subject == "11月25日–11月26日暂停课后服务"

    page = browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, device_scale_factor=2, locale="zh-CN"
    ).new_page()
    page.goto(live_server.url + "/login/")
    page.get_by_label("用户名或手机号").fill("13911112222")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()

    inbox_link = page.locator("#nav-inbox")
    assert inbox_link.is_visible()  # outside the collapsed menu: seen on a phone without opening it
    assert inbox_link.locator(".badge").inner_text().startswith("2")
    inbox_link.click()
    page.wait_for_url("**/portal/inbox/")
    items = page.locator("#inbox a")
    assert items.count() == 3
    assert items.first.inner_text().count("11月25日–11月26日暂停课后服务") == 1
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    screenshot(page, "phone390-inbox")

    page.get_by_text("王小明的请假：已批准").click()
    page.get_by_text("11月20日，看牙医。").wait_for()
    assert page.locator("#nav-inbox .badge").inner_text().startswith("1")
    screenshot(page, "phone390-inbox-message")
    page.go_back()
    page.reload()
    page.locator("#inbox form button, form[action$='/portal/inbox/read/'] button").first.click()
    page.wait_for_url("**/portal/inbox/")
    assert page.locator("#nav-inbox .badge").count() == 0
    assert not Notification.objects.filter(recipient=guardian, read_at__isnull=True).exists()
