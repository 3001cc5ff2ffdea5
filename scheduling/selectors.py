"""Reads for scheduling pages: week grids, the term calendar and duty-roster checks."""

import calendar as _stdlib_calendar
from dataclasses import dataclass, field
from datetime import date, time

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext as _

from enrollment.models import Student

from .calendar import HolidayCalendar, UnknownHolidayYear, _days
from .models import (
    Closure,
    DutyDay,
    GroupMembership,
    HolidayNoticeEntry,
    MakeupDayTimetable,
    ServiceGroup,
    Session,
    TimetableSlot,
    Weekday,
)

# -- membership: who is in which group on which day ------------------------------------------------
#
# A membership runs from ``joined_on`` (empty: from the term's first day) up to the day before
# ``left_on`` (empty: to the term's end). Every question "is this child in that group on day D"
# (roll call, dismissal, the duty board, billing, placement, closures) is answered here.


def membership_during(first: date, last: date | None = None, *, prefix: str = "") -> Q:
    """Memberships that hold on at least one day from ``first`` to ``last`` (``None``: no end).

    ``prefix`` reaches the membership through a relation, e.g. ``"group_memberships__"``.
    """
    holds = Q(**{f"{prefix}left_on__isnull": True}) | Q(**{f"{prefix}left_on__gt": first})
    if last is not None:
        holds &= Q(**{f"{prefix}joined_on__isnull": True}) | Q(**{f"{prefix}joined_on__lte": last})
    return holds


def membership_on(day: date, *, prefix: str = "") -> Q:
    """Memberships that hold on ``day``."""
    return membership_during(day, day, prefix=prefix)


def memberships_on(day: date, **filters) -> QuerySet[GroupMembership]:
    """The memberships (filtered by ``filters``) that hold on ``day``."""
    return GroupMembership.objects.filter(membership_on(day), **filters)


def members_on(group_id: int, day: date) -> QuerySet[Student]:
    """The students of group ``group_id`` on ``day``: one condition on one membership row."""
    held = memberships_on(day, group_id=group_id, student_id=OuterRef("pk"))
    return Student.objects.filter(Exists(held))


def member_ids_on(group_id: int, day: date) -> set[int]:
    return set(memberships_on(day, group_id=group_id).values_list("student_id", flat=True))


def places_taken_count(day: date) -> Count:
    """``places_taken`` for each group of a queryset, as an annotation."""
    return Count("memberships__student", filter=membership_during(day, prefix="memberships__"), distinct=True)


def places_taken(group_id: int, day: date) -> int:
    """Children holding a place in the group on ``day`` or joining later: what counts against its size."""
    return (
        GroupMembership.objects.filter(membership_during(day), group_id=group_id)
        .values("student_id")
        .distinct()
        .count()
    )


# -- week grid -----------------------------------------------------------------------------------


@dataclass
class WeekGrid:
    weekdays: list[tuple[int, str]]
    rows: list[tuple[tuple[time, time], list[list[TimetableSlot]]]]


def week_grid(slots: QuerySet[TimetableSlot]) -> WeekGrid:
    """Slots laid out as time ranges × weekdays (Monday–Friday, plus weekend days in use)."""
    slots = list(slots.select_related("group", "activity", "room", "teacher"))
    used_days = {s.weekday for s in slots}
    days = [d for d in Weekday if d < 5 or d in used_days]
    ranges = sorted({(s.start, s.end) for s in slots})
    rows = []
    for time_range in ranges:
        cells = [[s for s in slots if (s.start, s.end) == time_range and s.weekday == day] for day in days]
        rows.append((time_range, cells))
    return WeekGrid(weekdays=[(d.value, d.label) for d in days], rows=rows)


# -- term calendar -------------------------------------------------------------------------------


@dataclass
class CalendarDay:
    day: date | None
    kind: str = ""  # service, weekend, holiday, makeup, closure, unknown
    label: str = ""


@dataclass
class CalendarMonth:
    year: int
    month: int
    weeks: list[list[CalendarDay]]
    service_days: int = 0


@dataclass
class TermCalendar:
    months: list[CalendarMonth]
    unknown_years: list[int] = field(default_factory=list)
    service_days: int = 0

    @property
    def unknown_messages(self) -> list[str]:
        return [UnknownHolidayYear(year).message for year in self.unknown_years]


def term_calendar(term) -> TermCalendar:
    """Every day of ``term`` marked as service day, weekend, holiday, 调休 working day or closure."""
    holidays = HolidayCalendar()
    followed = dict(MakeupDayTimetable.objects.filter(school_id=term.school_id).values_list("date", "weekday"))
    closures = list(
        Closure.objects.filter(school_id=term.school_id, start__lte=term.end, end__gte=term.start).prefetch_related(
            "grades"
        )
    )
    notice_names = {}
    for entry in HolidayNoticeEntry.objects.filter(start__lte=term.end, end__gte=term.start):
        for day in _days(entry.start, entry.end):
            notice_names[day] = entry.name
    unknown: set[int] = set()
    result = TermCalendar(months=[])
    year, month = term.start.year, term.start.month
    while (year, month) <= (term.end.year, term.end.month):
        weeks = []
        cal_month = CalendarMonth(year=year, month=month, weeks=weeks)
        for week in _stdlib_calendar.Calendar(firstweekday=0).monthdatescalendar(year, month):
            row = []
            for day in week:
                if day.month != month or not (term.start <= day <= term.end):
                    row.append(CalendarDay(day if day.month == month else None, "outside"))
                    continue
                row.append(_classify(day, holidays, closures, notice_names, unknown, followed))
                if row[-1].kind in {"service", "makeup"}:
                    cal_month.service_days += 1
            weeks.append(row)
        result.months.append(cal_month)
        result.service_days += cal_month.service_days
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    result.unknown_years = sorted(unknown)
    return result


def _classify(day, holidays, closures, notice_names, unknown, followed) -> CalendarDay:
    try:
        workday = holidays.is_workday(day)
    except UnknownHolidayYear:
        unknown.add(day.year)
        return CalendarDay(day, "unknown", _("holidays unknown"))
    if not workday:
        if day.weekday() >= 5 and not holidays.is_public_holiday(day):
            return CalendarDay(day, "weekend")
        return CalendarDay(day, "holiday", notice_names.get(day, "") or _("public holiday"))
    for closure in closures:
        if closure.start <= day <= closure.end:
            grades = list(closure.grades.all())
            scope = "、".join(str(g) for g in grades) if grades else ""
            label = f"{closure.reason}（{scope}）" if scope else closure.reason
            if not grades:
                return CalendarDay(day, "closure", label)
            return CalendarDay(day, "partial", label)
    if day.weekday() >= 5:
        label = notice_names.get(day, "") or _("make-up working day")
        if day in followed:
            label = _("%(label)s: timetable of %(weekday)s") % {"label": label, "weekday": Weekday(followed[day]).label}
        else:
            label = _("%(label)s: no timetable chosen yet") % {"label": label}
        return CalendarDay(day, "makeup", label)
    return CalendarDay(day, "service")


# -- duty roster -----------------------------------------------------------------------------------


def NO_ROSTER() -> str:  # noqa: N802 - a message, compared by value
    return _("No duty roster for this day.")


def participants(term) -> int:
    """Students in the term's confirmed service groups."""
    return (
        GroupMembership.objects.filter(group__term=term, group__confirmed=True).values("student_id").distinct().count()
    )


def admin_duty_required(participant_count: int, grade_count: int) -> int:
    """Administrative duty staff a day: +1 under 500 participants, +2 for 500–1,000, one per grade above."""
    if participant_count < 500:
        return 1
    if participant_count <= 1000:
        return 2
    return grade_count


def duty_problems(term, days: list[DutyDay] | None = None) -> dict[date, list[str]]:
    """Understaffed service days of ``term``: no duty leader, too few administrative duty
    staff, or a group with sessions but no duty teacher. A constant number of queries."""
    count = participants(term)
    grade_count = ServiceGroup.objects.filter(term=term, confirmed=True).values("grades").distinct().count()
    required = admin_duty_required(count, grade_count)
    if days is None:
        days = list(
            DutyDay.objects.filter(school_id=term.school_id, date__gte=term.start, date__lte=term.end)
            .select_related("leader")
            .annotate(staff=Count("admin_staff"))
        )
    by_date = {d.date: d for d in days}
    session_dates = set(Session.objects.filter(group__term=term).values_list("date", flat=True).distinct())
    teacherless = {}
    for day, name in (
        Session.objects.filter(group__term=term, group__teacher__isnull=True)
        .values_list("date", "group__name")
        .distinct()
    ):
        teacherless.setdefault(day, []).append(name)
    problems: dict[date, list[str]] = {}
    for day in sorted(session_dates):
        found, issues = by_date.get(day), []
        if found is None:
            issues.append(NO_ROSTER())
        else:
            if found.leader_id is None:
                issues.append(_("No duty leader."))
            if found.staff < required:
                issues.append(
                    _(
                        "%(staff)s administrative duty staff; %(required)s required "
                        "for %(count)s participating students."
                    )
                    % {"staff": found.staff, "required": required, "count": count}
                )
        for name in teacherless.get(day, []):
            issues.append(_("Group %(group)s has no duty teacher.") % {"group": name})
        if issues:
            problems[day] = issues
    return problems
