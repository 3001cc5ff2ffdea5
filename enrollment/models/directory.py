"""The school directory: who takes part in the after-school service.

School → grades → homeroom classes (行政班) → students, with their guardians and the
school's staff. Everything else in the product hangs off these rows.
"""

import re

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

__all__ = [
    "Stage", "User", "School", "Term", "Grade", "Homeroom", "Student", "Guardian", "StudentGuardian",
    "StaffProfile", "Notification",
]  # fmt: skip

# Mainland mobile numbers: 11 digits starting 13–19.
MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")
mobile_validator = RegexValidator(MOBILE_RE, _("Enter an 11-digit mainland mobile number, e.g. 13812345678."))


def mask_mobile(mobile: str) -> str:
    """138****5678: enough to tell two guardians of the same name apart, not enough to call them.
    The whole number is shown only where a role has to call (see README, "Personal data")."""
    mobile = mobile or ""
    return f"{mobile[:3]}****{mobile[-4:]}" if len(mobile) == 11 else "*" * len(mobile)


def mask_note(value: str) -> str:
    """Health notes and the like: whether there are any, not what they say."""
    return str(_("(shown to the school admin only)")) if value else ""


GRADE_NAMES = {
    1: _("Grade 1"),
    2: _("Grade 2"),
    3: _("Grade 3"),
    4: _("Grade 4"),
    5: _("Grade 5"),
    6: _("Grade 6"),
    7: _("Grade 7"),
    8: _("Grade 8"),
    9: _("Grade 9"),
}


class Stage(models.IntegerChoices):
    """学段: the bands inside which grades may be merged into one service group."""

    LOWER_PRIMARY = 1, _("Grades 1–2")
    MIDDLE_PRIMARY = 2, _("Grades 3–4")
    UPPER_PRIMARY = 3, _("Grades 5–6")
    JUNIOR_MIDDLE = 4, _("Grades 7–9")

    @classmethod
    def of_grade(cls, number: int) -> "Stage":
        if number <= 2:
            return cls.LOWER_PRIMARY
        if number <= 4:
            return cls.MIDDLE_PRIMARY
        if number <= 6:
            return cls.UPPER_PRIMARY
        return cls.JUNIOR_MIDDLE

    def grade_numbers(self) -> range:
        return {1: range(1, 3), 2: range(3, 5), 3: range(5, 7), 4: range(7, 10)}[self.value]


class User(AbstractUser):
    """A log-in. Staff and guardians alike; what they may do comes from their role groups."""

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self):
        # Lists name people, not log-ins: "周校长", not "admin".
        return self.get_full_name() or self.get_username()


class School(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    address = models.CharField(_("address"), max_length=200, blank=True)
    phone = models.CharField(_("telephone"), max_length=30, blank=True)

    class Meta:
        verbose_name = _("school")
        verbose_name_plural = _("schools")
        ordering = ["name"]

    def __str__(self):
        return self.name


class Term(models.Model):
    school = models.ForeignKey(School, models.PROTECT, related_name="terms", verbose_name=_("school"))
    name = models.CharField(_("name"), max_length=50, help_text=_("For example: 2026 autumn term"))
    start = models.DateField(_("first day"))
    end = models.DateField(_("last day"))
    application_opens = models.DateField(_("applications open"))
    application_closes = models.DateField(_("applications close"))
    survey_open = models.BooleanField(
        _("needs survey open"),
        default=False,
        help_text=_("Guardians can answer the needs survey (调查摸底) while this is on."),
    )

    class Meta:
        verbose_name = _("term")
        verbose_name_plural = _("terms")
        ordering = ["-start"]
        constraints = [
            models.UniqueConstraint(fields=["school", "name"], name="term_unique_name"),
            models.CheckConstraint(
                condition=Q(end__gt=models.F("start")),
                name="term_end_after_start",
                violation_error_message=_("The last day must be after the first day."),
            ),
            models.CheckConstraint(
                condition=Q(application_closes__gte=models.F("application_opens"))
                & Q(application_opens__lte=models.F("end")),
                name="term_application_window",
                violation_error_message=_("Applications must open before they close, and before the term ends."),
            ),
        ]

    def __str__(self):
        return self.name


class Grade(models.Model):
    school = models.ForeignKey(School, models.PROTECT, related_name="grades", verbose_name=_("school"))
    number = models.PositiveSmallIntegerField(
        _("grade"),
        validators=[MinValueValidator(1), MaxValueValidator(9)],
        help_text=_("1–6 primary, 7–9 junior middle"),
    )

    class Meta:
        verbose_name = _("grade")
        verbose_name_plural = _("grades")
        ordering = ["school", "number"]
        constraints = [
            models.UniqueConstraint(fields=["school", "number"], name="grade_unique_number"),
            models.CheckConstraint(condition=Q(number__gte=1, number__lte=9), name="grade_number_1_to_9"),
        ]

    def __str__(self):
        return str(GRADE_NAMES.get(self.number, self.number))

    @property
    def stage(self) -> Stage:
        return Stage.of_grade(self.number)


class Homeroom(models.Model):
    """行政班: a grade's class with its homeroom teacher (班主任)."""

    grade = models.ForeignKey(Grade, models.PROTECT, related_name="homerooms", verbose_name=_("grade"))
    number = models.PositiveSmallIntegerField(_("class number"), validators=[MinValueValidator(1)])
    teacher = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="homerooms",
        verbose_name=_("homeroom teacher"),
    )

    class Meta:
        verbose_name = _("homeroom class")
        verbose_name_plural = _("homeroom classes")
        ordering = ["grade__number", "number"]
        constraints = [
            models.UniqueConstraint(fields=["grade", "number"], name="homeroom_unique_number"),
        ]

    def __str__(self):
        # "三年级(2)班" / "Grade 3 (2)"
        return _("%(grade)s (%(number)s)") % {"grade": self.grade, "number": self.number}


class Student(models.Model):
    class Gender(models.TextChoices):
        MALE = "M", _("male")
        FEMALE = "F", _("female")

    school = models.ForeignKey(School, models.PROTECT, related_name="students", verbose_name=_("school"))
    student_no = models.CharField(_("student number"), max_length=30)
    name = models.CharField(_("name"), max_length=50)
    gender = models.CharField(_("gender"), max_length=1, choices=Gender.choices)
    homeroom = models.ForeignKey(Homeroom, models.PROTECT, related_name="students", verbose_name=_("homeroom class"))
    active = models.BooleanField(
        _("active"), default=True, help_text=_("Students who leave the school are made inactive, never deleted.")
    )
    guardians = models.ManyToManyField(
        "Guardian", through="StudentGuardian", related_name="students", verbose_name=_("guardians")
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("student")
        verbose_name_plural = _("students")
        ordering = ["homeroom__grade__number", "homeroom__number", "student_no"]
        constraints = [
            models.UniqueConstraint(
                fields=["school", "student_no"],
                name="student_unique_number_in_school",
                violation_error_message=_("A student with this student number already exists in this school."),
            ),
        ]

    def __str__(self):
        return f"{self.name} ({self.student_no})"

    def clean(self):
        if self.homeroom_id and self.school_id and self.homeroom.grade.school_id != self.school_id:
            raise ValidationError({"homeroom": _("This class belongs to another school.")})


class Guardian(models.Model):
    """A parent or other guardian. The mobile number identifies them, also at log-in."""

    name = models.CharField(_("name"), max_length=50)
    mobile = models.CharField(_("mobile"), max_length=11, unique=True, validators=[mobile_validator])
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        models.SET_NULL,
        null=True,
        blank=True,
        related_name="guardian",
        verbose_name=_("user account"),
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("guardian")
        verbose_name_plural = _("guardians")
        ordering = ["name", "mobile"]

    def __str__(self):
        return f"{self.name} {mask_mobile(self.mobile)}"


class StudentGuardian(models.Model):
    """Who is guardian of whom, as what; one guardian per student is the primary contact."""

    class Relation(models.TextChoices):
        FATHER = "father", _("father")
        MOTHER = "mother", _("mother")
        GRANDFATHER = "grandfather", _("grandfather")
        GRANDMOTHER = "grandmother", _("grandmother")
        OTHER = "other", _("other guardian")

    student = models.ForeignKey(Student, models.CASCADE, related_name="guardian_links", verbose_name=_("student"))
    guardian = models.ForeignKey(Guardian, models.CASCADE, related_name="student_links", verbose_name=_("guardian"))
    relation = models.CharField(_("relation"), max_length=20, choices=Relation.choices)
    is_primary = models.BooleanField(_("primary contact"), default=False)

    class Meta:
        verbose_name = _("student's guardian")
        verbose_name_plural = _("students' guardians")
        ordering = ["-is_primary", "id"]
        constraints = [
            models.UniqueConstraint(fields=["student", "guardian"], name="student_guardian_unique"),
            models.UniqueConstraint(
                fields=["student"],
                condition=Q(is_primary=True),
                name="student_one_primary_guardian",
                violation_error_message=_("A student has only one primary contact."),
            ),
        ]

    def __str__(self):
        return f"{self.student.name} – {self.guardian.name} ({self.get_relation_display()})"


class StaffProfile(models.Model):
    """A member of staff: teacher, duty leader, finance, gate guard or admin."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, models.CASCADE, related_name="staff_profile", verbose_name=_("user account")
    )
    school = models.ForeignKey(School, models.PROTECT, related_name="staff", verbose_name=_("school"))
    name = models.CharField(_("name"), max_length=50)
    mobile = models.CharField(
        _("mobile"), max_length=11, unique=True, null=True, blank=True, validators=[mobile_validator]
    )

    class Meta:
        verbose_name = _("staff member")
        verbose_name_plural = _("staff")
        ordering = ["name"]

    def __str__(self):
        return self.name


class Notification(models.Model):
    """A message to a guardian or a member of staff. Every message is in the recipient's inbox;
    ``channel`` says how it is delivered besides (``enrollment/notify.py``). ``sent_at`` is set
    when the delivery task claims the row, ``failed_at`` when its retries have run out."""

    class Channel(models.TextChoices):
        # SMS and WeChat come as further channels in enrollment/notify.py, each with its choice here.
        SITE = "site", _("inbox only")
        EMAIL = "email", _("e-mail")

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        models.CASCADE,
        null=True,
        blank=True,
        related_name="notifications",
        verbose_name=_("recipient"),
    )
    guardian = models.ForeignKey(
        Guardian, models.CASCADE, null=True, blank=True, related_name="notifications", verbose_name=_("guardian")
    )
    kind = models.CharField(_("kind"), max_length=50, help_text=_("Namespaced code, e.g. scheduling.closure"))
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("message"))
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices, default=Channel.SITE)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("delivery attempts"), default=0)
    error = models.TextField(_("delivery error"), blank=True)
    failed_at = models.DateTimeField(_("delivery failed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(recipient__isnull=False) | Q(guardian__isnull=False), name="notification_has_recipient"
            )
        ]

    def __str__(self):
        return self.subject
