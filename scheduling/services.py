"""Writes and rule checks for scheduling."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from enrollment.models import AgreementSignature, Application, Grade, Guardian, Notification, Student, Term
from enrollment.notify import notifications_create

from . import placement
from .calendar import HolidayCalendar, UnknownHolidayYear, closed_days
from .models import (
    Closure,
    GradeDismissal,
    GroupMembership,
    MakeupDayTimetable,
    ServiceGroup,
    ServiceSeason,
    ServiceSettings,
    Session,
    TimetableSlot,
    WaitlistEntry,
    Weekday,
)
from .selectors import membership_during, places_taken, places_taken_count


def _hm(value: time) -> str:
    return value.strftime("%H:%M")


def _slot_label(slot: TimetableSlot) -> str:
    return _("%(group)s, %(weekday)s %(start)s–%(end)s") % {
        "group": slot.group.name,
        "weekday": slot.get_weekday_display(),
        "start": _hm(slot.start),
        "end": _hm(slot.end),
    }


def settings_for(school) -> ServiceSettings:
    """The school's service rules; the national defaults until the admin changes them."""
    found = ServiceSettings.objects.filter(school=school).first()
    return found or ServiceSettings(school=school, work_end_time=time(17, 0))


# -- timetable -----------------------------------------------------------------------------------


def timetable_conflicts(slot: TimetableSlot) -> list[str]:
    """Every rule ``slot`` breaks, each message naming both bookings."""
    problems = []
    term_id = slot.group.term_id
    overlapping = (
        TimetableSlot.objects.filter(
            group__term_id=term_id, weekday=slot.weekday, start__lt=slot.end, end__gt=slot.start
        )
        .exclude(pk=slot.pk)
        .select_related("group", "room", "teacher")
    )
    this = _slot_label(slot)
    for other in overlapping:
        that = _slot_label(other)
        if other.room_id == slot.room_id:
            problems.append(
                _("Room %(room)s is booked twice: %(this)s and %(that)s.")
                % {"room": slot.room, "this": this, "that": that}
            )
        if other.teacher_id == slot.teacher_id:
            problems.append(
                _("Teacher %(teacher)s is booked twice: %(this)s and %(that)s.")
                % {"teacher": slot.teacher.get_full_name() or slot.teacher.get_username(), "this": this, "that": that}
            )
        if other.group_id == slot.group_id:
            problems.append(_("The group already has %(that)s at that time.") % {"that": that})
    other_group_ids = {o.group_id for o in overlapping if o.group_id != slot.group_id}
    if other_group_ids and slot.group_id:
        # Children holding a place in both groups from today on.
        today = timezone.localdate()
        here = GroupMembership.objects.filter(membership_during(today), group_id=slot.group_id)
        shared = (
            GroupMembership.objects.filter(
                membership_during(today), group_id__in=other_group_ids, student_id__in=here.values("student_id")
            )
            .select_related("student", "group")
            .order_by("student__student_no")[:5]
        )
        for membership in shared:
            clash = next(o for o in overlapping if o.group_id == membership.group_id)
            problems.append(
                _("Student %(student)s would be in two groups at once: %(this)s and %(that)s.")
                % {"student": membership.student.name, "this": this, "that": _slot_label(clash)}
            )
    size = places_taken(slot.group_id, timezone.localdate()) if slot.group_id else 0
    if size > slot.room.capacity:
        problems.append(
            _("Group %(group)s has %(size)s students but room %(room)s holds %(capacity)s.")
            % {"group": slot.group.name, "size": size, "room": slot.room, "capacity": slot.room.capacity}
        )
    return problems


@transaction.atomic
def slot_save(slot: TimetableSlot) -> TimetableSlot:
    slot.full_clean()
    problems = timetable_conflicts(slot)
    if problems:
        raise ValidationError(problems)
    slot.save()
    return slot


def group_week_problems(group: ServiceGroup, *, slots=None, rules: ServiceSettings | None = None) -> list[str]:
    """The "5+2" check: service on ``days_per_week`` weekdays, at least ``min_daily_minutes``
    a day, and not ending before the local work end time."""
    rules = rules or settings_for(group.term.school)
    slots = list(group.slots.all()) if slots is None else slots
    minutes, last_end = defaultdict(int), {}
    for slot in slots:
        minutes[slot.weekday] += (
            datetime.combine(date.min, slot.end) - datetime.combine(date.min, slot.start)
        ).seconds // 60
        last_end[slot.weekday] = max(last_end.get(slot.weekday, slot.end), slot.end)
    problems = []
    weekdays = [d for d in range(5) if minutes[d]]
    if len(weekdays) < rules.days_per_week:
        problems.append(
            _("Service on %(days)s weekdays; %(required)s are required.")
            % {"days": len(weekdays), "required": rules.days_per_week}
        )
    for weekday in weekdays:
        name = Weekday(weekday).label
        if minutes[weekday] < rules.min_daily_minutes:
            problems.append(
                _("%(day)s: %(minutes)s minutes of service; at least %(required)s are required.")
                % {"day": name, "minutes": minutes[weekday], "required": rules.min_daily_minutes}
            )
        if last_end[weekday] < rules.work_end_time:
            problems.append(
                _("%(day)s: service ends at %(end)s, before the local work end time %(work_end)s.")
                % {"day": name, "end": _hm(last_end[weekday]), "work_end": _hm(rules.work_end_time)}
            )
    return problems


# -- groups --------------------------------------------------------------------------------------


def group_capacity(group: ServiceGroup, rules: ServiceSettings) -> int:
    return rules.max_temporary_group_size if group.kind == ServiceGroup.Kind.TEMPORARY else rules.max_group_size


def membership_problems(*, group: ServiceGroup, student: Student, joined_on: date | None = None) -> list[str]:
    """Why ``student`` may not join ``group``: no approved application, no signed agreement for
    the term, or another group of the student at the same time."""

    problems = []
    approved = {Application.Status.SCHOOL_APPROVED, Application.Status.PLACED, Application.Status.WAITLISTED}
    if not Application.objects.filter(term_id=group.term_id, student=student, status__in=approved).exists():
        problems.append(
            _("%(student)s has no application approved by the school for this term.") % {"student": student.name}
        )
    if not AgreementSignature.objects.filter(term_id=group.term_id, student=student).exists():
        problems.append(_("%(student)s has no signed agreement for this term.") % {"student": student.name})
    problems += _student_clashes(group, [student], joined_on)
    return problems


def _student_clashes(group: ServiceGroup, students, joined_on: date | None = None) -> list[str]:
    """Students who would be in another group at the same time from ``joined_on`` (empty: the
    term's first day) on."""
    slots = list(group.slots.all())
    if not slots or not students:
        return []
    clash_query = Q()
    for slot in slots:
        clash_query |= Q(weekday=slot.weekday, start__lt=slot.end, end__gt=slot.start)
    clashes = (
        TimetableSlot.objects.filter(
            clash_query,
            membership_during(joined_on or group.term.start, prefix="group__memberships__"),
            group__term=group.term,
            group__memberships__student__in=students,
        )
        .exclude(group=group)
        .values_list("group__memberships__student__name", "group__name")
        .distinct()[:5]
    )
    return [
        _("Student %(student)s is in group %(other)s at the same time.") % {"student": name, "other": other}
        for name, other in clashes
    ]


def first_service_day(term: Term, day: date | None = None) -> date | None:
    """The ``joined_on`` of a child added on ``day`` (default today): empty before the term starts
    (a member from its first day), else that day."""
    day = day or timezone.localdate()
    return None if day <= term.start else day


@transaction.atomic
def group_add_students(
    *, group: ServiceGroup, students: list[Student], joined_on: date | None = None
) -> list[GroupMembership]:
    """Add students to a group from ``joined_on`` (default: ``first_service_day``), refusing to
    exceed its size limit or double-book a student. Earlier roll calls and bills do not change."""
    group = ServiceGroup.objects.select_for_update(of=("self",)).select_related("term__school").get(pk=group.pk)
    joined_on = joined_on if joined_on is not None else first_service_day(group.term)
    rules = settings_for(group.term.school)
    limit = group_capacity(group, rules)
    start = joined_on or group.term.start
    present = set(group.memberships.filter(membership_during(start)).values_list("student_id", flat=True))
    # A child whose leaving has not come yet just stays (the leaving is called off).
    staying = set(
        group.memberships.filter(left_on__gt=start, student__in=students).values_list("student_id", flat=True)
    )
    new = [s for s in students if s.pk not in present]
    if len(present) + len(new) > limit:
        raise ValidationError(
            _("Group %(group)s may have at most %(limit)s students; it has %(size)s and %(new)s would be added.")
            % {"group": group.name, "limit": limit, "size": len(present), "new": len(new)}
        )
    clashes = _student_clashes(group, new, joined_on)
    if clashes:
        raise ValidationError(clashes)
    group.memberships.filter(student_id__in=staying, left_on__gt=start).update(left_on=None)
    # A child who comes back after leaving gets a new membership: the earlier one keeps its dates.
    return GroupMembership.objects.bulk_create(
        GroupMembership(group=group, student=s, joined_on=joined_on) for s in new
    )


def memberships_end(*, term: Term, student: Student, on: date) -> int:
    """The child leaves every group of ``term`` from ``on`` (the first day without service).

    A membership that would start on or after that day is removed: it never held a day."""
    GroupMembership.objects.filter(group__term=term, student=student, joined_on__gte=on).delete()
    return GroupMembership.objects.filter(membership_during(on), group__term=term, student=student).update(left_on=on)


@transaction.atomic
def placement_apply(
    *, term: Term, candidates: list[placement.Candidate], max_groups: int | None = None
) -> placement.Proposal:
    """Propose groups for ``candidates`` and store them as unconfirmed groups plus the waitlist.

    The admin then adjusts the members in the admin site and confirms the groups.
    """
    rules = settings_for(term.school)
    proposal = placement.propose(
        candidates,
        max_group_size=rules.max_group_size,
        max_temporary_group_size=rules.max_temporary_group_size,
        min_grade_size=rules.min_grade_size,
        max_groups=max_groups,
    )
    grades = {g.number: g for g in Grade.objects.filter(school=term.school)}
    ranks = {c.student_id: rank for rank, c in enumerate(sorted(candidates, key=lambda c: c.order_key), start=1)}
    # A later batch (late applications) gets new groups numbered after the term's existing ones.
    taken = set(ServiceGroup.objects.filter(term=term).values_list("name", flat=True))
    counters: dict[tuple[int, ...], int] = defaultdict(int)
    for proposed in proposal.groups:
        label = "、".join(str(grades[g]) for g in proposed.grades)
        while True:
            counters[proposed.grades] += 1
            name = _("%(grades)s service group %(number)s") % {"grades": label, "number": counters[proposed.grades]}
            if name not in taken:
                break
        taken.add(name)
        group = ServiceGroup.objects.create(
            term=term, name=name, kind=ServiceGroup.Kind.TEMPORARY if proposed.temporary else ServiceGroup.Kind.REGULAR
        )
        group.grades.set([grades[g] for g in proposed.grades])
        GroupMembership.objects.bulk_create(
            GroupMembership(group=group, student_id=c.student_id, rank=ranks[c.student_id]) for c in proposed.members
        )
    # This batch's waiting children join the end of the term's waiting list (earlier batches keep
    # their places); a child of this batch who got a place leaves it.
    batch = [c.student_id for c in candidates]
    WaitlistEntry.objects.filter(term=term, student_id__in=batch).delete()
    last = WaitlistEntry.objects.filter(term=term).aggregate(last=Max("position"))["last"] or 0
    WaitlistEntry.objects.bulk_create(
        WaitlistEntry(term=term, student_id=c.student_id, position=last + position)
        for position, c in enumerate(proposal.waitlist, start=1)
    )
    return proposal


@transaction.atomic
def groups_confirm(*, groups) -> int:
    """Confirm proposed groups after checking their sizes again."""
    count = 0
    current = places_taken_count(timezone.localdate())
    for group in groups.select_related("term__school").annotate(size=current):
        limit = group_capacity(group, settings_for(group.term.school))
        if group.size > limit:
            raise ValidationError(
                _("Group %(group)s has %(size)s students; at most %(limit)s are allowed.")
                % {"group": group.name, "size": group.size, "limit": limit}
            )
        if not group.confirmed:
            group.confirmed = True
            group.save(update_fields=["confirmed"])
            count += 1
    return count


# -- sessions ------------------------------------------------------------------------------------


@dataclass
class GenerationReport:
    created: int = 0
    removed: int = 0
    kept_with_roll_call: int = 0
    shortened: int = 0
    dropped_after_end_time: int = 0
    updated: int = 0
    makeup_days_without_timetable: list[date] = field(default_factory=list)


# What a session copies from its slot (and may be updated from while no roll call was taken).
SESSION_PLAN_FIELDS = ["start", "end", "activity_id", "room_id", "teacher_id"]


def day_end_time(day: date, *, seasons: list[ServiceSeason], dismissal: time | None) -> time | None:
    """When service ends on ``day`` for a grade: its staggered time, else the season's."""
    if dismissal is not None:
        return dismissal
    for season in seasons:
        if season.contains(day):
            return season.end_time
    return None


@transaction.atomic
def sessions_generate(
    *, term: Term, holiday_calendar: HolidayCalendar | None = None, today: date | None = None
) -> GenerationReport:
    """Create the dated sessions of every confirmed group of ``term`` (timetable × service days).

    Idempotent. Weekday slots run on statutory working days; a 调休 working weekend day runs the
    weekday timetable the school chose for it (none until chosen); weekend slots (Saturday
    service) run on ordinary weekends, never on public holidays. A session no longer wanted (a
    closure, a removed slot) is deleted, and a future one whose slot changed is updated, unless
    roll call was taken in it. A session is cut at the day's end time (season or staggered
    dismissal) and dropped if nothing is left. Raises UnknownHolidayYear when the term reaches a
    year without holiday data.
    """
    holiday_calendar = holiday_calendar or HolidayCalendar()
    today = today or timezone.localdate()
    report = GenerationReport()
    school_closed = closed_days(term)
    seasons = list(ServiceSeason.objects.filter(school_id=term.school_id))
    followed = dict(MakeupDayTimetable.objects.filter(school_id=term.school_id).values_list("date", "weekday"))
    timetable_day = {}
    for day in holiday_calendar.days(term.start, term.end):
        if holiday_calendar.is_workday(day):
            timetable_day[day] = followed.get(day, day.weekday())
            if timetable_day[day] >= 5:
                report.makeup_days_without_timetable.append(day)
                del timetable_day[day]
        elif day.weekday() >= 5 and not holiday_calendar.is_public_holiday(day):
            timetable_day[day] = day.weekday()  # an ordinary weekend: Saturday service, if any
    dismissals = dict(
        GradeDismissal.objects.filter(grade__school_id=term.school_id).values_list("grade_id", "end_time")
    )
    groups = list(ServiceGroup.objects.filter(term=term, confirmed=True).prefetch_related("grades", "slots"))
    grade_closed = {
        grade.pk: closed_days(term, grade=grade)
        for grade in Grade.objects.filter(school_id=term.school_id, closures__isnull=False).distinct()
    }

    wanted: dict[tuple[int, date], Session] = {}
    for group in groups:
        grade_ids = [g.pk for g in group.grades.all()]
        # A mixed group's day ends with its earliest-dismissed grade.
        own_dismissals = [dismissals[g] for g in grade_ids if g in dismissals]
        dismissal = min(own_dismissals) if own_dismissals else None
        closed = set(school_closed)
        for grade_id in grade_ids:
            closed |= grade_closed.get(grade_id, set())
        for day, weekday in timetable_day.items():
            if day in closed:
                continue
            end_limit = day_end_time(day, seasons=seasons, dismissal=dismissal)
            for slot in group.slots.all():
                if slot.weekday != weekday:
                    continue
                end = slot.end if end_limit is None else min(slot.end, end_limit)
                if end <= slot.start:
                    report.dropped_after_end_time += 1
                    continue
                if end != slot.end:
                    report.shortened += 1
                wanted[(slot.pk, day)] = Session(
                    slot=slot, group=group, date=day, start=slot.start, end=end,
                    activity_id=slot.activity_id, room_id=slot.room_id, teacher_id=slot.teacher_id,
                )  # fmt: skip

    existing = Session.objects.filter(group__term=term).only(*SESSION_PLAN_FIELDS, "slot_id", "date", "roll_call_at")
    stale, present, changed = [], set(), []
    for session in existing:
        key = (session.slot_id, session.date)
        if key in wanted:
            present.add(key)
            plan = wanted[key]
            differs = any(getattr(session, f) != getattr(plan, f) for f in SESSION_PLAN_FIELDS)
            if differs and session.roll_call_at is None and session.date >= today:
                for field_name in SESSION_PLAN_FIELDS:
                    setattr(session, field_name, getattr(plan, field_name))
                changed.append(session)
        elif session.roll_call_at is None:
            stale.append(session.pk)
        else:
            report.kept_with_roll_call += 1
    if stale:
        report.removed = Session.objects.filter(pk__in=stale).delete()[0]
    if changed:
        report.updated = Session.objects.bulk_update(changed, SESSION_PLAN_FIELDS)
    new = [session for key, session in wanted.items() if key not in present]
    # One INSERT on PostgreSQL; SQLite takes at most 999 parameters a statement (111 sessions).
    Session.objects.bulk_create(new)
    report.created = len(new)
    return report


# -- closures ----------------------------------------------------------------------------------------


@transaction.atomic
def closure_create(*, school, kind: str, start: date, end: date, reason: str, grades=(), created_by=None) -> Closure:
    """Record a closure and announce it (see closure_announce)."""
    closure = Closure(school=school, kind=kind, start=start, end=end, reason=reason, created_by=created_by)
    closure.full_clean()
    closure.save()
    closure.grades.set(grades)
    closure_announce(closure=closure)
    return closure


@transaction.atomic
def closure_announce(*, closure: Closure) -> tuple[int, list[int]]:
    """Notify the guardians of the children whose service ``closure`` cancels, then remove the
    cancelled sessions. Returns the number of guardians notified and the years whose holidays
    are unknown (their sessions are updated once the notice is entered)."""
    grades = list(closure.grades.all())
    groups = ServiceGroup.objects.filter(
        term__school=closure.school, term__start__lte=closure.end, term__end__gte=closure.start, confirmed=True
    )
    if grades:
        groups = groups.filter(grades__in=grades)
    # Members on a day of the closure: a child who has left, or joins after it, is not told.
    members = GroupMembership.objects.filter(
        membership_during(closure.start, closure.end), group__in=groups, student__active=True
    )
    if grades:
        members = members.filter(student__homeroom__grade__in=grades)
    guardians = Guardian.objects.filter(student_links__student__group_memberships__in=members).distinct()

    # Guardians read notices in the school's language, whatever the admin's is.
    with translation.override(settings.LANGUAGE_CODE):
        subject, body = _closure_message(closure.school, closure)
    notices = notifications_create(
        notifications=(
            Notification(recipient_id=g.user_id, guardian=g, kind="scheduling.closure", subject=subject, body=body)
            for g in guardians
        )
    )
    unknown = []
    for term in Term.objects.filter(service_groups__in=groups).distinct():
        try:
            with transaction.atomic():
                sessions_generate(term=term)
        except UnknownHolidayYear as exc:
            unknown.append(exc.year)
    return len(notices), sorted(set(unknown))


def _closure_message(school, closure: Closure) -> tuple[str, str]:
    start, end = date_format(closure.start), date_format(closure.end)
    subject = _("No after-school service %(start)s – %(end)s") % {"start": start, "end": end}
    body = _(
        "%(school)s: there is no after-school service from %(start)s to %(end)s (%(kind)s: %(reason)s). "
        "Please arrange to collect your child at the end of lessons."
    ) % {
        "school": school.name, "start": start, "end": end, "kind": closure.get_kind_display(), "reason": closure.reason,
    }  # fmt: skip
    return subject, body
