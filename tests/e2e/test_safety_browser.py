from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone
from playwright.sync_api import expect

from enrollment import workflow
from enrollment.models import LeaveRequest, Notification, StaffProfile
from safety.models import RollCallEntry
from safety.services import pickup_passes_for
from scheduling.models import GroupMembership, Session
from tests.enrollment.factories import PASSWORD, GuardianFactory, StudentFactory, StudentGuardianFactory, TermFactory
from tests.scheduling.factories import ServiceGroupFactory, SlotFactory

pytestmark = pytest.mark.django_db(transaction=True)
PHONE_390 = {"width": 390, "height": 844}


def _log_in(page, base_url, username):
    page.goto(base_url + "/login/")
    page.get_by_label("用户名或手机号").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()


def test_roll_call_for_45_release_with_codes_and_the_board_shows_who_awaits_pickup(
    request,
    live_server,
    browser,
    screenshot,
    school,
    service_teacher,
    homeroom_a,
    homeroom_teacher,
    student_a,
    guardian,
    duty_leader,
):
    # The clock stands at 18:40 on a Monday: the 16:00–18:00 session ended 40 minutes ago, past the
    # 30-minute grace period (time_machine moves the server's clock, live-server thread included).
    traveller = time_machine.travel(datetime(2026, 11, 23, 18, 40, tzinfo=ZoneInfo("Asia/Shanghai")), tick=True)
    traveller.start()
    request.addfinalizer(traveller.stop)
    now = timezone.localtime()
    start, end = time(16, 0), time(18, 0)
    term = TermFactory(school=school, start=now.date() - timedelta(days=30), end=now.date() + timedelta(days=60))
    group = ServiceGroupFactory(term=term, name="三年级服务1班", teacher=service_teacher)
    slot = SlotFactory(group=group, weekday=now.weekday(), start=start, end=end, teacher=service_teacher)
    session = Session.objects.create(
        slot=slot,
        group=group,
        date=now.date(),
        start=start,
        end=end,
        activity=slot.activity,
        room=slot.room,
        teacher=service_teacher,
    )
    GroupMembership.objects.create(group=group, student=student_a)
    for index in range(44):
        student = StudentFactory(homeroom=homeroom_a, name=f"学生{index:02d}")
        StudentGuardianFactory(student=student, guardian=GuardianFactory())
        GroupMembership.objects.create(group=group, student=student)
    # 王小明's guardian asked for leave today and the homeroom teacher approved it.
    leave = workflow.leave_request_create(
        student=student_a, guardian=guardian.guardian, start=now.date(), end=now.date(), reason="看牙"
    )
    workflow.leave_review(requests=[leave], teacher=homeroom_teacher, approve=True)
    assert LeaveRequest.objects.get().status == "approved"
    StaffProfile.objects.filter(user=duty_leader).update(school=school)

    teacher = browser.new_context(viewport=PHONE_390, device_scale_factor=2, is_mobile=True, has_touch=True).new_page()
    _log_in(teacher, live_server.url, "service_teacher")
    teacher.get_by_role("link", name="去点名").click()
    rows = teacher.locator(".roll-row")
    # The badges are painted by the page's script once the list is parsed: wait for it.
    expect(teacher.locator(".roll-row", has_text="王小明").locator(".state")).to_have_text("请假")
    assert rows.count() == 45
    teacher.get_by_role("button", name="全部到场").click()
    teacher.locator(".roll-row", has_text="学生00").click()  # → late
    for _ in range(3):
        teacher.locator(".roll-row", has_text="学生01").click()  # → on leave → absent without reason
    for _ in range(5):
        teacher.locator(".roll-row", has_text="学生02").click()  # → unwell
    screenshot(teacher, "phone390-roll-call")
    teacher.get_by_role("button", name="保存点名").click()
    teacher.get_by_text("已保存 45 名学生的点名").wait_for()

    statuses = dict(RollCallEntry.objects.values_list("student__name", "status"))
    assert (statuses["王小明"], statuses["学生00"], statuses["学生01"], statuses["学生02"]) == (
        "excused",
        "late",
        "absent",
        "unwell",
    )
    assert sum(1 for s in statuses.values() if s == "present") == 41
    absent = Notification.objects.filter(kind="safety.absence")
    assert {n.recipient_id for n in absent} >= {homeroom_teacher.pk} and absent.filter(
        guardian__isnull=False
    ).count() == 1

    # Dismissal: one child is collected with the guardian's code.
    collected = session.roll_call.entries.get(student__name="学生03").student
    code = next(p.code for p in pickup_passes_for(student=collected, term=term) if p.kind == "guardian")
    teacher.get_by_role("link", name="放学交接").click()
    teacher.get_by_text("已过结束时间和宽限时间").wait_for()
    teacher.get_by_label("接送码 学生03").fill(code)
    teacher.locator(f"#child-{collected.pk}").get_by_role("button", name="放行").click()
    teacher.get_by_text("学生03 已放行").wait_for()
    teacher.get_by_role("button", name="结束今天的服务").click()
    teacher.get_by_text("不能结束今天的服务").wait_for()
    screenshot(teacher, "phone390-dismissal")
    screenshot(teacher, "phone390-dismissal-top", full_page=False)

    # The duty board shows the 42 children still awaiting pickup (43 on site, 1 released).
    board = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    _log_in(board, live_server.url, "duty_leader")
    board.goto(live_server.url + "/duty/")
    board.get_by_text("42 人待接").wait_for()
    assert "无故缺席 1" in board.content()
    screenshot(board, "desktop-duty-board")
