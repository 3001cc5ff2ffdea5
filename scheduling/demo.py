"""Scheduling part of the demo school (called by ``manage.py seed_demo``; idempotent)."""

import random
from datetime import date, datetime, time

from django.db import transaction
from django.utils import timezone

from enrollment.models import Student, Term, User

from . import placement, services
from .models import (
    Activity,
    DutyDay,
    HolidayNotice,
    MakeupDayTimetable,
    Room,
    ServiceGroup,
    ServiceSeason,
    ServiceSettings,
    TimetableSlot,
)

# Activities named in the schools' plans (shared/seeds): name, category, capacity, insurance, room.
ACTIVITIES = [
    ("创客编程", "science", 30, False, "计算机教室"),
    ("机器人", "science", 30, False, "科学实验室"),
    ("跆拳道", "sports", 40, True, "体育馆"),
    ("篮球", "sports", 45, True, "篮球场"),
    ("合唱", "arts", 45, False, "音乐教室"),
    ("素描", "arts", 40, False, "美术教室"),
    ("书法", "arts", 40, False, "书法教室"),
    ("围棋", "club", 40, False, "棋类活动室"),
]
ROOMS = [
    ("计算机教室", "function", 45),
    ("科学实验室", "function", 45),
    ("体育馆", "sports", 120),
    ("篮球场", "sports", 120),
    ("音乐教室", "function", 50),
    ("美术教室", "function", 45),
    ("书法教室", "function", 45),
    ("棋类活动室", "function", 45),
    ("阅览室", "function", 50),
]


@transaction.atomic
def seed_scheduling(*, school, term: Term, rng: random.Random) -> dict:
    ServiceSettings.objects.get_or_create(school=school, defaults={"work_end_time": time(17, 30)})
    # One seed plan's rule: from National Day to May Day service ends at 18:00, from May Day
    # to National Day at 18:30.
    ServiceSeason.objects.get_or_create(
        school=school,
        name="国庆至五一",
        defaults=dict(start_month=10, start_day=1, end_month=4, end_day=30, end_time=time(18, 0)),
    )
    ServiceSeason.objects.get_or_create(
        school=school,
        name="五一至国庆",
        defaults=dict(start_month=5, start_day=1, end_month=9, end_day=30, end_time=time(18, 30)),
    )
    notice, created = HolidayNotice.objects.get_or_create(
        year=2027,
        defaults={
            "title": "2027年元旦放假安排（演示数据）",
            "note": (
                "演示假设：国务院办公厅2027年节假日安排通知尚未录入，"
                "此处仅按惯例假定元旦 2027-01-01 至 01-03 放假、无调休。"
                "正式使用前请按通知原文录入全年安排。"
            ),
        },
    )
    if created:
        notice.entries.create(kind="holiday", name="元旦", start=date(2027, 1, 1), end=date(2027, 1, 3))
    # The 2026 notice's make-up working days for National Day (9月20日周日、10月10日周六上班);
    # which weekday's timetable they run is the school's choice, announced to parents.
    for day, weekday in ((date(2026, 9, 20), 3), (date(2026, 10, 10), 4)):
        MakeupDayTimetable.objects.get_or_create(school=school, date=day, defaults={"weekday": weekday})

    rooms = {}
    for name, kind, capacity in ROOMS:
        rooms[name], _ = Room.objects.get_or_create(
            school=school, name=name, defaults={"kind": kind, "capacity": capacity}
        )
    club_teachers = list(User.objects.filter(username__startswith="fw").order_by("username"))
    activities = {}
    for index, (name, category, capacity, insurance, _room) in enumerate(ACTIVITIES):
        activities[name], _ = Activity.objects.get_or_create(
            school=school,
            name=name,
            defaults={
                "category": category,
                "capacity": capacity,
                "requires_insurance": insurance,
                "teacher": club_teachers[index],
            },
        )
    for name, category in (("作业辅导", "homework"), ("阅读", "reading")):
        activities[name], _ = Activity.objects.get_or_create(
            school=school, name=name, defaults={"category": category, "capacity": 45}
        )

    candidates = []
    if not ServiceGroup.objects.filter(term=term).exists():
        candidates = _place(term, rng)
        _timetable(term, rooms, activities)
    report = services.sessions_generate(term=term)
    _duty_roster(term, school)
    return {"groups": ServiceGroup.objects.filter(term=term).count(), "sessions": report, "candidates": candidates}


# The first pupil of 一年级(1)班 has not applied yet, so the demo guardian can try applying.
NOT_YET_APPLIED = ("20260101",)


def _place(term, rng):
    """About 60% of each class applies (participation is voluntary)."""
    submitted = timezone.make_aware(datetime(2026, 8, 25, 8, 0))
    candidates = []
    students = Student.objects.filter(school=term.school, active=True).select_related("homeroom__grade")
    for student in students.order_by("student_no"):
        if rng.random() < 0.6 and student.student_no not in NOT_YET_APPLIED:
            priority = rng.choices(list(placement.Priority), weights=[1, 3, 4, 2, 10, 80])[0]
            candidates.append(
                placement.Candidate(
                    student_id=student.pk,
                    grade=student.homeroom.grade.number,
                    homeroom=student.homeroom.number,
                    submitted_at=submitted + timezone.timedelta(minutes=rng.randint(0, 60 * 24 * 10)),
                    priority=priority,
                )
            )
    services.placement_apply(term=term, candidates=candidates)
    teachers = list(User.objects.filter(username__startswith="bzr").order_by("username"))
    groups = list(ServiceGroup.objects.filter(term=term).order_by("pk"))
    for group, teacher in zip(groups, teachers, strict=False):
        group.teacher = teacher
        group.save(update_fields=["teacher"])
    services.groups_confirm(groups=ServiceGroup.objects.filter(term=term))
    return candidates


def _timetable(term, rooms, activities):
    """Every group: homework guidance 16:00–17:00 in its own room with its duty teacher, then
    17:00–18:00 a club (each club once a day, rotating through the groups) or reading/care."""
    groups = list(ServiceGroup.objects.filter(term=term).order_by("pk"))
    classrooms = []
    for index in range(len(groups)):
        room, _ = Room.objects.get_or_create(
            school=term.school, name=f"课后服务教室{index + 1:02d}", defaults={"kind": "classroom", "capacity": 50}
        )
        classrooms.append(room)
    clubs = [name for name, *_rest in ACTIVITIES]
    slots = []
    for weekday in range(5):
        for index, group in enumerate(groups):
            slots.append(
                TimetableSlot(
                    group=group, weekday=weekday, start=time(16, 0), end=time(17, 0),
                    activity=activities["作业辅导"], room=classrooms[index], teacher=group.teacher,
                )
            )  # fmt: skip
            club_index = (index + weekday) % len(groups)
            if club_index < len(clubs):
                club = activities[clubs[club_index]]
                room, teacher = rooms[ACTIVITIES[club_index][4]], club.teacher
            else:
                club, room, teacher = activities["阅读"], classrooms[index], group.teacher
            slots.append(
                TimetableSlot(
                    group=group, weekday=weekday, start=time(17, 0), end=time(18, 0),
                    activity=club, room=room, teacher=teacher,
                )
            )  # fmt: skip
    for slot in slots:
        services.slot_save(slot)


def _duty_roster(term, school):
    """A duty leader and two administrative duty staff each service day, in rotation; the last
    week before the winter break is left with one staff member, which the roster flags."""
    leaders = list(User.objects.filter(username__in=["zhiban", "admin"]).order_by("username"))
    staff = list(
        User.objects.filter(username__in=["fw09", "fw10", "bzr19", "bzr20", "bzr21", "bzr22"]).order_by("username")
    )
    known = set(DutyDay.objects.filter(school=school).values_list("date", flat=True))
    days = sorted(set(term.service_groups.values_list("sessions__date", flat=True)) - {None} - known)
    created = DutyDay.objects.bulk_create(
        DutyDay(school=school, date=day, leader=leaders[index % len(leaders)]) for index, day in enumerate(days)
    )
    through = DutyDay.admin_staff.through
    links = []
    for index, day in enumerate(created):
        count = 1 if day.date >= date(2027, 1, 18) else 2
        for offset in range(count):
            links.append(through(dutyday_id=day.pk, user_id=staff[(2 * index + offset) % len(staff)].pk))
    through.objects.bulk_create(links)
