from datetime import date

import pytest
from django.utils import translation

from scheduling.calendar import UnknownHolidayYear, is_statutory_workday, service_days, statutory_workdays
from scheduling.models import Closure, HolidayNotice
from tests.enrollment.factories import GradeFactory, TermFactory

pytestmark = pytest.mark.django_db

# The 2026 State Council notice, month by month.
WORKDAYS_2026 = [21, 16, 22, 21, 19, 21, 23, 21, 22, 18, 21, 23]


def test_2026_working_days_follow_the_state_council_notice():
    assert [statutory_workdays(2026, month) for month in range(1, 13)] == WORKDAYS_2026


def test_2026_spring_festival_and_its_make_up_saturday():
    assert is_statutory_workday(date(2026, 2, 17)) is False  # 春节
    assert is_statutory_workday(date(2026, 2, 14)) is True  # Saturday, 调休上班


def test_2027_is_refused_with_a_chinese_message_naming_the_year():
    with pytest.raises(UnknownHolidayYear) as excinfo:
        statutory_workdays(2027, 1)
    with translation.override("zh-hans"):
        assert "2027" in str(excinfo.value) and "节假日" in str(excinfo.value)


def _enter_2027_new_year():
    notice = HolidayNotice.objects.create(year=2027, title="2027年部分节假日安排")
    notice.entries.create(kind="holiday", name="元旦", start=date(2027, 1, 1), end=date(2027, 1, 3))
    return notice


def test_an_entered_2027_notice_answers_january():
    _enter_2027_new_year()
    # January 2027 has 21 weekdays; New Year's Day is a Friday.
    assert statutory_workdays(2027, 1) == 20
    assert is_statutory_workday(date(2027, 1, 1)) is False
    assert is_statutory_workday(date(2027, 1, 4)) is True


def test_an_entered_notice_takes_precedence_over_the_package():
    notice = HolidayNotice.objects.create(year=2026, title="2026 (school's copy)")
    notice.entries.create(kind="workday", name="调休", start=date(2026, 3, 7), end=date(2026, 3, 7))  # a Saturday
    assert is_statutory_workday(date(2026, 3, 7)) is True
    assert statutory_workdays(2026, 3) == 23  # 22 weekdays + the entered Saturday; no package holidays apply


def test_service_days_are_working_days_minus_closures():
    term = TermFactory(start=date(2026, 9, 1), end=date(2026, 9, 30))
    grade = GradeFactory(school=term.school, number=1)
    assert len(service_days(term)) == 22
    Closure.objects.create(school=term.school, kind="exam", start=date(2026, 9, 7), end=date(2026, 9, 8), reason="期中")
    only_grade_1 = Closure.objects.create(
        school=term.school, kind="other", start=date(2026, 9, 9), end=date(2026, 9, 9), reason="研学"
    )
    only_grade_1.grades.add(grade)

    assert len(service_days(term)) == 20
    assert len(service_days(term, grade=grade)) == 19


def test_a_term_running_into_an_unknown_year_is_refused_not_guessed():
    term = TermFactory(start=date(2026, 9, 1), end=date(2027, 1, 22))
    with pytest.raises(UnknownHolidayYear):
        service_days(term)
    _enter_2027_new_year()
    days = service_days(term)
    assert date(2027, 1, 1) not in days and date(2027, 1, 22) in days


def test_a_notice_may_reach_into_the_previous_december():
    from django.core.exceptions import ValidationError

    from scheduling.models import HolidayNoticeEntry

    notice = HolidayNotice.objects.create(year=2027, title="2027")
    makeup = HolidayNoticeEntry(
        notice=notice, kind="workday", name="元旦调休", start=date(2026, 12, 26), end=date(2026, 12, 26)
    )
    makeup.full_clean()
    makeup.save()
    assert is_statutory_workday(date(2026, 12, 26)) is True  # a Saturday, made a working day by the 2027 notice
    assert is_statutory_workday(date(2026, 12, 27)) is False  # the package still answers the rest of 2026
    with pytest.raises(ValidationError):
        HolidayNoticeEntry(
            notice=notice, kind="holiday", name="x", start=date(2026, 11, 30), end=date(2026, 11, 30)
        ).full_clean()


def test_public_holidays_are_told_apart_from_ordinary_weekends():
    from scheduling.calendar import HolidayCalendar

    calendar = HolidayCalendar()
    assert calendar.is_public_holiday(date(2026, 10, 3)) is True  # National Day, a Saturday
    assert calendar.is_public_holiday(date(2026, 10, 17)) is False  # an ordinary Saturday
    assert calendar.is_public_holiday(date(2026, 10, 10)) is False  # a make-up working Saturday
