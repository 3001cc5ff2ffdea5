"""Statutory working days of mainland China and the service days of a term.

Two sources, in this order: a holiday notice the school entered for the year (the admin's
"holiday notices"), then the ``chinesecalendar`` package, which knows the State Council
notices up to the year it was released. A year neither knows raises UnknownHolidayYear:
guessing Monday to Friday would bill and schedule the Spring Festival as school days.
"""

import calendar as _stdlib_calendar
from collections.abc import Iterable
from datetime import date, timedelta

import chinese_calendar
from django.utils.translation import gettext

from .models import Closure, HolidayNotice


class UnknownHolidayYear(Exception):
    """No holiday arrangements are known for ``year``."""

    def __init__(self, year: int):
        self.year = year
        super().__init__(year)

    @property
    def message(self) -> str:
        return gettext(
            "The public holidays of %(year)s are not known yet. Enter the State Council's holiday notice "
            "for %(year)s under Scheduling → Holiday notices, then try again."
        ) % {"year": self.year}

    def __str__(self):
        return self.message


class HolidayCalendar:
    """Answers working-day questions, reading each year's notice from the database once."""

    def __init__(self):
        self._years: dict[int, tuple[set[date], set[date]] | None] = {}

    def _notice(self, year: int) -> tuple[set[date], set[date]] | None:
        if year not in self._years:
            notice = HolidayNotice.objects.filter(year=year).prefetch_related("entries").first()
            if notice is None:
                self._years[year] = None
            else:
                holidays, workdays = set(), set()
                for entry in notice.entries.all():
                    target = holidays if entry.kind == entry.Kind.HOLIDAY else workdays
                    target.update(_days(entry.start, entry.end))
                self._years[year] = (holidays, workdays)
        return self._years[year]

    def _entered(self, day: date) -> bool | None:
        """What an entered notice says of ``day``: True working, False holiday, None nothing.
        A notice may reach into the December before its year (the 2019 notice made Saturday
        2018-12-29 a working day), so a December day also asks next year's notice."""
        years = (day.year + 1, day.year) if day.month == 12 else (day.year,)
        for year in years:
            notice = self._notice(year)
            if notice is not None:
                holidays, workdays = notice
                if day in workdays:
                    return True
                if day in holidays:
                    return False
        return None

    def is_workday(self, day: date) -> bool:
        entered = self._entered(day)
        if entered is not None:
            return entered
        if self._notice(day.year) is not None:
            return day.weekday() < 5
        try:
            return chinese_calendar.is_workday(day)
        except NotImplementedError:
            raise UnknownHolidayYear(day.year) from None

    def is_public_holiday(self, day: date) -> bool:
        """A day off because of a public holiday (not an ordinary weekend)."""
        entered = self._entered(day)
        if entered is not None:
            return not entered
        if self._notice(day.year) is not None:
            return False
        try:
            return chinese_calendar.get_holiday_detail(day)[1] is not None and not chinese_calendar.is_workday(day)
        except NotImplementedError:
            raise UnknownHolidayYear(day.year) from None

    def days(self, start: date, end: date) -> list[date]:
        return list(_days(start, end))

    def workdays(self, start: date, end: date) -> list[date]:
        return [day for day in _days(start, end) if self.is_workday(day)]


def _days(start: date, end: date) -> Iterable[date]:
    for offset in range((end - start).days + 1):
        yield start + timedelta(days=offset)


def is_statutory_workday(day: date) -> bool:
    return HolidayCalendar().is_workday(day)


def statutory_workdays(year: int, month: int) -> int:
    """The number of statutory working days in a calendar month (the half-month fee rule's denominator)."""
    last = _stdlib_calendar.monthrange(year, month)[1]
    return len(HolidayCalendar().workdays(date(year, month, 1), date(year, month, last)))


def closed_days(term, *, grade=None) -> set[date]:
    """Days of ``term`` closed for the whole school, or also for ``grade`` when given."""
    closures = Closure.objects.filter(school_id=term.school_id, start__lte=term.end, end__gte=term.start)
    days = set()
    for closure in closures.prefetch_related("grades"):
        grade_ids = {g.pk for g in closure.grades.all()}
        if not grade_ids or (grade is not None and grade.pk in grade_ids):
            days.update(_days(max(closure.start, term.start), min(closure.end, term.end)))
    return days


def service_days(term, *, grade=None, holiday_calendar: HolidayCalendar | None = None) -> list[date]:
    """Statutory working days within the term, minus its closures."""
    holiday_calendar = holiday_calendar or HolidayCalendar()
    closed = closed_days(term, grade=grade)
    return [day for day in holiday_calendar.workdays(term.start, term.end) if day not in closed]
