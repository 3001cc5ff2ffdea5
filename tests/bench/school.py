"""A school for the benchmarks, built with bulk inserts: students, classes, guardians, placed
applications, service groups with a timetable, October 2026 sessions with their roll calls,
payments, documents and messages. ``build_school(students=3000, groups=70)`` takes a few seconds."""

import random
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal

from django.contrib.auth.models import Group
from django.utils import timezone

from billing.models import FeeStandard, Payment
from enrollment.models import (
    Application,
    Document,
    Grade,
    Guardian,
    Homeroom,
    Notification,
    School,
    StaffProfile,
    Student,
    StudentGuardian,
    Term,
    User,
)
from enrollment.roles import Role
from safety.models import RollCall, RollCallEntry
from scheduling.calendar import HolidayCalendar
from scheduling.models import Activity, GroupMembership, Room, ServiceGroup, Session, TimetableSlot

OCTOBER = (date(2026, 10, 1), date(2026, 10, 31))


@dataclass
class BenchSchool:
    school: School
    term: Term
    admin: User
    finance: User
    duty_leader: User
    teacher: User  # teaches the first group
    homeroom_teacher: User  # of the first class
    guardian: User  # one child; the inbox holds `extra_rows` messages
    session: Session  # the first group's first October session
    groups: list = field(default_factory=list)


def _user(username, role, school, name):
    staff = role in (Role.ADMIN, Role.FINANCE)  # the admin site's roles
    user = User.objects.create_user(username=username, password="bench2026", first_name=name, is_staff=staff)
    user.groups.add(Group.objects.get(name=role))
    StaffProfile.objects.create(user=user, school=school, name=name)
    return user


def build_school(*, name: str, students: int, groups: int, extra_rows: int, seed: int = 7) -> BenchSchool:
    """``extra_rows``: how many payments, documents and messages the lists hold (10 or 1,000)."""
    rng = random.Random(seed)
    school = School.objects.create(name=name, phone="0771-1234567")
    term = Term.objects.create(
        school=school, name="2026年秋季学期", start=date(2026, 9, 1), end=date(2027, 1, 22),
        application_opens=date(2026, 8, 20), application_closes=date(2026, 12, 31),
    )  # fmt: skip
    tag = f"{school.pk:02d}"
    admin = _user(f"b{tag}admin", Role.ADMIN, school, "周校长")
    finance = _user(f"b{tag}caiwu", Role.FINANCE, school, "钱会计")
    duty_leader = _user(f"b{tag}zhiban", Role.DUTY_LEADER, school, "孙主任")
    classes_per_grade = max(1, -(-students // (6 * 45)))
    grades = Grade.objects.bulk_create(Grade(school=school, number=n) for n in range(1, 7))
    homeroom_teachers = [
        _user(f"b{tag}bzr{i:03d}", Role.HOMEROOM_TEACHER, school, f"班主任{i}") for i in range(6 * classes_per_grade)
    ]
    homerooms = Homeroom.objects.bulk_create(
        Homeroom(grade=g, number=n + 1, teacher=homeroom_teachers[i * classes_per_grade + n])
        for i, g in enumerate(grades)
        for n in range(classes_per_grade)
    )
    children = Student.objects.bulk_create(
        Student(
            school=school, homeroom=homerooms[i % len(homerooms)], student_no=f"{tag}{i:06d}",
            name=f"学生{i}", gender="F" if i % 2 else "M",
        )
        for i in range(students)
    )  # fmt: skip
    guardians = Guardian.objects.bulk_create(
        Guardian(name=f"家长{i}", mobile=f"13{tag[-1]}{i:08d}") for i in range(students)
    )
    StudentGuardian.objects.bulk_create(
        StudentGuardian(student=s, guardian=g, relation="mother", is_primary=True)
        for s, g in zip(children, guardians, strict=True)
    )
    guardian_user = User.objects.create_user(username=guardians[0].mobile, password="bench2026", first_name="家长0")
    guardian_user.groups.add(Group.objects.get(name=Role.GUARDIAN))
    Guardian.objects.filter(pk=guardians[0].pk).update(user=guardian_user)
    Application.objects.bulk_create(
        Application(
            term=term, student=s, guardian=g, status="placed", emergency_name="外婆", emergency_mobile="13700000000"
        )
        for s, g in zip(children, guardians, strict=True)
    )
    FeeStandard.objects.create(term=term, item="after_school", mode="monthly_half", amount=Decimal("120.00"))

    teachers = [_user(f"b{tag}fw{i:03d}", Role.SERVICE_TEACHER, school, f"服务教师{i}") for i in range(groups)]
    rooms = Room.objects.bulk_create(
        Room(school=school, name=f"教室{i}", kind="classroom", capacity=50) for i in range(groups)
    )
    activity = Activity.objects.create(school=school, name="作业辅导", category="homework", capacity=50)
    service_groups = ServiceGroup.objects.bulk_create(
        ServiceGroup(term=term, name=f"服务{i + 1}班", teacher=teachers[i], confirmed=True) for i in range(groups)
    )
    members = {g.pk: [] for g in service_groups}
    memberships = []
    # The first group holds 45 children (the roll call the bench saves); the rest go round the others.
    for i, child in enumerate(children):
        if i < 45 or groups == 1:
            group = service_groups[0]
        else:
            group = service_groups[1 + (i - 45) % (groups - 1)]
        members[group.pk].append(child.pk)
        memberships.append(GroupMembership(group=group, student=child))
    GroupMembership.objects.bulk_create(memberships, batch_size=2000)
    slots = TimetableSlot.objects.bulk_create(
        TimetableSlot(
            group=g, weekday=day, start=time(16, 0), end=time(17, 0), activity=activity, room=rooms[i],
            teacher=g.teacher,
        )
        for i, g in enumerate(service_groups)
        for day in range(5)
    )  # fmt: skip
    by_group_day = {(s.group_id, s.weekday): s for s in slots}
    workdays = [d for d in HolidayCalendar().workdays(*OCTOBER) if d.weekday() < 5]
    sessions = Session.objects.bulk_create(
        (
            Session(
                slot=by_group_day[(g.pk, d.weekday())], group=g, date=d, start=time(16, 0), end=time(17, 0),
                activity=activity, room=by_group_day[(g.pk, d.weekday())].room, teacher=g.teacher,
                roll_call_at=timezone.make_aware(datetime.combine(d, time(16, 5))),
            )
            for g in service_groups
            for d in workdays
        ),
        batch_size=1000,
    )  # fmt: skip
    roll_calls = RollCall.objects.bulk_create(
        (RollCall(session=s, taken_by_id=s.teacher_id) for s in sessions), batch_size=1000
    )
    RollCallEntry.objects.bulk_create(
        (
            RollCallEntry(roll_call=rc, student_id=sid, status="present" if rng.random() > 0.05 else "absent")
            for rc, s in zip(roll_calls, sessions, strict=True)
            for sid in members[s.group_id]
        ),
        batch_size=5000,
    )
    # What the lists show: payments, documents and messages, 10 or 1,000 of each.
    now = timezone.now()
    Payment.objects.bulk_create(
        Payment(
            school=school, term=term, student=children[i % len(children)], amount=Decimal("120.00"), method="cash",
            receipt_no=f"2026-{i + 1:06d}", paid_at=now, received_by=finance,
        )
        for i in range(extra_rows)
    )  # fmt: skip
    Document.objects.bulk_create(
        Document(school=school, kind="fee_notice", title=f"缴费通知单 {i}", status="done", requested_by=finance)
        for i in range(extra_rows)
    )
    Notification.objects.bulk_create(
        Notification(recipient=guardian_user, guardian=guardians[0], kind="bench", subject=f"消息{i}", body="……")
        for i in range(extra_rows)
    )
    return BenchSchool(
        school=school, term=term, admin=admin, finance=finance, duty_leader=duty_leader, teacher=teachers[0],
        homeroom_teacher=homeroom_teachers[0], guardian=guardian_user,
        session=Session.objects.filter(group=service_groups[0]).order_by("date").first(), groups=service_groups,
    )  # fmt: skip
