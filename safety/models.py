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
