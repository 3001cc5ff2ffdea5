from datetime import date

import pytest
from django.utils import translation

from scheduling.models import DutyDay
from scheduling.selectors import admin_duty_required, duty_problems
from scheduling.services import sessions_generate
from tests.enrollment.factories import StudentFactory, TermFactory, UserFactory
from tests.scheduling.factories import MembershipFactory, ServiceGroupFactory, SlotFactory


@pytest.mark.parametrize(
    ("participants", "grades", "required"),
    [(1, 6, 1), (499, 6, 1), (500, 6, 2), (1000, 6, 2), (1001, 6, 6), (3000, 9, 9)],
)
def test_administrative_duty_staff_follow_the_school_size(participants, grades, required):
    assert admin_duty_required(participants, grades) == required


@pytest.mark.django_db
def test_understaffed_days_are_flagged():
    term = TermFactory(start=date(2026, 9, 7), end=date(2026, 9, 9))  # Monday to Wednesday
    group = ServiceGroupFactory(term=term, name="一年级服务1班")
    MembershipFactory(group=group, student=StudentFactory())
    for weekday in range(3):
        SlotFactory(group=group, weekday=weekday)
    teacherless = ServiceGroupFactory(term=term, name="二年级服务1班", teacher=None)
    SlotFactory(group=teacherless, weekday=2, teacher=UserFactory())
    sessions_generate(term=term)
    leader, staff = UserFactory(username="leader"), UserFactory(username="staff")
    DutyDay.objects.create(school=term.school, date=date(2026, 9, 7), leader=leader).admin_staff.add(staff)
    DutyDay.objects.create(school=term.school, date=date(2026, 9, 8), leader=None)

    with translation.override("zh-hans"):
        problems = duty_problems(term)

    assert date(2026, 9, 7) not in problems
    assert problems[date(2026, 9, 8)] == ["没有值日领导。", "行政值班 0 人；参加学生 1 人，应配 1 人。"]
    assert problems[date(2026, 9, 9)] == ["当天未排值班。", "服务班 二年级服务1班 没有值班教师。"]
