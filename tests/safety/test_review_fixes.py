"""Regressions from the safety review: school scoping, stale pickup codes, closing without roll
call, awaiting pickup between sessions, toggled absences, hand-edited posts, admin access."""

from datetime import datetime, time

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone, translation

from enrollment.models import Notification, StaffProfile, StudentGuardian
from safety.models import AbsenceFollowUp, Attendance, GateVisit, Incident, Release
from safety.selectors import duty_board
from safety.services import day_close, pickup_passes_for, release_record, roll_call_save
from scheduling.models import GroupMembership, Session
from tests.enrollment.factories import SchoolFactory, StaffProfileFactory, UserFactory
from tests.safety.factories import add_members
from tests.scheduling.factories import SlotFactory

pytestmark = pytest.mark.django_db
A = Attendance


@pytest.fixture(autouse=True)
def chinese():
    with translation.override("zh-hans"):
        yield


def test_a_gate_guard_sees_and_signs_out_only_the_own_schools_visitors(client, gate_guard):
    other_school = SchoolFactory(name="别的学校")
    other_guard = UserFactory(username="other_guard", roles=["门卫"])
    StaffProfileFactory(user=other_guard, school=other_school)
    foreign = GateVisit.objects.create(
        school=other_school, visitor="外校来访", purpose="x", in_at=timezone.now(), recorded_by=other_guard
    )
    client.force_login(gate_guard)

    page = client.get(reverse("safety:gate"))
    client.post(reverse("safety:gate"), {"out": foreign.pk})

    assert list(page.context["visits"]) == []
    foreign.refresh_from_db()
    assert foreign.out_at is None


def test_incidents_of_another_school_are_invisible(client, session, duty_leader):
    other_school = SchoolFactory(name="别的学校")
    reporter = UserFactory(username="elsewhere")
    foreign = Incident.objects.create(
        school=other_school,
        kind="injury",
        severity=1,
        occurred_at=timezone.now(),
        description="x",
        actions="y",
        reported_by=reporter,
    )
    client.force_login(duty_leader)
    assert client.get(reverse("safety:incident", args=[foreign.pk])).status_code == 404


def test_a_removed_guardians_code_no_longer_releases_the_child(
    session, service_teacher, homeroom_a, student_a, guardian
):
    GroupMembership.objects.create(group=session.group, student=student_a)
    roll_call_save(session=session, teacher=service_teacher, statuses={student_a.pk: A.PRESENT}, version=0)
    [code] = [p.code for p in pickup_passes_for(student=student_a, term=session.group.term)]
    StudentGuardian.objects.filter(student=student_a).delete()

    with pytest.raises(ValidationError, match="已失效"):
        release_record(session=session, student=student_a, teacher=service_teacher, code=code)


def test_a_day_without_roll_call_cannot_be_closed(session, service_teacher):
    with pytest.raises(ValidationError, match="尚未点名"):
        day_close(group=session.group, day=session.date, teacher=service_teacher)


def test_children_await_pickup_only_after_the_groups_last_session(session, service_teacher, homeroom_a):
    later_slot = SlotFactory(
        group=session.group, weekday=session.date.weekday(), start=time(17, 0), end=time(18, 0), teacher=service_teacher
    )
    later = Session.objects.create(
        slot=later_slot,
        group=session.group,
        date=session.date,
        start=later_slot.start,
        end=later_slot.end,
        activity=later_slot.activity,
        room=later_slot.room,
        teacher=service_teacher,
    )
    students = add_members(session, homeroom_a, 3)
    for s in (session, later):
        roll_call_save(session=s, teacher=service_teacher, statuses={st.pk: A.PRESENT for st in students}, version=0)
    school_id = session.group.term.school_id

    at_17_31 = duty_board(
        school_id=school_id, day=session.date, now=timezone.make_aware(datetime.combine(session.date, time(17, 31)))
    )
    at_18_31 = duty_board(
        school_id=school_id, day=session.date, now=timezone.make_aware(datetime.combine(session.date, time(18, 31)))
    )

    assert [row.counts["awaiting_pickup"] for row in at_17_31] == [0, 0]
    assert [row.counts["awaiting_pickup"] for row in at_18_31] == [0, 3]


def test_toggling_an_absence_reports_it_once_and_closes_the_follow_up_when_corrected(
    session, service_teacher, homeroom_a
):
    [student] = add_members(session, homeroom_a, 1, with_guardians=True)
    roll_call_save(session=session, teacher=service_teacher, statuses={student.pk: A.ABSENT}, version=0)
    roll_call_save(session=session, teacher=service_teacher, statuses={student.pk: A.PRESENT}, version=1)
    assert AbsenceFollowUp.objects.get().closed_at is not None
    roll_call_save(session=session, teacher=service_teacher, statuses={student.pk: A.ABSENT}, version=2)

    assert AbsenceFollowUp.objects.get().closed_at is None
    assert Notification.objects.filter(kind="safety.absence").count() == 2  # homeroom teacher + one guardian, once


@pytest.mark.parametrize(
    ("url_name", "field"), [("safety:gate", "out"), ("safety:follow_ups", "follow_up"), ("safety:handover", "homeroom")]
)
def test_hand_edited_ids_do_not_fail(client, request, url_name, field, gate_guard, homeroom_teacher):
    client.force_login(gate_guard if url_name == "safety:gate" else homeroom_teacher)
    assert client.post(reverse(url_name), {field: "x²"}).status_code in (302, 404)


def test_a_stale_page_after_a_conflict_shows_the_saved_state(client, session, service_teacher, homeroom_a):
    students = add_members(session, homeroom_a, 2)
    roll_call_save(session=session, teacher=service_teacher, statuses={s.pk: A.PRESENT for s in students}, version=0)
    roll_call_save(
        session=session,
        teacher=service_teacher,
        statuses={students[0].pk: A.LATE, students[1].pk: A.PRESENT},
        version=1,
    )
    client.force_login(service_teacher)

    response = client.post(
        reverse("safety:roll_call", args=[session.pk]),
        {"version": "1", f"s{students[0].pk}": A.PRESENT, f"s{students[1].pk}": A.UNWELL},
    )

    assert response.status_code == 409
    assert dict((s.pk, state) for s, state in response.context["rows"]) == {
        students[0].pk: A.LATE,
        students[1].pk: A.PRESENT,
    }
    assert response.context["version"] == 2


def test_the_school_admin_can_open_a_roll_call(client, session, admin_user):
    StaffProfile.objects.filter(user=admin_user).update(school=session.group.term.school)
    client.force_login(admin_user)
    assert client.get(reverse("safety:roll_call", args=[session.pk])).status_code == 200
    assert Release.objects.count() == 0
