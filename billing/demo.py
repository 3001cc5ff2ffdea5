"""Billing part of the demo school (called by ``manage.py seed_demo``; idempotent): the fee
standard, roll calls for September and October 2026, their billing runs and most families'
September payments."""

import random
from datetime import date
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from enrollment.models import User
from enrollment.roles import Role
from safety.models import Attendance, RollCall, RollCallEntry
from scheduling.calendar import HolidayCalendar
from scheduling.models import GroupMembership, Session

from .models import BillingRun, ChargeLine, DutyShift, FeeStandard, Payment, PerformanceEvent
from .services import billing_run, payment_post


@transaction.atomic
def seed_billing(*, term, rng: random.Random) -> dict:

    FeeStandard.objects.get_or_create(
        term=term,
        item=FeeStandard.Item.AFTER_SCHOOL,
        defaults={
            "mode": FeeStandard.Mode.MONTHLY_HALF,
            "amount": Decimal("120.00"),
            "approval": "演示：物价局核定 120 元/月",
            "description": "课后服务（含基本托管、作业辅导与兴趣活动）",
        },
    )
    if BillingRun.objects.filter(term=term).exists():
        return {"runs": BillingRun.objects.filter(term=term).count()}

    # Roll call of the first session of each group's day, September and October.
    sessions = list(
        Session.objects.filter(
            group__term=term, date__gte=date(2026, 9, 1), date__lte=date(2026, 10, 31), start__hour=16
        )
        .select_related("group")
        .order_by("date", "group_id")
    )
    members = {}
    for group_id, student_id in GroupMembership.objects.filter(group__term=term).values_list("group_id", "student_id"):
        members.setdefault(group_id, []).append(student_id)
    # Most children come nearly every day; a few often miss (they will be charged half a month).
    often_away = {sid for ids in members.values() for sid in ids if rng.random() < 0.08}
    roll_calls = RollCall.objects.bulk_create(
        [RollCall(session=s, taken_by_id=s.teacher_id) for s in sessions], batch_size=500
    )
    Session.objects.filter(pk__in=[s.pk for s in sessions]).update(roll_call_at=timezone.now())
    entries = []
    for roll_call, session in zip(roll_calls, sessions, strict=True):
        for student_id in members.get(session.group_id, []):
            away = 0.6 if student_id in often_away else 0.04
            draw = rng.random()
            status = (
                Attendance.ABSENT
                if draw < away / 4
                else Attendance.EXCUSED
                if draw < away
                else Attendance.LATE
                if draw < away + 0.03
                else Attendance.PRESENT
            )
            entries.append(RollCallEntry(roll_call=roll_call, student_id=student_id, status=status))
    RollCallEntry.objects.bulk_create(entries, batch_size=2000)

    admin = User.objects.filter(username="caiwu").first()
    runs = [billing_run(term=term, year=2026, month=month, started_by=admin) for month in (9, 10)]
    # 85% of families paid September, in cash or online.

    for line in (
        ChargeLine.objects.filter(term=term, month=date(2026, 9, 1))
        .select_related("student")
        .order_by("student__student_no")
    ):
        if rng.random() < 0.85:
            payment_post(
                term=term,
                student=line.student,
                amount=line.amount,
                method=rng.choice(["cash", "online"]),
                received_by=admin,
            )
    _seed_duty(term=term, rng=rng, recorded_by=admin)
    return {"runs": len(runs), "payments": Payment.objects.filter(term=term).count()}


def _seed_duty(*, term, rng: random.Random, recorded_by):
    """October's safety-zone and administrative duty and two performance events, so that the
    subsidy payroll of October 2026 has something to show."""

    days = HolidayCalendar().workdays(date(2026, 10, 1), date(2026, 10, 31))
    teachers = list(User.objects.filter(sessions__group__term=term).distinct().order_by("pk")[:10])
    leaders = list(User.objects.filter(groups__name=Role.DUTY_LEADER).order_by("pk")) or teachers[:2]
    shifts = []
    for index, day in enumerate(days):
        for teacher in (teachers[index % len(teachers)], teachers[(index + 3) % len(teachers)]) if teachers else ():
            shifts.append(DutyShift(school=term.school, teacher=teacher, date=day, kind="safety_zone", breaks=2))
        if leaders:
            shifts.append(DutyShift(school=term.school, teacher=leaders[index % len(leaders)], date=day, kind="admin"))
    DutyShift.objects.bulk_create(shifts, ignore_conflicts=True)
    if teachers:
        PerformanceEvent.objects.create(
            school=term.school, teacher=rng.choice(teachers), date=days[5], kind="early_leave",
            description="提前 15 分钟离开服务教室，未报备", recorded_by=recorded_by,
        )  # fmt: skip
