from datetime import time, timedelta

import pytest
from django.utils import timezone

from scheduling.models import Session
from tests.enrollment.factories import TermFactory
from tests.scheduling.factories import ServiceGroupFactory, SlotFactory


@pytest.fixture
def session(school, service_teacher, homeroom_a):
    day = timezone.localdate()
    term = TermFactory(school=school, start=day - timedelta(days=30), end=day + timedelta(days=60))
    group = ServiceGroupFactory(term=term, name="三年级服务1班", teacher=service_teacher)
    slot = SlotFactory(group=group, weekday=day.weekday(), start=time(16, 0), end=time(17, 0), teacher=service_teacher)
    return Session.objects.create(
        slot=slot,
        group=group,
        date=day,
        start=slot.start,
        end=slot.end,
        activity=slot.activity,
        room=slot.room,
        teacher=service_teacher,
    )
