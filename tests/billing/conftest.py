"""Billing fixtures: a term from September 2026 with a service group whose September sessions
all have a roll call, and children placed in it with the days they attended."""

from datetime import date
from decimal import Decimal

import pytest

from billing.models import FeeStandard
from enrollment.models import Application
from safety.models import RollCall, RollCallEntry
from scheduling.calendar import HolidayCalendar
from scheduling.models import GroupMembership
from tests.enrollment.factories import StudentFactory, TermFactory, UserFactory
from tests.scheduling.factories import ServiceGroupFactory, SlotFactory, sessions_on

D = Decimal


@pytest.fixture
def setup(school, homeroom_a):
    term = TermFactory(school=school, start=date(2026, 9, 1), end=date(2027, 1, 22))
    standard = FeeStandard.objects.create(term=term, item="after_school", mode="monthly_half", amount=D("120.00"))
    group = ServiceGroupFactory(term=term)
    slot = SlotFactory(group=group)
    teacher = UserFactory(username="rollcaller")
    # September 2026's 22 working days, Sunday the 20th (a make-up day) included.
    sessions = sessions_on(slot, HolidayCalendar().workdays(date(2026, 9, 1), date(2026, 9, 30)), teacher=teacher)
    roll_calls = RollCall.objects.bulk_create(RollCall(session=s, taken_by=teacher) for s in sessions)
    return {"term": term, "standard": standard, "group": group, "roll_calls": roll_calls, "homeroom": homeroom_a}


def child(setup, attended_days: int, status="present", **slots):
    student = StudentFactory(homeroom=setup["homeroom"])
    Application.objects.create(
        term=setup["term"],
        student=student,
        status="placed",
        emergency_name="外婆",
        emergency_mobile="13700000000",
        **slots,
    )
    GroupMembership.objects.create(group=setup["group"], student=student)
    RollCallEntry.objects.bulk_create(
        RollCallEntry(roll_call=rc, student=student, status=status if index < attended_days else "absent")
        for index, rc in enumerate(setup["roll_calls"])
    )
    return student
