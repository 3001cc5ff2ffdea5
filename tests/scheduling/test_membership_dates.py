"""Membership has a first and a last day; one selector says who is in a group on a day."""

from datetime import date, time, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from safety.models import Attendance
from safety.services import roll_call_save, session_student_ids, session_students
from scheduling.models import GroupMembership, Session
from scheduling.selectors import member_ids_on, members_on, places_taken
from scheduling.services import group_add_students, memberships_end
from tests.clock import TODAY
from tests.enrollment.factories import StudentFactory, TermFactory
from tests.scheduling.factories import ServiceGroupFactory, SlotFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def term(school):
    return TermFactory(school=school, start=TODAY - timedelta(days=30), end=TODAY + timedelta(days=60))


@pytest.fixture
def group(term, service_teacher):
    return ServiceGroupFactory(term=term, teacher=service_teacher)


def _session(group, day, teacher):
    slot = SlotFactory(group=group, weekday=day.weekday(), start=time(16), end=time(17), teacher=teacher)
    return Session.objects.create(
        slot=slot, group=group, date=day, start=slot.start, end=slot.end, activity=slot.activity,
        room=slot.room, teacher=teacher,
    )  # fmt: skip


def test_a_late_joiner_is_not_in_the_roll_calls_before_the_day_they_joined(group, homeroom_a, service_teacher):
    earlier, joined = TODAY - timedelta(days=7), TODAY
    first = StudentFactory(homeroom=homeroom_a)
    late = StudentFactory(homeroom=homeroom_a)
    GroupMembership.objects.create(group=group, student=first)
    group_add_students(group=group, students=[late])  # added today, after the term began
    assert GroupMembership.objects.get(student=late).joined_on == joined

    last_week = _session(group, earlier, service_teacher)
    assert [s.pk for s in session_students(last_week)] == [first.pk]
    assert session_student_ids(last_week) == {first.pk}
    # The earlier roll call is saved with the members of that day only.
    roll_call_save(session=last_week, teacher=service_teacher, statuses={first.pk: Attendance.PRESENT}, version=None)
    with pytest.raises(ValidationError):
        roll_call_save(
            session=last_week, teacher=service_teacher, version=1,
            statuses={first.pk: Attendance.PRESENT, late.pk: Attendance.PRESENT}, reason="补录",
        )  # fmt: skip
    assert member_ids_on(group.pk, joined) == {first.pk, late.pk}


def test_a_child_who_leaves_and_comes_back_is_absent_from_the_gap(group, homeroom_a):
    child = StudentFactory(homeroom=homeroom_a)
    GroupMembership.objects.create(group=group, student=child)
    gone, back = TODAY - timedelta(days=20), TODAY - timedelta(days=10)
    memberships_end(term=group.term, student=child, on=gone)
    group_add_students(group=group, students=[child], joined_on=back)

    assert GroupMembership.objects.filter(group=group, student=child).count() == 2
    assert not members_on(group.pk, gone).exists()
    assert not members_on(group.pk, back - timedelta(days=1)).exists()
    assert list(members_on(group.pk, back)) == [child]
    assert list(members_on(group.pk, gone - timedelta(days=1))) == [child]
    assert places_taken(group.pk, TODAY) == 1


def test_a_child_moved_between_groups_leaves_both_groups_valid(term, group, homeroom_a, service_teacher):
    other = ServiceGroupFactory(term=term, teacher=service_teacher)
    SlotFactory(group=group, weekday=0, start=time(16), end=time(17), teacher=service_teacher)
    SlotFactory(group=other, weekday=0, start=time(16), end=time(17), teacher=service_teacher)
    child = StudentFactory(homeroom=homeroom_a)
    GroupMembership.objects.create(group=group, student=child)

    # Still in the first group on the day of the move: the second group refuses the overlap.
    with pytest.raises(ValidationError, match=group.name):
        group_add_students(group=other, students=[child], joined_on=TODAY)
    memberships_end(term=term, student=child, on=TODAY)
    group_add_students(group=other, students=[child], joined_on=TODAY)

    assert member_ids_on(group.pk, TODAY - timedelta(days=1)) == {child.pk}
    assert member_ids_on(group.pk, TODAY) == set()
    assert member_ids_on(other.pk, TODAY) == {child.pk}
    assert (places_taken(group.pk, TODAY), places_taken(other.pk, TODAY)) == (0, 1)


def test_leaving_before_a_planned_start_removes_the_membership_that_never_held_a_day(group, homeroom_a):
    child = StudentFactory(homeroom=homeroom_a)
    group_add_students(group=group, students=[child], joined_on=TODAY + timedelta(days=7))
    memberships_end(term=group.term, student=child, on=TODAY + timedelta(days=3))
    assert not GroupMembership.objects.filter(student=child).exists()


def test_the_database_refuses_two_open_memberships_and_a_leaving_before_joining(group, homeroom_a):
    child = StudentFactory(homeroom=homeroom_a)
    GroupMembership.objects.create(group=group, student=child)
    with pytest.raises(IntegrityError), transaction.atomic():
        GroupMembership.objects.create(group=group, student=child)
    with pytest.raises(IntegrityError), transaction.atomic():
        GroupMembership.objects.create(
            group=group,
            student=StudentFactory(homeroom=homeroom_a),
            joined_on=date(2026, 11, 2),
            left_on=date(2026, 11, 2),
        )


def test_before_the_term_starts_a_child_is_a_member_from_its_first_day(school, homeroom_a, service_teacher):
    term = TermFactory(school=school, start=TODAY + timedelta(days=10), end=TODAY + timedelta(days=100))
    group = ServiceGroupFactory(term=term, teacher=service_teacher)
    child = StudentFactory(homeroom=homeroom_a)
    group_add_students(group=group, students=[child])
    assert GroupMembership.objects.get(student=child).joined_on is None
    assert member_ids_on(group.pk, term.start) == {child.pk}
