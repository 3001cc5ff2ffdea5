"""Regressions found in review: second placement batch, timetable and membership admin forms,
updated and weekend sessions, closures announced before sessions exist."""

from datetime import date, time, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from enrollment.models import Notification
from scheduling.models import GroupMembership, ServiceGroup, Session, TimetableSlot, WaitlistEntry
from scheduling.placement import Candidate
from scheduling.services import closure_create, placement_apply, sessions_generate
from tests.enrollment.factories import (
    GradeFactory,
    GuardianFactory,
    HomeroomFactory,
    StudentFactory,
    StudentGuardianFactory,
    TermFactory,
)
from tests.scheduling.factories import RoomFactory, ServiceGroupFactory, SlotFactory

pytestmark = pytest.mark.django_db
SEPTEMBER = {"start": date(2026, 9, 1), "end": date(2026, 9, 30)}


def test_a_second_placement_batch_gets_new_groups_and_keeps_the_waitlist(school):
    term = TermFactory(school=school, **SEPTEMBER)
    homeroom = HomeroomFactory(grade=GradeFactory(school=school, number=1), number=1)
    students = [StudentFactory(homeroom=homeroom) for _ in range(60)]
    t0 = timezone.now()

    def batch(chosen, start):
        return [
            Candidate(student_id=s.pk, grade=1, homeroom=1, submitted_at=t0 + timedelta(minutes=start + i))
            for i, s in enumerate(chosen)
        ]

    placement_apply(term=term, candidates=batch(students[:50], 0), max_groups=1)
    placement_apply(term=term, candidates=batch(students[50:], 100), max_groups=0)

    assert list(ServiceGroup.objects.values_list("name", flat=True)) == ["一年级服务1班"]
    positions = list(WaitlistEntry.objects.order_by("position").values_list("student_id", "position"))
    assert positions == [(s.pk, i + 1) for i, s in enumerate(students[45:])]

    placement_apply(term=term, candidates=batch(students[45:50], 200), max_groups=1)
    assert sorted(ServiceGroup.objects.values_list("name", flat=True)) == ["一年级服务1班", "一年级服务2班"]


def test_future_sessions_follow_a_changed_slot_but_past_ones_and_roll_calls_stay():
    term = TermFactory(**SEPTEMBER)
    slot = SlotFactory(group=ServiceGroupFactory(term=term), weekday=0)
    sessions_generate(term=term)
    Session.objects.filter(date=date(2026, 9, 21)).update(roll_call_at=timezone.now())
    new_room = RoomFactory(school=term.school, name="阅览室")
    TimetableSlot.objects.filter(pk=slot.pk).update(room=new_room, end=time(17, 30))

    report = sessions_generate(term=term, today=date(2026, 9, 10))

    rooms = dict(Session.objects.values_list("date", "room__name"))
    assert report.updated == 2  # 14 and 28 September
    assert rooms[date(2026, 9, 7)] != "阅览室" and rooms[date(2026, 9, 21)] != "阅览室"
    assert rooms[date(2026, 9, 14)] == rooms[date(2026, 9, 28)] == "阅览室"


def test_saturday_slots_run_on_ordinary_saturdays_not_on_holidays_or_make_up_days():
    term = TermFactory(start=date(2026, 9, 26), end=date(2026, 10, 24))
    SlotFactory(group=ServiceGroupFactory(term=term), weekday=5, start=time(9, 0), end=time(11, 0))

    sessions_generate(term=term)

    # 26 Sep is Mid-Autumn, 3 Oct National Day; 10 Oct is a make-up working day (it runs a weekday
    # timetable, once chosen).
    assert sorted(Session.objects.values_list("date", flat=True)) == [date(2026, 10, 17), date(2026, 10, 24)]


def test_a_closure_reaches_members_even_before_sessions_exist_and_not_those_who_left(school):
    term = TermFactory(school=school, start=date(2026, 12, 1), end=date(2027, 1, 22))
    grade = GradeFactory(school=school, number=2)
    group = ServiceGroupFactory(term=term)
    group.grades.add(grade)
    staying, leaving = (StudentFactory(homeroom=HomeroomFactory(grade=grade)) for _ in range(2))
    for student, mobile in ((staying, "13700000011"), (leaving, "13700000012")):
        StudentGuardianFactory(student=student, guardian=GuardianFactory(mobile=mobile))
        GroupMembership.objects.create(group=group, student=student)
    GroupMembership.objects.filter(student=leaving).update(left_on=date(2026, 12, 10))

    closure = closure_create(
        school=school, kind="weather", start=date(2026, 12, 14), end=date(2026, 12, 14), reason="暴雪"
    )

    assert closure.pk
    assert list(Notification.objects.values_list("guardian__mobile", flat=True)) == ["13700000011"]


def test_adding_a_timetable_slot_in_the_admin_shows_conflicts_instead_of_failing(client, admin_user, school):
    term = TermFactory(school=school, **SEPTEMBER)
    booked = SlotFactory(group=ServiceGroupFactory(term=term, name="甲班"))
    group = ServiceGroupFactory(term=term, name="乙班")
    client.force_login(admin_user)
    url = reverse("admin:scheduling_servicegroup_change", args=[group.pk])
    form = client.get(url).context["adminform"].form

    def post(*slots):
        data = {
            "term": term.pk,
            "name": group.name,
            "kind": "regular",
            "grades": [],
            "teacher": group.teacher_id,
            "slots-TOTAL_FORMS": len(slots),
            "slots-INITIAL_FORMS": 0,
            "memberships-TOTAL_FORMS": 0,
            "memberships-INITIAL_FORMS": 0,
        }
        for index, slot in enumerate(slots):
            data |= {f"slots-{index}-{key}": value for key, value in slot.items()}
        return client.post(url, data)

    same_room = {
        "weekday": 0,
        "start": "16:30",
        "end": "17:30",
        "activity": booked.activity_id,
        "room": booked.room_id,
        "teacher": group.teacher_id,
    }
    response = post(same_room)
    assert response.status_code == 200 and "时间冲突" in response.content.decode()
    assert TimetableSlot.objects.count() == 1

    other_room = RoomFactory(school=school, name="另一间")
    response = post(
        {**same_room, "room": other_room.pk}, {**same_room, "room": other_room.pk, "start": "17:00", "end": "18:00"}
    )
    assert "重叠" in response.content.decode()
    assert TimetableSlot.objects.count() == 1
    assert form is not None


def test_a_child_without_an_approved_application_cannot_be_added_in_the_admin(client, admin_user, school, student_a):
    term = TermFactory(school=school, **SEPTEMBER)
    group = ServiceGroupFactory(term=term)
    client.force_login(admin_user)
    data = {
        "term": term.pk,
        "name": group.name,
        "kind": "regular",
        "teacher": group.teacher_id,
        "slots-TOTAL_FORMS": 0,
        "slots-INITIAL_FORMS": 0,
        "memberships-TOTAL_FORMS": 1,
        "memberships-INITIAL_FORMS": 0,
        "memberships-0-student": student_a.pk,
    }

    response = client.post(reverse("admin:scheduling_servicegroup_change", args=[group.pk]), data)

    assert "没有经学校复核通过的申请" in response.content.decode()
    assert not GroupMembership.objects.exists()


@pytest.mark.parametrize("query", ["group=", "room=x", "teacher=-1", "group=999999"])
def test_the_week_grid_never_fails_on_a_hand_edited_address(client, admin_user, query):
    client.force_login(admin_user)
    assert client.get(reverse("admin:scheduling_week") + "?" + query).status_code in (200, 404)
