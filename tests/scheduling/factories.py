from datetime import time

import factory

from scheduling.models import Activity, GroupMembership, Room, ServiceGroup, TimetableSlot
from tests.enrollment.factories import SchoolFactory, StaffProfileFactory, TermFactory


class RoomFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Room

    school = factory.SubFactory(SchoolFactory)
    name = factory.Sequence(lambda n: f"教室{n + 101}")
    kind = Room.Kind.CLASSROOM
    capacity = 50


class ActivityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Activity

    school = factory.SubFactory(SchoolFactory)
    name = factory.Sequence(lambda n: f"活动{n}")
    category = Activity.Category.HOMEWORK
    capacity = 45


class ServiceGroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ServiceGroup

    term = factory.SubFactory(TermFactory)
    name = factory.Sequence(lambda n: f"服务{n + 1}班")
    # A teacher is on the school's staff (the admin offers only the school's staff as teachers).
    teacher = factory.LazyAttribute(lambda group: StaffProfileFactory(school=group.term.school).user)
    confirmed = True


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = GroupMembership


class SlotFactory(factory.django.DjangoModelFactory):
    """An unsaved-by-default-friendly slot: Monday 16:00–17:00."""

    class Meta:
        model = TimetableSlot

    group = factory.SubFactory(ServiceGroupFactory)
    weekday = 0
    start = time(16, 0)
    end = time(17, 0)
    activity = factory.SubFactory(ActivityFactory, school=factory.SelfAttribute("..group.term.school"))
    room = factory.SubFactory(RoomFactory, school=factory.SelfAttribute("..group.term.school"))
    teacher = factory.SelfAttribute("group.teacher")


def sessions_on(slot, days, *, teacher=None, roll_call_at=None):
    """Dated sessions of ``slot`` on ``days``, in one INSERT."""
    from scheduling.models import Session

    return Session.objects.bulk_create(
        Session(
            slot=slot, group=slot.group, date=day, start=slot.start, end=slot.end, activity=slot.activity,
            room=slot.room, teacher=teacher or slot.teacher, roll_call_at=roll_call_at,
        )
        for day in days
    )  # fmt: skip
