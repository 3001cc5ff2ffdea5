"""The school the hostile posts are sent to: an open term with two families, two classes, a
service group with today's session and its roll call, and something in each list (an
application, a leave request, a follow-up, an incident, a message) for the forms to act on."""

import atexit
import shutil
import tempfile
from datetime import time, timedelta

import pytest
from django.utils import timezone
from hypothesis.configuration import set_hypothesis_home_dir

from enrollment import workflow
from enrollment.models import Application, LeaveRequest, Notification
from safety.models import AbsenceFollowUp, Attendance, Incident
from safety.services import pickup_passes_for, roll_call_save
from scheduling.models import GroupMembership, Session
from tests.enrollment.factories import GuardianFactory, StudentFactory, StudentGuardianFactory
from tests.scheduling.factories import ActivityFactory, ServiceGroupFactory, SlotFactory

# Hypothesis keeps caches under .hypothesis/ in the working directory: keep them out of the checkout.
_HYPOTHESIS_HOME = tempfile.mkdtemp(prefix="hypothesis-hostile-")
set_hypothesis_home_dir(_HYPOTHESIS_HOME)
atexit.register(shutil.rmtree, _HYPOTHESIS_HOME, ignore_errors=True)

EMERGENCY = {"emergency_name": "外婆", "emergency_mobile": "13700000000"}


@pytest.fixture
def client(client):
    """The test client, answering a server error with its 500 page instead of raising it, so
    that the test sees the status code (and the traceback on ``response.exc_info``)."""
    client.raise_request_exception = False
    return client


@pytest.fixture
def term(portal_term):
    return portal_term


@pytest.fixture
def clubs(school):
    return [
        ActivityFactory(school=school, name="围棋", category="club"),
        ActivityFactory(school=school, name="跆拳道", category="sports", requires_insurance=True),
    ]


@pytest.fixture
def family_b_application(term, other_guardian, student_b):
    """Family B's application: its id is what a hostile family A posts."""
    return workflow.application_save(
        term=term, student=student_b, guardian=other_guardian.guardian, fields=EMERGENCY, choices=[], persons=[],
        actor=other_guardian,
    )  # fmt: skip


@pytest.fixture
def family_a_application(term, guardian, student_a):
    return workflow.application_save(
        term=term, student=student_a, guardian=guardian.guardian, fields=EMERGENCY, choices=[], persons=[],
        actor=guardian,
    )  # fmt: skip


@pytest.fixture
def leave_requests(term, guardian, other_guardian, student_a, student_b):
    today = timezone.localdate()
    mine = LeaveRequest.objects.create(
        student=student_a, guardian=guardian.guardian, start=today, end=today + timedelta(days=1), reason="看病"
    )
    theirs = LeaveRequest.objects.create(
        student=student_b, guardian=other_guardian.guardian, start=today, end=today, reason="事假"
    )
    return mine, theirs


@pytest.fixture
def session(term, service_teacher):
    """Today's 16:00–17:00 session of service_teacher's group."""
    day = timezone.localdate()
    group = ServiceGroupFactory(term=term, name="三年级服务1班", teacher=service_teacher)
    slot = SlotFactory(group=group, weekday=day.weekday(), start=time(16, 0), end=time(17, 0), teacher=service_teacher)
    return Session.objects.create(
        slot=slot, group=group, date=day, start=slot.start, end=slot.end, activity=slot.activity, room=slot.room,
        teacher=service_teacher,
    )  # fmt: skip


@pytest.fixture
def members(session, homeroom_a, student_a, guardian):
    """student_a (family A) and two classmates, each with a guardian, in the session's group."""
    students = [student_a]
    for _ in range(2):
        student = StudentFactory(homeroom=homeroom_a)
        StudentGuardianFactory(student=student, guardian=GuardianFactory())
        students.append(student)
    for student in students:
        GroupMembership.objects.create(group=session.group, student=student)
    return students


@pytest.fixture
def roll_call(session, service_teacher, members):
    """Roll call taken: student_a present, one classmate unwell (both on site), one absent."""
    first, second, third = members
    statuses = {first.pk: Attendance.PRESENT, second.pk: Attendance.UNWELL, third.pk: Attendance.ABSENT}
    taken = roll_call_save(session=session, teacher=service_teacher, statuses=statuses, version=0)
    for student in members:
        pickup_passes_for(student=student, term=session.group.term)  # made once, before any example
    return taken


@pytest.fixture
def follow_up(roll_call):
    return AbsenceFollowUp.objects.get()


@pytest.fixture
def incident(school, session, service_teacher, members):
    incident = Incident.objects.create(
        school=school, kind="injury", severity=1, occurred_at=timezone.now(), group=session.group,
        description="膝盖擦伤", actions="已消毒", reported_by=service_teacher,
    )  # fmt: skip
    incident.students.set(members[:1])
    return incident


@pytest.fixture
def messages_for(guardian, other_guardian):
    """Two unread messages for family A, one for family B."""
    mine = [
        Notification.objects.create(recipient=guardian, guardian=guardian.guardian, kind="t", subject="一", body="一")
        for _ in range(2)
    ]
    theirs = Notification.objects.create(
        recipient=other_guardian, guardian=other_guardian.guardian, kind="t", subject="二", body="二"
    )
    return mine, theirs


@pytest.fixture
def placed_application(term, student_a, guardian):
    return Application.objects.create(
        term=term, student=student_a, guardian=guardian.guardian, status="placed", **EMERGENCY
    )
