"""Scheduling: the school calendar, service times, rooms, activities, service groups,
the weekly timetable, dated sessions and the duty roster."""

from datetime import date

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from enrollment.models import Grade, School, Student, Term


class Weekday(models.IntegerChoices):
    MONDAY = 0, _("Monday")
    TUESDAY = 1, _("Tuesday")
    WEDNESDAY = 2, _("Wednesday")
    THURSDAY = 3, _("Thursday")
    FRIDAY = 4, _("Friday")
    SATURDAY = 5, _("Saturday")
    SUNDAY = 6, _("Sunday")


# -- calendar ------------------------------------------------------------------------------


class HolidayNotice(models.Model):
    """A year's State Council notice on public holidays (国务院办公厅关于…年部分节假日安排的通知),
    entered by the school. For its year it takes precedence over the built-in calendar."""

    year = models.PositiveSmallIntegerField(_("year"), unique=True, validators=[MinValueValidator(2000)])
    title = models.CharField(_("title"), max_length=200)
    note = models.TextField(_("note"), blank=True, help_text=_("Where the dates come from, e.g. the notice's number."))

    class Meta:
        verbose_name = _("holiday notice")
        verbose_name_plural = _("holiday notices")
        ordering = ["-year"]

    def __str__(self):
        return self.title


class HolidayNoticeEntry(models.Model):
    class Kind(models.TextChoices):
        HOLIDAY = "holiday", _("holiday (放假)")
        WORKDAY = "workday", _("make-up working day (调休上班)")

    notice = models.ForeignKey(HolidayNotice, models.CASCADE, related_name="entries", verbose_name=_("notice"))
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    name = models.CharField(_("festival"), max_length=30, help_text=_("For example: 元旦, 春节"))
    start = models.DateField(_("from"))
    end = models.DateField(_("to"), help_text=_("The same as “from” for a single day."))

    class Meta:
        verbose_name = _("holiday notice entry")
        verbose_name_plural = _("holiday notice entries")
        ordering = ["start"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end__gte=F("start")),
                name="notice_entry_end_after_start",
                violation_error_message=_("“To” must not be before “from”."),
            )
        ]

    def __str__(self):
        return f"{self.name} {self.start}–{self.end} ({self.get_kind_display()})"

    def clean(self):
        if self.notice_id and self.start and self.end:
            year = self.notice.year
            # A notice may reach back into the previous December (a 调休 working Saturday).
            if self.start < date(year - 1, 12, 1) or self.end > date(year, 12, 31):
                raise ValidationError(
                    _("Every date of the %(year)s notice must lie in %(year)s or in December %(previous)s.")
                    % {"year": year, "previous": year - 1}
                )


class Closure(models.Model):
    """Days without service: vacations, exam days, weather or epidemic cancellations."""

    class Kind(models.TextChoices):
        VACATION = "vacation", _("vacation")
        EXAM = "exam", _("exam days")
        WEATHER = "weather", _("weather")
        EPIDEMIC = "epidemic", _("epidemic")
        OTHER = "other", _("other")

    school = models.ForeignKey(School, models.PROTECT, related_name="closures", verbose_name=_("school"))
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    start = models.DateField(_("from"))
    end = models.DateField(_("to"))
    reason = models.CharField(_("reason"), max_length=200)
    grades = models.ManyToManyField(
        Grade, blank=True, related_name="closures", verbose_name=_("grades"), help_text=_("Empty: the whole school.")
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("created by")
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("closure")
        verbose_name_plural = _("closures")
        ordering = ["-start"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end__gte=F("start")),
                name="closure_end_after_start",
                violation_error_message=_("“To” must not be before “from”."),
            )
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.start}–{self.end}"


class MakeupDayTimetable(models.Model):
    """Which weekday's timetable a 调休 working weekend day follows (按周几课表上课).

    Schools announce this per make-up day; until it is set the day gets no sessions, and the
    term calendar and the session generation say so.
    """

    school = models.ForeignKey(School, models.CASCADE, related_name="makeup_days", verbose_name=_("school"))
    date = models.DateField(_("make-up working day"))
    weekday = models.PositiveSmallIntegerField(_("follows the timetable of"), choices=Weekday.choices[:5])

    class Meta:
        verbose_name = _("make-up day timetable")
        verbose_name_plural = _("make-up day timetables")
        ordering = ["date"]
        constraints = [models.UniqueConstraint(fields=["school", "date"], name="makeup_day_unique_date")]

    def __str__(self):
        return f"{self.date} → {self.get_weekday_display()}"


# -- service times and settings --------------------------------------------------------------


class ServiceSettings(models.Model):
    """The school's service rules, one row per school."""

    school = models.OneToOneField(School, models.CASCADE, related_name="service_settings", verbose_name=_("school"))
    work_end_time = models.TimeField(
        _("local work end time"), help_text=_("Service must not end before the local normal end of work.")
    )
    min_daily_minutes = models.PositiveSmallIntegerField(_("minimum minutes a day"), default=120)
    days_per_week = models.PositiveSmallIntegerField(_("service days a week"), default=5)
    max_group_size = models.PositiveSmallIntegerField(_("largest service group"), default=45)
    max_temporary_group_size = models.PositiveSmallIntegerField(_("largest temporary group"), default=40)
    home_alone_from_grade = models.PositiveSmallIntegerField(
        _("going home alone allowed from grade"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(9)],
        help_text=_("Empty: no child goes home alone. Guardians must also consent in the application."),
    )
    roll_call_due_minutes = models.PositiveSmallIntegerField(
        _("roll call due after (minutes)"),
        default=10,
        help_text=_("A group without roll call this long after the start shows red on the duty board."),
    )
    pickup_grace_minutes = models.PositiveSmallIntegerField(
        _("pickup grace period (minutes)"),
        default=30,
        help_text=_("After the end time plus this, students not yet released are awaiting pickup."),
    )
    min_grade_size = models.PositiveSmallIntegerField(
        _("smallest grade with its own groups"),
        default=20,
        help_text=_("A grade with fewer participants is merged with another grade of the same stage."),
    )

    class Meta:
        verbose_name = _("service settings")
        verbose_name_plural = _("service settings")

    def __str__(self):
        return str(self.school)


class ServiceSeason(models.Model):
    """A yearly date range with the time service ends, e.g. winter (Dec 1 – Mar 31) 17:00."""

    school = models.ForeignKey(School, models.CASCADE, related_name="service_seasons", verbose_name=_("school"))
    name = models.CharField(_("name"), max_length=30)
    start_month = models.PositiveSmallIntegerField(
        _("from month"), validators=[MinValueValidator(1), MaxValueValidator(12)]
    )
    start_day = models.PositiveSmallIntegerField(
        _("from day"), validators=[MinValueValidator(1), MaxValueValidator(31)]
    )
    end_month = models.PositiveSmallIntegerField(
        _("to month"), validators=[MinValueValidator(1), MaxValueValidator(12)]
    )
    end_day = models.PositiveSmallIntegerField(_("to day"), validators=[MinValueValidator(1), MaxValueValidator(31)])
    end_time = models.TimeField(_("service ends at"))

    class Meta:
        verbose_name = _("service season")
        verbose_name_plural = _("service seasons")
        ordering = ["start_month", "start_day"]

    def __str__(self):
        return f"{self.name} {self.start_month}/{self.start_day}–{self.end_month}/{self.end_day} {self.end_time:%H:%M}"

    def contains(self, day: date) -> bool:
        start, end, here = (self.start_month, self.start_day), (self.end_month, self.end_day), (day.month, day.day)
        if start <= end:
            return start <= here <= end
        return here >= start or here <= end  # wraps the new year, e.g. Dec 1 – Mar 31


class GradeDismissal(models.Model):
    """Staggered dismissal (错时放学): a grade's own end time, which replaces the season's."""

    grade = models.OneToOneField(Grade, models.CASCADE, related_name="dismissal", verbose_name=_("grade"))
    end_time = models.TimeField(_("service ends at"))

    class Meta:
        verbose_name = _("staggered dismissal")
        verbose_name_plural = _("staggered dismissals")
        ordering = ["grade__number"]

    def __str__(self):
        return f"{self.grade} {self.end_time:%H:%M}"


# -- places, activities, groups ----------------------------------------------------------------


class Room(models.Model):
    class Kind(models.TextChoices):
        CLASSROOM = "classroom", _("classroom")
        FUNCTION_ROOM = "function", _("function room")
        SPORTS = "sports", _("sports ground")
        OTHER = "other", _("other")

    school = models.ForeignKey(School, models.PROTECT, related_name="rooms", verbose_name=_("school"))
    name = models.CharField(_("name"), max_length=50)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    capacity = models.PositiveSmallIntegerField(_("capacity"), validators=[MinValueValidator(1)])

    class Meta:
        verbose_name = _("room")
        verbose_name_plural = _("rooms")
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["school", "name"], name="room_unique_name")]

    def __str__(self):
        return self.name


class Activity(models.Model):
    """A service item. Teaching new lesson content is deliberately not a category (双减)."""

    class Category(models.TextChoices):
        HOMEWORK = "homework", _("homework guidance")
        READING = "reading", _("reading")
        SPORTS = "sports", _("sports")
        ARTS = "arts", _("arts")
        SCIENCE = "science", _("science")
        CLUB = "club", _("club")
        CARE = "care", _("care")

    school = models.ForeignKey(School, models.PROTECT, related_name="activities", verbose_name=_("school"))
    name = models.CharField(_("name"), max_length=50)
    category = models.CharField(_("category"), max_length=10, choices=Category.choices)
    capacity = models.PositiveSmallIntegerField(_("capacity"), validators=[MinValueValidator(1)])
    teacher = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="activities",
        verbose_name=_("teacher"),
    )
    requires_insurance = models.BooleanField(_("accident insurance required"), default=False)

    class Meta:
        verbose_name = _("activity")
        verbose_name_plural = _("activities")
        ordering = ["category", "name"]
        constraints = [models.UniqueConstraint(fields=["school", "name"], name="activity_unique_name")]

    def __str__(self):
        return self.name


class ServiceGroup(models.Model):
    """服务班 (or 临时班, a temporary mixed group): the students served together."""

    class Kind(models.TextChoices):
        REGULAR = "regular", _("service group")
        TEMPORARY = "temporary", _("temporary group")

    term = models.ForeignKey(Term, models.PROTECT, related_name="service_groups", verbose_name=_("term"))
    name = models.CharField(_("name"), max_length=50)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.REGULAR)
    grades = models.ManyToManyField(Grade, related_name="service_groups", verbose_name=_("grades"))
    teacher = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="service_groups",
        verbose_name=_("duty teacher"),
    )
    confirmed = models.BooleanField(
        _("confirmed"),
        default=False,
        help_text=_("Proposed groups are adjusted, then confirmed; only confirmed groups get sessions."),
    )
    students = models.ManyToManyField(
        Student, through="GroupMembership", related_name="service_groups", verbose_name=_("students")
    )

    class Meta:
        verbose_name = _("service group")
        verbose_name_plural = _("service groups")
        ordering = ["term", "name"]
        constraints = [models.UniqueConstraint(fields=["term", "name"], name="group_unique_name")]

    def __str__(self):
        return self.name


class GroupMembership(models.Model):
    group = models.ForeignKey(ServiceGroup, models.CASCADE, related_name="memberships", verbose_name=_("group"))
    student = models.ForeignKey(Student, models.PROTECT, related_name="group_memberships", verbose_name=_("student"))
    """A child's place in a group from ``joined_on`` to the day before ``left_on``.

    A child who leaves and comes back has two rows; ``scheduling.selectors.membership_on`` says who
    is a member on a day."""

    rank = models.PositiveIntegerField(_("placement rank"), null=True, blank=True)
    joined_on = models.DateField(
        _("joined on"), null=True, blank=True, help_text=_("First day with service; empty: the term's first day.")
    )
    left_on = models.DateField(
        _("left on"), null=True, blank=True, help_text=_("First day without service after a withdrawal.")
    )

    class Meta:
        verbose_name = _("group member")
        verbose_name_plural = _("group members")
        ordering = ["group", "student__student_no", "joined_on"]
        constraints = [
            models.UniqueConstraint(
                fields=["group", "student"],
                condition=Q(left_on__isnull=True),
                name="membership_one_open",
                violation_error_message=_("This child is already a member of this group."),
            ),
            models.CheckConstraint(
                condition=Q(joined_on__isnull=True) | Q(left_on__isnull=True) | Q(left_on__gt=models.F("joined_on")),
                name="membership_left_after_joined",
                violation_error_message=_("A child must leave after the day they joined."),
            ),
        ]

    def __str__(self):
        return f"{self.group} – {self.student}"


class WaitlistEntry(models.Model):
    """A student who applied but did not fit, in the order places are offered."""

    term = models.ForeignKey(Term, models.CASCADE, related_name="waitlist", verbose_name=_("term"))
    student = models.ForeignKey(Student, models.PROTECT, related_name="waitlist_entries", verbose_name=_("student"))
    position = models.PositiveIntegerField(_("position"))

    class Meta:
        verbose_name = _("waitlist entry")
        verbose_name_plural = _("waitlist")
        ordering = ["term", "position"]
        constraints = [models.UniqueConstraint(fields=["term", "student"], name="waitlist_unique_student")]

    def __str__(self):
        return f"{self.position}. {self.student}"


# -- timetable and sessions ----------------------------------------------------------------------


class TimetableSlot(models.Model):
    group = models.ForeignKey(ServiceGroup, models.CASCADE, related_name="slots", verbose_name=_("group"))
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=Weekday.choices)
    start = models.TimeField(_("start"))
    end = models.TimeField(_("end"))
    activity = models.ForeignKey(Activity, models.PROTECT, related_name="slots", verbose_name=_("activity"))
    room = models.ForeignKey(Room, models.PROTECT, related_name="slots", verbose_name=_("room"))
    teacher = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, related_name="timetable_slots", verbose_name=_("teacher")
    )

    class Meta:
        verbose_name = _("timetable slot")
        verbose_name_plural = _("timetable")
        ordering = ["group", "weekday", "start"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end__gt=F("start")),
                name="slot_end_after_start",
                violation_error_message=_("The end must be after the start."),
            )
        ]

    def __str__(self):
        return f"{self.group} {self.get_weekday_display()} {self.start:%H:%M}–{self.end:%H:%M} {self.activity}"


class Session(models.Model):
    """One dated occurrence of a timetable slot on a service day; roll call is taken per session."""

    slot = models.ForeignKey(TimetableSlot, models.PROTECT, related_name="sessions", verbose_name=_("timetable slot"))
    group = models.ForeignKey(ServiceGroup, models.PROTECT, related_name="sessions", verbose_name=_("group"))
    date = models.DateField(_("date"))
    start = models.TimeField(_("start"))
    end = models.TimeField(_("end"))
    activity = models.ForeignKey(Activity, models.PROTECT, related_name="sessions", verbose_name=_("activity"))
    room = models.ForeignKey(Room, models.PROTECT, related_name="sessions", verbose_name=_("room"))
    teacher = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, related_name="sessions", verbose_name=_("teacher")
    )
    roll_call_at = models.DateTimeField(
        _("roll call first saved"),
        null=True,
        blank=True,
        help_text=_("Set by roll call; such a session is never removed."),
    )

    class Meta:
        verbose_name = _("session")
        verbose_name_plural = _("sessions")
        ordering = ["date", "start", "group"]
        constraints = [models.UniqueConstraint(fields=["slot", "date"], name="session_unique_slot_date")]
        indexes = [models.Index(fields=["date", "teacher"]), models.Index(fields=["group", "date"])]

    def __str__(self):
        return f"{self.group} {self.date} {self.start:%H:%M}–{self.end:%H:%M}"


# -- duty roster -------------------------------------------------------------------------------


class DutyDay(models.Model):
    """值班表: who leads and who does administrative duty on one service day."""

    school = models.ForeignKey(School, models.PROTECT, related_name="duty_days", verbose_name=_("school"))
    date = models.DateField(_("date"))
    leader = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="led_duty_days",
        verbose_name=_("duty leader"),
    )
    admin_staff = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="admin_duty_days",
        verbose_name=_("administrative duty staff"),
    )

    class Meta:
        verbose_name = _("duty day")
        verbose_name_plural = _("duty roster")
        ordering = ["date"]
        constraints = [models.UniqueConstraint(fields=["school", "date"], name="duty_day_unique_date")]

    def __str__(self):
        return str(self.date)
