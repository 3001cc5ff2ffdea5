from datetime import datetime, timedelta

import pytest
from django.core.exceptions import ValidationError

from enrollment.models import Grade
from scheduling.models import GroupMembership, ServiceGroup, WaitlistEntry
from scheduling.placement import Candidate, Priority, propose
from scheduling.services import groups_confirm, placement_apply
from tests.enrollment.factories import GradeFactory, HomeroomFactory, StudentFactory, TermFactory

T0 = datetime(2026, 8, 25, 8, 0)
LIMITS = {"max_group_size": 45, "max_temporary_group_size": 40, "min_grade_size": 20}


def _candidates(grade, count, start=0, priority=Priority.NONE, homeroom=1):
    return [
        Candidate(
            student_id=start + i,
            grade=grade,
            homeroom=homeroom,
            submitted_at=T0 + timedelta(minutes=start + i),
            priority=priority,
        )
        for i in range(count)
    ]


def _shape(proposal):
    return [(group.grades, len(group.members)) for group in proposal.groups]


def test_each_large_grade_gets_its_own_balanced_groups():
    proposal = propose(_candidates(3, 50) + _candidates(4, 45, start=100), **LIMITS)
    assert _shape(proposal) == [((3,), 25), ((3,), 25), ((4,), 45)]
    assert proposal.waitlist == []


def test_a_small_grade_is_merged_inside_its_stage_into_a_temporary_group():
    proposal = propose(_candidates(1, 12) + _candidates(2, 30, start=100), **LIMITS)
    assert _shape(proposal) == [((1, 2), 21), ((1, 2), 21)]  # 42 > 40, the temporary limit
    assert all(group.temporary for group in proposal.groups)


def test_small_grades_of_different_stages_are_never_merged():
    proposal = propose(_candidates(2, 10) + _candidates(3, 10, start=100), **LIMITS)
    assert _shape(proposal) == [((2,), 10), ((3,), 10)]


def test_two_small_grades_of_one_stage_merge_together_not_with_a_large_one():
    proposal = propose(_candidates(7, 10) + _candidates(8, 15, start=100) + _candidates(9, 40, start=200), **LIMITS)
    assert _shape(proposal) == [((7, 8), 25), ((9,), 40)]


def test_places_go_by_priority_then_lower_grade_then_submission_the_rest_wait():
    late_priority = _candidates(6, 1, start=900, priority=Priority.LEFT_BEHIND)  # submitted last
    grade_5 = _candidates(5, 30, start=0)
    grade_6 = _candidates(6, 30, start=300)

    proposal = propose(grade_5 + grade_6 + late_priority, max_groups=1, **LIMITS)

    placed = {c.student_id for group in proposal.groups for c in group.members}
    assert 900 in placed  # priority beats everything
    assert {c.student_id for c in grade_5} <= placed  # then the lower grade
    # The 10 grade-6 students who fit are fewer than 20, so they join grade 5 in one temporary
    # group, whose limit is 40: 1 + 30 + 9 placed, the other grade-6 students wait by submission.
    assert _shape(proposal) == [((5, 6), 40)]
    assert [c.student_id for c in proposal.waitlist] == [c.student_id for c in grade_6[9:]]


@pytest.mark.django_db
def test_placement_is_stored_as_unconfirmed_groups_and_a_waitlist_then_confirmed():
    term = TermFactory()
    grade = GradeFactory(school=term.school, number=1)
    homeroom = HomeroomFactory(grade=grade, number=1)
    students = [StudentFactory(homeroom=homeroom) for _ in range(50)]
    candidates = [
        Candidate(student_id=s.pk, grade=1, homeroom=1, submitted_at=T0 + timedelta(minutes=i))
        for i, s in enumerate(students)
    ]

    placement_apply(term=term, candidates=candidates, max_groups=1)

    group = ServiceGroup.objects.get()
    assert (group.name, group.confirmed, group.memberships.count()) == ("一年级服务1班", False, 45)
    assert list(group.grades.all()) == list(Grade.objects.filter(number=1))
    assert list(WaitlistEntry.objects.values_list("student_id", "position")) == [
        (s.pk, i + 1) for i, s in enumerate(students[45:])
    ]

    assert groups_confirm(groups=ServiceGroup.objects.all()) == 1
    assert ServiceGroup.objects.get().confirmed


@pytest.mark.django_db
def test_confirming_an_overfull_group_is_refused():
    term = TermFactory()
    group = ServiceGroup.objects.create(term=term, name="临时班", kind="temporary")
    GroupMembership.objects.bulk_create(GroupMembership(group=group, student=StudentFactory()) for _ in range(41))

    with pytest.raises(ValidationError, match="41"):
        groups_confirm(groups=ServiceGroup.objects.all())
    assert not ServiceGroup.objects.get().confirmed
