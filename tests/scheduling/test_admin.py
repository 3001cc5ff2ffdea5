from datetime import date, time

import pytest
from django.urls import reverse

from scheduling.models import HolidayNotice, MakeupDayTimetable
from scheduling.services import sessions_generate
from tests.enrollment.factories import TermFactory
from tests.scheduling.factories import ServiceGroupFactory, SlotFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def term(school):
    return TermFactory(school=school, start=date(2026, 9, 1), end=date(2027, 1, 22))


def _groups(term, count, start=0):
    for index in range(start, start + count):
        group = ServiceGroupFactory(term=term, name=f"服务{index:02d}班")
        for weekday in range(5):
            SlotFactory(group=group, weekday=weekday, teacher=group.teacher)
            SlotFactory(group=group, weekday=weekday, start=time(17, 0), end=time(18, 0), teacher=group.teacher)


def test_week_grid_of_a_group_shows_its_slots(client, admin_user, term):
    _groups(term, 1)
    client.force_login(admin_user)
    group = term.service_groups.get()

    response = client.get(reverse("admin:scheduling_week"), {"group": group.pk})

    grid = response.context["grid"]
    assert [label for _value, label in grid.weekdays] == ["星期一", "星期二", "星期三", "星期四", "星期五"]
    assert [row[0] for row in grid.rows] == [(time(16, 0), time(17, 0)), (time(17, 0), time(18, 0))]
    assert "16:00–17:00" in response.content.decode()


@pytest.mark.parametrize("kind", ["group", "teacher", "room"])
def test_week_grids_run_a_fixed_number_of_queries(client, admin_user, term, kind, django_assert_max_num_queries):
    client.force_login(admin_user)
    _groups(term, 2)
    slot = term.service_groups.first().slots.first()
    subject = {"group": slot.group_id, "teacher": slot.teacher_id, "room": slot.room_id}[kind]
    with django_assert_max_num_queries(30) as few:
        client.get(reverse("admin:scheduling_week"), {kind: subject})
    _groups(term, 10, start=2)
    with django_assert_max_num_queries(30) as many:
        client.get(reverse("admin:scheduling_week"), {kind: subject})
    assert len(many) == len(few)


def test_term_calendar_says_which_year_is_missing_instead_of_guessing(client, admin_user, term):
    client.force_login(admin_user)

    response = client.get(reverse("admin:scheduling_calendar", args=[term.pk]))

    html = response.content.decode()
    assert response.status_code == 200
    assert "尚无 2027 年的法定节假日安排" in html
    assert response.context["calendar"].unknown_years == [2027]


def test_term_calendar_marks_holidays_make_up_days_and_closures(client, admin_user, term):
    from scheduling.services import closure_create

    notice = HolidayNotice.objects.create(year=2027, title="2027")
    notice.entries.create(kind="holiday", name="元旦", start=date(2027, 1, 1), end=date(2027, 1, 3))
    MakeupDayTimetable.objects.create(school=term.school, date=date(2026, 9, 20), weekday=3)
    closure_create(school=term.school, kind="exam", start=date(2026, 11, 9), end=date(2026, 11, 10), reason="期中考试")
    client.force_login(admin_user)

    calendar = client.get(reverse("admin:scheduling_calendar", args=[term.pk])).context["calendar"]

    days = {cell.day: cell for month in calendar.months for week in month.weeks for cell in week if cell.day}
    assert days[date(2026, 10, 1)].kind == "holiday"
    assert days[date(2026, 9, 20)].kind == "makeup" and "星期四" in days[date(2026, 9, 20)].label
    assert days[date(2026, 10, 10)].kind == "makeup" and "尚未指定" in days[date(2026, 10, 10)].label
    assert days[date(2026, 11, 9)].kind == "closure" and days[date(2026, 11, 9)].label == "期中考试"
    assert days[date(2027, 1, 1)].kind == "holiday" and days[date(2027, 1, 1)].label == "元旦"
    assert calendar.unknown_years == []
    # September 22 + October 18 + November 21 − 2 closed + December 23 + January 4–22 (15) = 97
    assert calendar.service_days == 97


def test_group_list_shows_the_five_plus_two_check_with_fixed_queries(
    client, admin_user, term, django_assert_max_num_queries
):
    client.force_login(admin_user)
    _groups(term, 2)
    with django_assert_max_num_queries(20) as few:
        response = client.get(reverse("admin:scheduling_servicegroup_changelist"))
    assert "✔" in response.content.decode()
    _groups(term, 20, start=2)
    with django_assert_max_num_queries(20) as many:
        client.get(reverse("admin:scheduling_servicegroup_changelist"))
    assert len(many) == len(few)


def test_duty_roster_list_flags_days_without_a_roster(client, admin_user, term):
    from scheduling.models import DutyDay

    HolidayNotice.objects.create(year=2027, title="2027")
    _groups(term, 1)
    sessions_generate(term=term)
    DutyDay.objects.create(school=term.school, date=date(2026, 9, 1))
    client.force_login(admin_user)

    response = client.get(reverse("admin:scheduling_dutyday_changelist"), follow=True)

    html = response.content.decode()
    assert "没有值日领导" in html
    assert "个服务日尚未排值班" in html


def test_teachers_cannot_open_the_scheduling_admin(client, homeroom_teacher, term):
    client.force_login(homeroom_teacher)
    assert client.get(reverse("admin:scheduling_week")).status_code == 403


def test_a_duty_day_page_lists_that_days_groups_and_teachers(client, admin_user, term):
    from scheduling.models import DutyDay

    HolidayNotice.objects.create(year=2027, title="2027")
    _groups(term, 1)
    sessions_generate(term=term)
    day = DutyDay.objects.create(school=term.school, date=date(2026, 9, 1))  # a Tuesday
    client.force_login(admin_user)

    html = client.get(reverse("admin:scheduling_dutyday_change", args=[day.pk])).content.decode()

    group = term.service_groups.get()
    assert f"{group.name} 16:00–17:00" in html and f"{group.name} 17:00–18:00" in html
