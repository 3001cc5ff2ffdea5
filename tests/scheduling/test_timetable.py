from datetime import time

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from scheduling.models import TimetableSlot
from scheduling.services import group_add_students, group_week_problems, slot_save, timetable_conflicts
from tests.enrollment.factories import StudentFactory, TermFactory, UserFactory
from tests.scheduling.factories import MembershipFactory, RoomFactory, ServiceGroupFactory, SlotFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def term():
    return TermFactory()


@pytest.fixture(autouse=True)
def chinese():
    with translation.override("zh-hans"):
        yield


def _new_slot(group, **fields):
    base = SlotFactory.build(group=group)
    base.activity.save()
    base.room.save()
    for name, value in fields.items():
        setattr(base, name, value)
    return base


def test_a_room_booked_twice_is_refused_naming_both_bookings(term):
    first = SlotFactory(group=ServiceGroupFactory(term=term, name="一年级服务1班"))
    second = _new_slot(
        ServiceGroupFactory(term=term, name="二年级服务1班"), room=first.room, start=time(16, 30), end=time(17, 30)
    )

    problems = timetable_conflicts(second)

    assert problems == [
        f"场地 {first.room} 时间冲突：二年级服务1班 星期一 16:30–17:30 与 一年级服务1班 星期一 16:00–17:00。"
    ]
    with pytest.raises(ValidationError):
        slot_save(second)
    assert TimetableSlot.objects.count() == 1


def test_a_teacher_booked_twice_is_refused(term):
    teacher = UserFactory(username="zhang", first_name="张老师")
    SlotFactory(group=ServiceGroupFactory(term=term, name="甲班"), teacher=teacher)
    second = _new_slot(ServiceGroupFactory(term=term, name="乙班"), teacher=teacher)

    assert timetable_conflicts(second) == ["教师 张老师 时间冲突：乙班 星期一 16:00–17:00 与 甲班 星期一 16:00–17:00。"]


def test_a_student_in_two_groups_at_the_same_time_is_refused(term):
    student = StudentFactory(name="王小明")
    club = ServiceGroupFactory(term=term, name="篮球班")
    care = ServiceGroupFactory(term=term, name="看护班")
    MembershipFactory(group=club, student=student)
    MembershipFactory(group=care, student=student)
    SlotFactory(group=club)

    problems = timetable_conflicts(_new_slot(care, start=time(16, 45), end=time(17, 45)))

    assert problems == ["学生 王小明 将同时在两个服务班：看护班 星期一 16:45–17:45 与 篮球班 星期一 16:00–17:00。"]


def test_adding_a_student_to_a_group_that_meets_at_the_same_time_is_refused(term):
    student = StudentFactory(name="王小明")
    club, care = ServiceGroupFactory(term=term, name="篮球班"), ServiceGroupFactory(term=term, name="看护班")
    MembershipFactory(group=club, student=student)
    SlotFactory(group=club)
    SlotFactory(group=care, start=time(16, 30), end=time(17, 30))

    with pytest.raises(ValidationError, match="学生 王小明 同一时间在服务班 篮球班"):
        group_add_students(group=care, students=[student])
    assert not care.memberships.exists()


def test_a_group_larger_than_its_room_is_refused(term):
    group = ServiceGroupFactory(term=term, name="三年级服务1班")
    for _ in range(31):
        MembershipFactory(group=group, student=StudentFactory())
    small = RoomFactory(school=term.school, name="小教室", capacity=30)

    assert timetable_conflicts(_new_slot(group, room=small)) == [
        "服务班 三年级服务1班 有 31 名学生，但场地 小教室 只能容纳 30 人。"
    ]


def test_back_to_back_slots_do_not_conflict_and_other_terms_do_not_count(term):
    first = SlotFactory(group=ServiceGroupFactory(term=term))
    same_room_after = _new_slot(
        ServiceGroupFactory(term=term), room=first.room, teacher=first.teacher, start=time(17, 0), end=time(18, 0)
    )
    other_term = _new_slot(
        ServiceGroupFactory(term=TermFactory(school=term.school)), room=first.room, teacher=first.teacher
    )

    assert timetable_conflicts(same_room_after) == []
    assert timetable_conflicts(other_term) == []


def test_a_group_may_not_exceed_45_or_a_temporary_group_40(term):
    regular = ServiceGroupFactory(term=term)
    temporary = ServiceGroupFactory(term=term, kind="temporary")
    students = [StudentFactory() for _ in range(46)]

    with pytest.raises(ValidationError, match="最多 45 人"):
        group_add_students(group=regular, students=students)
    group_add_students(group=regular, students=students[:45])
    with pytest.raises(ValidationError, match="最多 40 人"):
        group_add_students(group=temporary, students=students[:41])
    assert regular.memberships.count() == 45 and temporary.memberships.count() == 0


def test_five_plus_two_check(term):
    group = ServiceGroupFactory(term=term)
    for weekday in range(4):
        SlotFactory(group=group, weekday=weekday, start=time(16, 0), end=time(17, 0), teacher=group.teacher)
        SlotFactory(group=group, weekday=weekday, start=time(17, 0), end=time(18, 0), teacher=group.teacher)
    SlotFactory(group=group, weekday=4, start=time(15, 30), end=time(16, 30), teacher=group.teacher)

    assert group_week_problems(group) == [
        "星期五：服务 60 分钟，至少需要 120 分钟。",
        "星期五：服务 16:30 结束，早于当地下班时间 17:00。",
    ]
    SlotFactory(group=group, weekday=4, start=time(16, 30), end=time(17, 30), teacher=group.teacher)
    assert group_week_problems(group) == []
