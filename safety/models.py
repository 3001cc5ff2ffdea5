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
# A day of service taken part in, for the monthly attendance rule of billing: present or late.
ATTENDED = (Attendance.PRESENT, Attendance.LATE)


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
    # Who changed what, when and why (the reason is the change reason). The history is found by
    # roll call (indexed; a save's rows sit together); an index on the entry and on the child would
    # put each of a class's 45 rows on its own index page: 2.0 → 0.4 ms for every save, measured.
    history = HistoricalRecords(no_db_index=["id", "student"])

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
    history = HistoricalRecords()

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


class Handover(models.Model):
    """交接: at the start, the homeroom teacher hands the class's service children over."""

    homeroom = models.ForeignKey(
        "enrollment.Homeroom", models.PROTECT, related_name="handovers", verbose_name=_("homeroom class")
    )
    date = models.DateField(_("date"))
    handed_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, related_name="+", verbose_name=_("by"))
    handed_at = models.DateTimeField(_("handed over at"))
    count = models.PositiveSmallIntegerField(_("children handed over"))
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("handover")
        verbose_name_plural = _("handovers")
        ordering = ["-date"]
        constraints = [models.UniqueConstraint(fields=["homeroom", "date"], name="handover_once_a_day")]

    def __str__(self):
        return f"{self.homeroom} {self.date}"


class CareRecord(models.Model):
    """看护记录: the group's day, written by its teacher."""

    group = models.ForeignKey(
        "scheduling.ServiceGroup", models.PROTECT, related_name="care_records", verbose_name=_("group")
    )
    date = models.DateField(_("date"))
    text = models.TextField(_("record"))
    author = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, related_name="+", verbose_name=_("by"))
    written_at = models.DateTimeField(_("written at"), auto_now=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("care record")
        verbose_name_plural = _("care records")
        ordering = ["-date"]
        constraints = [models.UniqueConstraint(fields=["group", "date"], name="care_record_daily")]

    def __str__(self):
        return f"{self.group} {self.date}"


class ActivityRecord(models.Model):
    """活动记录: what an activity did in a week."""

    group = models.ForeignKey(
        "scheduling.ServiceGroup", models.PROTECT, related_name="activity_records", verbose_name=_("group")
    )
    week_of = models.DateField(_("week of (Monday)"))
    activity = models.ForeignKey("scheduling.Activity", models.PROTECT, related_name="+", verbose_name=_("activity"))
    text = models.TextField(_("record"))
    author = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, related_name="+", verbose_name=_("by"))
    written_at = models.DateTimeField(_("written at"), auto_now=True)

    class Meta:
        verbose_name = _("activity record")
        verbose_name_plural = _("activity records")
        ordering = ["-week_of"]
        constraints = [models.UniqueConstraint(fields=["group", "week_of", "activity"], name="activity_record_weekly")]

    def __str__(self):
        return f"{self.group} {self.week_of} {self.activity}"


class PatrolRecord(models.Model):
    """巡视记录 by the duty leader."""

    school = models.ForeignKey("enrollment.School", models.PROTECT, related_name="+", verbose_name=_("school"))
    leader = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, related_name="+", verbose_name=_("duty leader")
    )
    at = models.DateTimeField(_("at"))
    group = models.ForeignKey(
        "scheduling.ServiceGroup", models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("group")
    )
    observations = models.TextField(_("observations"))

    class Meta:
        verbose_name = _("patrol record")
        verbose_name_plural = _("patrol records")
        ordering = ["-at"]

    def __str__(self):
        return f"{self.leader} {self.at:%Y-%m-%d %H:%M}"


class Incident(models.Model):
    """突发事件: what happened, to whom, what was done, and when the guardians were told."""

    class Kind(models.TextChoices):
        INJURY = "injury", _("injury")
        ILLNESS = "illness", _("illness")
        MISSING = "missing", _("child missing")
        CONFLICT = "conflict", _("conflict between children")
        STRANGER = "stranger", _("stranger or unauthorised pickup")
        OTHER = "other", _("other")

    class Severity(models.IntegerChoices):
        MINOR = 1, _("minor")
        SERIOUS = 2, _("serious")
        MAJOR = 3, _("major")

    school = models.ForeignKey("enrollment.School", models.PROTECT, related_name="+", verbose_name=_("school"))
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    severity = models.PositiveSmallIntegerField(_("severity"), choices=Severity.choices)
    occurred_at = models.DateTimeField(_("happened at"))
    group = models.ForeignKey(
        "scheduling.ServiceGroup",
        models.PROTECT,
        null=True,
        blank=True,
        related_name="incidents",
        verbose_name=_("group"),
    )
    students = models.ManyToManyField("enrollment.Student", related_name="incidents", verbose_name=_("students"))
    description = models.TextField(_("what happened"))
    actions = models.TextField(_("what was done"))
    guardians_notified_at = models.DateTimeField(_("guardians told at"), null=True, blank=True)
    follow_up = models.TextField(_("follow-up"), blank=True)
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.PROTECT, related_name="+", verbose_name=_("reported by")
    )
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("incident")
        verbose_name_plural = _("incidents")
        ordering = ["-occurred_at"]

    def __str__(self):
        return f"{self.get_kind_display()} {self.occurred_at:%Y-%m-%d %H:%M}"


class IncidentAcknowledgement(models.Model):
    incident = models.ForeignKey(Incident, models.CASCADE, related_name="acknowledgements", verbose_name=_("incident"))
    guardian = models.ForeignKey("enrollment.Guardian", models.CASCADE, related_name="+", verbose_name=_("guardian"))
    at = models.DateTimeField(_("acknowledged at"), auto_now_add=True)

    class Meta:
        verbose_name = _("incident acknowledgement")
        verbose_name_plural = _("incident acknowledgements")
        constraints = [models.UniqueConstraint(fields=["incident", "guardian"], name="incident_ack_once")]

    def __str__(self):
        return f"{self.guardian} {self.at:%Y-%m-%d %H:%M}"


class GateVisit(models.Model):
    """门卫登记: a visitor in and out."""

    school = models.ForeignKey("enrollment.School", models.PROTECT, related_name="+", verbose_name=_("school"))
    visitor = models.CharField(_("visitor"), max_length=50)
    id_last4 = models.CharField(_("ID card, last 4"), max_length=4, blank=True)
    purpose = models.CharField(_("purpose"), max_length=100)
    host = models.CharField(_("visiting"), max_length=50, blank=True)
    in_at = models.DateTimeField(_("in at"))
    out_at = models.DateTimeField(_("out at"), null=True, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.PROTECT, related_name="+", verbose_name=_("by"))

    class Meta:
        verbose_name = _("gate visit")
        verbose_name_plural = _("gate register")
        ordering = ["-in_at"]

    def __str__(self):
        return f"{self.visitor} {self.in_at:%Y-%m-%d %H:%M}"
