"""Personas for every test: two families, two homeroom teachers and one of each other role.

A permission test is then one line: log in as ``other_guardian`` and expect 404.
"""

import pytest
import time_machine
from django.conf import settings

from enrollment.roles import Role
from tests.clock import NOW
from tests.enrollment.factories import (
    GradeFactory,
    GuardianFactory,
    HomeroomFactory,
    SchoolFactory,
    StaffProfileFactory,
    StudentFactory,
    StudentGuardianFactory,
    UserFactory,
)


def pytest_report_header(config):
    db = settings.DATABASES["default"]
    vendor = db["ENGINE"].rsplit(".", 1)[-1]
    if vendor == "sqlite3":
        return "database: sqlite3 (in-memory test database)"
    return f"database: {vendor} at {db.get('HOST')}:{db.get('PORT')}, test database test_{db['NAME']}"


@pytest.fixture(autouse=True)
def _frozen_clock():
    """Every test starts at tests.clock.NOW, whatever the machine's time."""
    with time_machine.travel(NOW, tick=True):
        yield


def _staff(username, *roles, is_staff=False, school):
    user = UserFactory(username=username, roles=list(roles), is_staff=is_staff)
    StaffProfileFactory(user=user, school=school, name=username)
    return user


@pytest.fixture
def school(db):
    return SchoolFactory()


@pytest.fixture
def homeroom_teacher(school):
    return _staff("teacher_a", Role.HOMEROOM_TEACHER, school=school)


@pytest.fixture
def other_homeroom_teacher(school):
    return _staff("teacher_b", Role.HOMEROOM_TEACHER, school=school)


@pytest.fixture
def service_teacher(school):
    return _staff("service_teacher", Role.SERVICE_TEACHER, school=school)


@pytest.fixture
def duty_leader(school):
    return _staff("duty_leader", Role.DUTY_LEADER, school=school)


@pytest.fixture
def finance(school):
    return _staff("finance", Role.FINANCE, is_staff=True, school=school)


@pytest.fixture
def gate_guard(school):
    return _staff("gate_guard", Role.GATE_GUARD, school=school)


@pytest.fixture
def admin_user(school):
    return _staff("school_admin", Role.ADMIN, is_staff=True, school=school)


@pytest.fixture
def homeroom_a(school, homeroom_teacher):
    return HomeroomFactory(grade=GradeFactory(school=school, number=3), number=1, teacher=homeroom_teacher)


@pytest.fixture
def homeroom_b(school, other_homeroom_teacher):
    return HomeroomFactory(grade=GradeFactory(school=school, number=3), number=2, teacher=other_homeroom_teacher)


@pytest.fixture
def student_a(homeroom_a):
    return StudentFactory(homeroom=homeroom_a, name="王小明")


@pytest.fixture
def student_b(homeroom_b):
    return StudentFactory(homeroom=homeroom_b, name="李小红")


@pytest.fixture
def guardian(student_a):
    """The guardian of student_a (family A), with a log-in."""
    user = UserFactory(username="guardian_a", roles=[Role.GUARDIAN])
    link = StudentGuardianFactory(
        student=student_a, guardian=GuardianFactory(user=user, name="王建国", mobile="13911112222")
    )
    return link.guardian.user


@pytest.fixture
def other_guardian(student_b):
    """The guardian of student_b (family B), with a log-in."""
    user = UserFactory(username="guardian_b", roles=[Role.GUARDIAN])
    link = StudentGuardianFactory(
        student=student_b, guardian=GuardianFactory(user=user, name="李大山", mobile="13933334444")
    )
    return link.guardian.user


@pytest.fixture
def open_term(school):
    """A term running now, with its application window open."""
    from datetime import timedelta

    from django.utils import timezone

    from tests.enrollment.factories import TermFactory

    today = timezone.localdate()
    return TermFactory(
        school=school,
        start=today - timedelta(days=20),
        end=today + timedelta(days=100),
        application_opens=today - timedelta(days=10),
        application_closes=today + timedelta(days=10),
    )


@pytest.fixture
def portal_term(open_term):
    """The open term as guardians meet it: survey open, an agreement text, a published notice."""
    from enrollment.models import AgreementText, ParentNotice

    open_term.survey_open = True
    open_term.save(update_fields=["survey_open"])
    AgreementText.objects.create(term=open_term, version=1, title="安全责任书", body="一、家长自愿。\n二、按时接送。")
    ParentNotice.objects.create(term=open_term, title="告家长书", body="尊敬的家长：……", published=True)
    return open_term
