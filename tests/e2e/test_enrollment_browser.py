from datetime import timedelta

import pytest
from django.utils import timezone

from enrollment.models import AgreementSignature, AgreementText, Application, ParentNotice
from scheduling.models import GroupMembership
from tests.enrollment.factories import PASSWORD, TermFactory
from tests.scheduling.factories import ActivityFactory

pytestmark = pytest.mark.django_db(transaction=True)
PHONE_390 = {"width": 390, "height": 844}


@pytest.fixture
def phone390(browser):
    context = browser.new_context(
        viewport=PHONE_390, device_scale_factor=2, is_mobile=True, has_touch=True, locale="zh-CN"
    )
    yield context
    context.close()


def _log_in(page, base_url, username):
    page.goto(base_url + "/login/")
    page.get_by_label("用户名或手机号").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()


def test_apply_sign_review_place_and_see_the_timeline(
    live_server, phone390, desktop, screenshot, school, guardian, student_a, homeroom_teacher, admin_user
):
    today = timezone.localdate()
    term = TermFactory(
        school=school, name="2026年秋季学期", start=today - timedelta(days=20), end=today + timedelta(days=100),
        application_opens=today - timedelta(days=10), application_closes=today + timedelta(days=10),
    )  # fmt: skip
    ParentNotice.objects.create(
        term=term, title="2026年秋季学期课后服务告家长书", body="尊敬的家长：学校开展课后服务……", published=True
    )
    AgreementText.objects.create(
        term=term, version=1, title="课后服务安全责任书", body="一、家长自愿申请。\n二、按时接送孩子。"
    )
    ActivityFactory(school=school, name="围棋", category="club")
    ActivityFactory(school=school, name="素描", category="arts")

    # The guardian reads the notice, applies with two activities and signs the agreement.
    page = phone390.new_page()
    _log_in(page, live_server.url, "13911112222")
    page.get_by_text("2026年秋季学期课后服务告家长书").click()
    page.get_by_role("link", name="我已阅读").click()
    page.get_by_role("link", name="申请课后服务").click()
    page.get_by_label("第一志愿").select_option(label="围棋（社团，无需保险）")
    page.get_by_label("第二志愿").select_option(label="素描（艺术，无需保险）")
    page.locator("#id_emergency_name").fill("王奶奶")
    page.locator("#id_emergency_mobile").fill("13700001111")
    screenshot(page, "phone390-apply")
    page.get_by_role("button", name="提交申请").click()
    page.get_by_text("王小明 的申请已提交").wait_for()
    page.get_by_role("link", name="请签署安全责任书：未签署的学生不能安排课后服务。").click()
    page.locator("#id_typed_name").fill("王建国")
    page.locator("#id_consent").check()
    screenshot(page, "phone390-agreement")
    page.get_by_role("button", name="签署").click()
    page.get_by_text("王小明 的责任书已签署").wait_for()
    assert AgreementSignature.objects.get().verifies()

    # The homeroom teacher approves on a phone.
    teacher = phone390.browser.new_context(viewport=PHONE_390, is_mobile=True, has_touch=True).new_page()
    _log_in(teacher, live_server.url, "teacher_a")
    teacher.get_by_text("有 1 项待您审核").click()
    teacher.get_by_text("王小明").click()  # the label ticks the box
    screenshot(teacher, "phone390-teacher-review")
    teacher.get_by_role("button", name="通过所选", exact=True).click()
    teacher.get_by_text("已处理 1 项").wait_for()

    # The admin approves and places in the admin site.
    _log_in(desktop, live_server.url, "school_admin")
    desktop.goto(live_server.url + "/admin/enrollment/application/")
    desktop.locator("input.action-select").first.check()
    desktop.select_option("select[name=action]", "approve")
    desktop.get_by_role("button", name="执行").click()
    desktop.get_by_text("已处理 1 份申请").wait_for()
    desktop.locator("input.action-select").first.check()
    desktop.select_option("select[name=action]", "place")
    desktop.get_by_role("button", name="执行").click()
    desktop.get_by_text("已安排 1 人进入建议服务班").wait_for()
    assert Application.objects.get().status == "placed"
    assert GroupMembership.objects.get().student == student_a

    # The guardian sees the whole timeline.
    page.goto(live_server.url + "/portal/")
    page.get_by_text("申请及进度").click()
    steps = page.locator("#timeline li .fw-semibold").all_inner_texts()
    assert steps == ["已提交", "班级审核通过", "学校复核通过", "已安排"]
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    screenshot(page, "phone390-timeline")
