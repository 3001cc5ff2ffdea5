"""Safety: roll call per session, follow-up of unexplained absences, and release at dismissal."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords


class Attendance(models.TextChoices):
    """Roll-call states, in the order one tap cycles through them."""

    PRESENT = "present", _("present")
    LATE = "late", _("late")
    EXCUSED = "excused", _("on leave")
    ABSENT = "absent", _("absent without reason")
    LEFT_EARLY = "left_early", _("left early")
    UNWELL = "unwell", _("unwell")


# Who is in the building for the release count: present, late or unwell (not left early).
ON_SITE = (Attendance.PRESENT, Attendance.LATE, Attendance.UNWELL)


class RollCall(models.Model):
    """每课点名: the roll call of one session, saved for the whole class at once."""

    session = models.OneToOneField(
        "scheduling.Session", models.PROTECT, related_name="roll_call", verbose_name=_("session")
    )
    taken_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, related_name="+", verbose_name=_("taken by"))
    taken_at = models.DateTimeField(_("first saved"), auto_now_add=True)
    updated_at = models.DateTimeField(_("last saved"), auto_now=True)
    version = models.PositiveIntegerField(
        _("version"),
        default=1,
        help_text=_("Raised by every save, so two teachers cannot overwrite each other unseen."),
    )

    class Meta:
        verbose_name = _("roll call")
        verbose_name_plural = _("roll calls")
        ordering = ["-taken_at"]

    def __str__(self):
        return str(self.session)


class RollCallEntry(models.Model):
    roll_call = models.ForeignKey(RollCall, models.CASCADE, related_name="entries", verbose_name=_("roll call"))
    student = models.ForeignKey(
        "enrollment.Student", models.PROTECT, related_name="roll_call_entries", verbose_name=_("student")
    )
    status = models.CharField(_("attendance"), max_length=12, choices=Attendance.choices)
    history = HistoricalRecords()  # who changed what, when and why (the reason is the change reason)

    class Meta:
        verbose_name = _("roll-call entry")
        verbose_name_plural = _("roll-call entries")
        constraints = [models.UniqueConstraint(fields=["roll_call", "student"], name="roll_call_entry_unique")]

    def __str__(self):
        return f"{self.student} {self.get_status_display()}"


class AbsenceFollowUp(models.Model):
    """An unexplained absence stays open until the homeroom teacher records what happened."""

    entry = models.OneToOneField(
        RollCallEntry, models.CASCADE, related_name="follow_up", verbose_name=_("roll-call entry")
    )
    opened_at = models.DateTimeField(_("opened at"), auto_now_add=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+")
    note = models.CharField(_("what happened"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("absence follow-up")
        verbose_name_plural = _("absence follow-ups")
        ordering = ["-opened_at"]

    def __str__(self):
        return str(self.entry)


class PickupPass(models.Model):
    """A pickup code: a guardian's own, an authorised person's, or a one-time one a guardian
    registered for a date. The teacher checks the code at release."""

    class Kind(models.TextChoices):
        GUARDIAN = "guardian", _("guardian")
        AUTHORISED = "authorised", _("authorised person")
        ONE_TIME = "one_time", _("one-time pickup person")

    student = models.ForeignKey(
        "enrollment.Student", models.CASCADE, related_name="pickup_passes", verbose_name=_("student")
    )
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=50)
    mobile = models.CharField(_("mobile"), max_length=11, blank=True)
    code = models.CharField(_("pickup code"), max_length=6)
    valid_on = models.DateField(_("valid on"), null=True, blank=True, help_text=_("Only for a one-time pickup person."))
    guardian = models.ForeignKey("enrollment.Guardian", models.CASCADE, null=True, blank=True, related_name="+")
    authorised_person = models.ForeignKey(
        "enrollment.AuthorisedPerson", models.CASCADE, null=True, blank=True, related_name="pickup_passes"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("pickup code")
        verbose_name_plural = _("pickup codes")
        constraints = [models.UniqueConstraint(fields=["student", "code"], name="pickup_code_unique_per_student")]

    def __str__(self):
        return f"{self.student} · {self.name}"


class Release(models.Model):
    """放学交接: who took a present child, how, where and when. One per child, group and day."""

    class Kind(models.TextChoices):
        GUARDIAN = "guardian", _("to a guardian")
        AUTHORISED = "authorised", _("to an authorised person")
        ONE_TIME = "one_time", _("to a one-time pickup person")
        ALONE = "alone", _("home alone (guardian's consent)")
        BUS = "bus", _("to the school bus")
        GATE = "gate", _("handed over to the gate guard")

    group = models.ForeignKey(
        "scheduling.ServiceGroup", models.PROTECT, related_name="releases", verbose_name=_("group")
    )
    date = models.DateField(_("date"))
    student = models.ForeignKey(
        "enrollment.Student", models.PROTECT, related_name="releases", verbose_name=_("student")
    )
    kind = models.CharField(_("released"), max_length=12, choices=Kind.choices)
    person = models.CharField(_("collected by"), max_length=80, blank=True)
    pickup_point = models.CharField(_("pickup point"), max_length=50, blank=True)
    released_at = models.DateTimeField(_("released at"))
    released_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, related_name="+", verbose_name=_("by"))

    class Meta:
        verbose_name = _("release")
        verbose_name_plural = _("releases")
        ordering = ["-released_at"]
        constraints = [models.UniqueConstraint(fields=["group", "date", "student"], name="release_once_a_day")]

    def __str__(self):
        return f"{self.student} {self.get_kind_display()}"


class ContactAttempt(models.Model):
    """A call to the family of a child still waiting to be collected."""

    group = models.ForeignKey("scheduling.ServiceGroup", models.PROTECT, related_name="+", verbose_name=_("group"))
    date = models.DateField(_("date"))
    student = models.ForeignKey("enrollment.Student", models.PROTECT, related_name="+", verbose_name=_("student"))
    at = models.DateTimeField(_("at"), auto_now_add=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, related_name="+", verbose_name=_("by"))
    note = models.CharField(_("result"), max_length=200)

    class Meta:
        verbose_name = _("contact attempt")
        verbose_name_plural = _("contact attempts")
        ordering = ["at"]

    def __str__(self):
        return f"{self.student} {self.at:%H:%M}"


class DayClosing(models.Model):
    """A group's service day closed by its teacher once every present child was released."""

    group = models.ForeignKey(
        "scheduling.ServiceGroup", models.PROTECT, related_name="closings", verbose_name=_("group")
    )
    date = models.DateField(_("date"))
    closed_at = models.DateTimeField(_("closed at"))
    closed_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, related_name="+", verbose_name=_("by"))

    class Meta:
        verbose_name = _("closed day")
        verbose_name_plural = _("closed days")
        constraints = [models.UniqueConstraint(fields=["group", "date"], name="day_closed_once")]

    def __str__(self):
        return f"{self.group} {self.date}"
