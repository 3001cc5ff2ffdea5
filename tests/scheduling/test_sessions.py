import math
from datetime import date, time

import pytest
from django.db import connection
from django.utils import timezone, translation

from enrollment.models import Notification
from scheduling.calendar import UnknownHolidayYear
from scheduling.models import HolidayNotice, MakeupDayTimetable, ServiceSeason, Session
from scheduling.services import closure_create, sessions_generate
from tests.enrollment.factories import (
    GradeFactory,
    GuardianFactory,
    HomeroomFactory,
    StudentFactory,
    StudentGuardianFactory,
    TermFactory,
)
from tests.scheduling.factories import MembershipFactory, ServiceGroupFactory, SlotFactory

pytestmark = pytest.mark.django_db
QUERIES_BESIDES_INSERTS = 12

# 22 working days: 21 weekdays and Sunday 20 September, a 调休 make-up day for National Day.
SEPTEMBER_2026 = {"start": date(2026, 9, 1), "end": date(2026, 9, 30)}


@pytest.fixture
def term():
    return TermFactory(**SEPTEMBER_2026)


def _groups_with_slots(term, groups, slots_per_group):
    for index in range(groups):
        group = ServiceGroupFactory(term=term, name=f"服务{index}班")
        for weekday in range(slots_per_group):
            SlotFactory(group=group, weekday=weekday)


def test_sessions_are_slots_times_service_days_and_a_second_run_creates_nothing(term):
    _groups_with_slots(term, groups=2, slots_per_group=5)

    first = sessions_generate(term=term)
    second = sessions_generate(term=term)

    assert first.created == Session.objects.count() == 2 * 21
    assert first.makeup_days_without_timetable == [date(2026, 9, 20)]
    assert (second.created, second.removed) == (0, 0)
    assert Session.objects.filter(date=date(2026, 9, 7), group__name="服务0班").count() == 1  # a Monday


def test_a_make_up_sunday_runs_the_timetable_the_school_chose_for_it(term):
    _groups_with_slots(term, groups=1, slots_per_group=5)
    MakeupDayTimetable.objects.create(school=term.school, date=date(2026, 9, 20), weekday=3)

    report = sessions_generate(term=term)

    assert report.created == 22 and report.makeup_days_without_timetable == []
    sunday = Session.objects.get(date=date(2026, 9, 20))
    assert sunday.slot.weekday == 3


def test_unconfirmed_groups_get_no_sessions(term):
    SlotFactory(group=ServiceGroupFactory(term=term, confirmed=False))
    assert sessions_generate(term=term).created == 0


def test_a_closure_removes_sessions_but_keeps_those_with_roll_call(term):
    _groups_with_slots(term, groups=1, slots_per_group=5)
    sessions_generate(term=term)
    Session.objects.filter(date=date(2026, 9, 8)).update(roll_call_at=timezone.now())

    closure_create(school=term.school, kind="weather", start=date(2026, 9, 7), end=date(2026, 9, 8), reason="台风")

    assert not Session.objects.filter(date=date(2026, 9, 7)).exists()
    assert Session.objects.filter(date=date(2026, 9, 8)).count() == 1  # roll call was taken: kept
    report = sessions_generate(term=term)
    assert (report.created, report.removed, report.kept_with_roll_call) == (0, 0, 1)


def test_sessions_end_at_the_seasons_end_time_and_vanish_when_nothing_is_left(term):
    group = ServiceGroupFactory(term=term)
    SlotFactory(group=group, weekday=0, start=time(17, 0), end=time(18, 30))
    SlotFactory(group=group, weekday=1, start=time(18, 0), end=time(19, 0))
    ServiceSeason.objects.create(
        school=term.school, name="秋", start_month=5, start_day=1, end_month=9, end_day=30, end_time=time(18, 0)
    )

    report = sessions_generate(term=term)

    assert {s.end for s in Session.objects.all()} == {time(18, 0)}
    assert (report.shortened, report.dropped_after_end_time) == (4, 5)  # 4 Mondays, 5 Tuesdays in Sept 2026


def test_a_term_into_an_unknown_year_refuses_to_generate():
    term = TermFactory(start=date(2026, 12, 1), end=date(2027, 1, 22))
    SlotFactory(group=ServiceGroupFactory(term=term))

    with pytest.raises(UnknownHolidayYear):
        sessions_generate(term=term)
    assert not Session.objects.exists()

    notice = HolidayNotice.objects.create(year=2027, title="2027")
    notice.entries.create(kind="holiday", name="元旦", start=date(2027, 1, 1), end=date(2027, 1, 3))
    assert sessions_generate(term=term).created == 7  # Mondays: 4 in December, 3 until Jan 22


@pytest.mark.parametrize("groups", [2, 12])
def test_generation_queries_do_not_grow_with_sessions(term, groups, django_assert_max_num_queries):
    _groups_with_slots(term, groups=groups, slots_per_group=5)

    with django_assert_max_num_queries(40) as captured:
        report = sessions_generate(term=term)

    assert report.created == groups * 21
    inserts = [q for q in captured.captured_queries if q["sql"].startswith("INSERT")]
    others = len(captured) - len(inserts)
    # Reads and deletes are pinned whatever the number of sessions; the new sessions go in as one
    # INSERT on PostgreSQL, and on SQLite one per 111 rows (Django's 999-parameter limit there).
    assert others == QUERIES_BESIDES_INSERTS
    fields = [f for f in Session._meta.concrete_fields if not f.primary_key]
    batch = connection.ops.bulk_batch_size(fields, [None] * report.created)
    assert len(inserts) == math.ceil(report.created / batch)


def test_closure_notifies_only_guardians_of_participating_students_in_affected_grades(term):
    grade_1, grade_2 = GradeFactory(school=term.school, number=1), GradeFactory(school=term.school, number=2)
    in_grade_1 = StudentFactory(homeroom=HomeroomFactory(grade=grade_1), name="参加一")
    in_grade_2 = StudentFactory(homeroom=HomeroomFactory(grade=grade_2), name="参加二")
    not_enrolled = StudentFactory(homeroom=in_grade_1.homeroom, name="未参加")
    for student, mobile in ((in_grade_1, "13700000001"), (in_grade_2, "13700000002"), (not_enrolled, "13700000003")):
        StudentGuardianFactory(student=student, guardian=GuardianFactory(mobile=mobile))
    group_1, group_2 = ServiceGroupFactory(term=term), ServiceGroupFactory(term=term)
    group_1.grades.add(grade_1)
    group_2.grades.add(grade_2)
    MembershipFactory(group=group_1, student=in_grade_1)
    MembershipFactory(group=group_2, student=in_grade_2)
    SlotFactory(group=group_1, weekday=2)
    SlotFactory(group=group_2, weekday=2)
    sessions_generate(term=term)

    with translation.override("en"):  # the admin works in English; guardians still read Chinese
        closure_create(
            school=term.school,
            kind="other",
            start=date(2026, 9, 9),
            end=date(2026, 9, 9),
            reason="一年级研学",
            grades=[grade_1],
        )

    notice = Notification.objects.get()
    assert notice.guardian.mobile == "13700000001"
    assert notice.subject == "2026年9月9日 至 2026年9月9日 暂停课后服务"
    assert "一年级研学" in notice.body and "请按正常放学时间接孩子" in notice.body
    assert Session.objects.filter(date=date(2026, 9, 9)).values_list("group", flat=True).get() == group_2.pk
