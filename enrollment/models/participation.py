"""Taking part in the service: the needs survey, the notice to parents, invitation codes,
applications and their review, the signed agreement, leave requests and withdrawal."""

import hashlib
import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .directory import Guardian, Student, Term, mobile_validator

__all__ = [
    "Priority", "ServiceSlots", "InvitationCode", "SurveyResponse", "ParentNotice", "NoticeRead", "Application",
    "ApplicationChoice", "AuthorisedPerson", "ApplicationEvent", "AgreementText", "AgreementSignature",
    "LeaveRequest",
]  # fmt: skip


def upload_path(instance, filename):
    """Evidence and scans are children's data: stored under a random name that nobody can guess
    (never the guardian's file name), and downloaded only through the admin."""
    extension = filename.rsplit(".", 1)[-1].lower()[:5] if "." in filename else "bin"
    return f"enrollment/{instance._meta.model_name}/{secrets.token_urlsafe(24)}.{extension}"


class Priority(models.IntegerChoices):
    """Priority categories for placement, most urgent first (the value is the sort key)."""

    DISABILITY = 1, _("disability (残疾)")
    LEFT_BEHIND = 2, _("left-behind child (留守)")
    MIGRANT = 3, _("migrant worker's child (随迁子女)")
    HARDSHIP = 4, _("family in hardship (家庭经济困难)")
    LOWER_GRADE = 5, _("lower grade (低年级)")
    NONE = 9, _("no priority")


class ServiceSlots(models.Model):
    """Which service times a family needs (shared by the survey and the application)."""

    slot_early = models.BooleanField(_("early arrival (早到托管)"), default=False)
    slot_midday = models.BooleanField(_("midday care (午托)"), default=False)
    slot_after_school = models.BooleanField(_("after school (课后)"), default=True)
    slot_evening = models.BooleanField(_("evening study (晚自习)"), default=False)
    slot_saturday = models.BooleanField(_("Saturday (周六)"), default=False)

    SLOT_FIELDS = ("slot_early", "slot_midday", "slot_after_school", "slot_evening", "slot_saturday")

    class Meta:
        abstract = True

    def slot_labels(self) -> list[str]:
        return [str(self._meta.get_field(name).verbose_name) for name in self.SLOT_FIELDS if getattr(self, name)]


class InvitationCode(models.Model):
    """A one-time code with which a family's guardian sets a password (also the reset path)."""

    guardian = models.ForeignKey(Guardian, models.CASCADE, related_name="invitation_codes", verbose_name=_("guardian"))
    code_hash = models.CharField(max_length=64, unique=True)
    issued_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, related_name="+")
    issued_at = models.DateTimeField(_("issued at"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires at"))
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)

    class Meta:
        verbose_name = _("invitation code")
        verbose_name_plural = _("invitation codes")
        ordering = ["-issued_at"]

    def __str__(self):
        return f"{self.guardian} {self.issued_at:%Y-%m-%d}"

    @staticmethod
    def hash(code: str) -> str:
        return hashlib.sha256(code.strip().upper().encode()).hexdigest()


class SurveyResponse(ServiceSlots):
    """调查摸底: whether a family needs the service, at which times, and which activities."""

    term = models.ForeignKey(Term, models.CASCADE, related_name="survey_responses", verbose_name=_("term"))
    student = models.ForeignKey(Student, models.CASCADE, related_name="survey_responses", verbose_name=_("student"))
    guardian = models.ForeignKey(Guardian, models.SET_NULL, null=True, related_name="+", verbose_name=_("guardian"))
    needs_service = models.BooleanField(_("needs the service"))
    activities = models.ManyToManyField(
        "scheduling.Activity", blank=True, related_name="+", verbose_name=_("activities")
    )
    answered_at = models.DateTimeField(_("answered at"), auto_now=True)

    class Meta:
        verbose_name = _("survey response")
        verbose_name_plural = _("survey responses")
        constraints = [models.UniqueConstraint(fields=["term", "student"], name="survey_one_per_student")]

    def __str__(self):
        return f"{self.term} {self.student}"


class ParentNotice(models.Model):
    """告家长书: the term's notice to parents, filled from a template and edited by the admin."""

    term = models.OneToOneField(Term, models.CASCADE, related_name="parent_notice", verbose_name=_("term"))
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("text"))
    published = models.BooleanField(_("published"), default=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("notice to parents")
        verbose_name_plural = _("notices to parents")

    def __str__(self):
        return self.title


class NoticeRead(models.Model):
    notice = models.ForeignKey(ParentNotice, models.CASCADE, related_name="reads", verbose_name=_("notice"))
    guardian = models.ForeignKey(Guardian, models.CASCADE, related_name="notice_reads", verbose_name=_("guardian"))
    read_at = models.DateTimeField(_("read at"), auto_now_add=True)

    class Meta:
        verbose_name = _("notice read")
        verbose_name_plural = _("notices read")
        constraints = [models.UniqueConstraint(fields=["notice", "guardian"], name="notice_read_once")]

    def __str__(self):
        return f"{self.guardian} {self.read_at:%Y-%m-%d %H:%M}"


class Application(ServiceSlots):
    """A guardian's application for one child and one term (家长申请)."""

    class Status(models.TextChoices):
        SUBMITTED = "submitted", _("submitted")
        CLASS_APPROVED = "class_approved", _("approved by the class")
        SCHOOL_APPROVED = "school_approved", _("approved by the school")
        PLACED = "placed", _("placed")
        WAITLISTED = "waitlisted", _("waitlisted")
        REJECTED = "rejected", _("rejected")
        WITHDRAWN = "withdrawn", _("withdrawn")

    class Pickup(models.TextChoices):
        GUARDIAN = "guardian", _("collected by a guardian")
        AUTHORISED = "authorised", _("collected by a guardian or an authorised person")
        ALONE = "alone", _("goes home alone")

    term = models.ForeignKey(Term, models.PROTECT, related_name="applications", verbose_name=_("term"))
    student = models.ForeignKey(Student, models.PROTECT, related_name="applications", verbose_name=_("student"))
    guardian = models.ForeignKey(
        Guardian,
        models.PROTECT,
        null=True,
        blank=True,
        related_name="applications",
        verbose_name=_("applying guardian"),
    )
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.SUBMITTED)
    pickup = models.CharField(_("pickup"), max_length=12, choices=Pickup.choices, default=Pickup.GUARDIAN)
    emergency_name = models.CharField(_("emergency contact"), max_length=50)
    emergency_mobile = models.CharField(_("emergency contact's mobile"), max_length=11, validators=[mobile_validator])
    health_notes = models.TextField(_("health notes"), blank=True)
    allergies = models.CharField(_("allergies"), max_length=200, blank=True)
    insurer = models.CharField(_("accident insurer"), max_length=100, blank=True)
    policy_number = models.CharField(_("policy number"), max_length=50, blank=True)
    priority = models.PositiveSmallIntegerField(_("priority category"), choices=Priority.choices, default=Priority.NONE)
    priority_evidence = models.FileField(_("evidence for the priority"), upload_to=upload_path, blank=True)
    paper_scan = models.FileField(
        _("scan of the paper form"), upload_to=upload_path, blank=True, help_text=_("For an application made on paper.")
    )
    withdrawn_on = models.DateField(
        _("leaves the service on"), null=True, blank=True, help_text=_("Set when the application is withdrawn.")
    )
    submitted_at = models.DateTimeField(_("submitted at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("application")
        verbose_name_plural = _("applications")
        ordering = ["-submitted_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["term", "student"],
                name="application_one_per_student_and_term",
                violation_error_message=_("This child already has an application for this term."),
            )
        ]

    def __str__(self):
        return f"{self.student.name} · {self.term}"

    @property
    def editable_by_guardian(self) -> bool:
        return self.status == self.Status.SUBMITTED


class ApplicationChoice(models.Model):
    """A chosen activity ("X") beside basic care ("1"), in the order of preference."""

    application = models.ForeignKey(Application, models.CASCADE, related_name="choices", verbose_name=_("application"))
    activity = models.ForeignKey("scheduling.Activity", models.PROTECT, related_name="+", verbose_name=_("activity"))
    rank = models.PositiveSmallIntegerField(_("preference"))

    class Meta:
        verbose_name = _("activity choice")
        verbose_name_plural = _("activity choices")
        ordering = ["application", "rank"]
        constraints = [
            models.UniqueConstraint(fields=["application", "rank"], name="choice_unique_rank"),
            models.UniqueConstraint(fields=["application", "activity"], name="choice_unique_activity"),
        ]

    def __str__(self):
        return f"{self.rank}. {self.activity}"


id_last4_validator = RegexValidator(r"^[0-9]{3}[0-9Xx]$", _("The last 4 characters of the ID card, e.g. 123X."))


class AuthorisedPerson(models.Model):
    """Someone other than a guardian who may collect the child."""

    application = models.ForeignKey(
        Application, models.CASCADE, related_name="authorised_persons", verbose_name=_("application")
    )
    name = models.CharField(_("name"), max_length=50)
    relation = models.CharField(_("relation"), max_length=20)
    mobile = models.CharField(_("mobile"), max_length=11, validators=[mobile_validator])
    id_last4 = models.CharField(_("ID card, last 4"), max_length=4, validators=[id_last4_validator])

    class Meta:
        verbose_name = _("authorised person")
        verbose_name_plural = _("authorised persons")

    def __str__(self):
        return f"{self.name}（{self.relation}）"


class ApplicationEvent(models.Model):
    """One step of an application's workflow: who did what, when, with which note."""

    application = models.ForeignKey(Application, models.CASCADE, related_name="events", verbose_name=_("application"))
    status = models.CharField(_("status"), max_length=20, choices=Application.Status.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, related_name="+", verbose_name=_("by")
    )
    at = models.DateTimeField(_("at"), auto_now_add=True)
    note = models.TextField(_("note"), blank=True)

    class Meta:
        verbose_name = _("application step")
        verbose_name_plural = _("application steps")
        ordering = ["at", "pk"]

    def __str__(self):
        return f"{self.get_status_display()} {self.at:%Y-%m-%d %H:%M}"


class AgreementText(models.Model):
    """The safety agreement (安全责任书 / 课后服务协议) of a term. A signed text never changes:
    editing it makes a new version."""

    term = models.ForeignKey(Term, models.PROTECT, related_name="agreement_texts", verbose_name=_("term"))
    version = models.PositiveSmallIntegerField(_("version"))
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("text"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("agreement text")
        verbose_name_plural = _("agreement texts")
        ordering = ["term", "-version"]
        constraints = [models.UniqueConstraint(fields=["term", "version"], name="agreement_unique_version")]

    def __str__(self):
        return f"{self.title} v{self.version}"

    @property
    def signed_content(self) -> str:
        """Exactly what the guardian is shown and signs; its SHA-256 is stored with the signature."""
        return f"{self.title}\n\n{self.body}"

    def sha256(self) -> str:
        return hashlib.sha256(self.signed_content.encode("utf-8")).hexdigest()


class AgreementSignature(models.Model):
    """A guardian's signature of a term's agreement for one child (or a recorded paper one)."""

    term = models.ForeignKey(Term, models.PROTECT, related_name="agreement_signatures", verbose_name=_("term"))
    text = models.ForeignKey(AgreementText, models.PROTECT, related_name="signatures", verbose_name=_("agreement text"))
    student = models.ForeignKey(Student, models.PROTECT, related_name="agreement_signatures", verbose_name=_("student"))
    guardian = models.ForeignKey(
        Guardian, models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("guardian")
    )
    signed_name = models.CharField(_("name typed by the signer"), max_length=50)
    signed_at = models.DateTimeField(_("signed at"), auto_now_add=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("browser"), max_length=300, blank=True)
    text_sha256 = models.CharField(_("SHA-256 of the signed text"), max_length=64)
    paper_scan = models.FileField(_("scan of the paper agreement"), upload_to=upload_path, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        verbose_name = _("agreement signature")
        verbose_name_plural = _("agreement signatures")
        ordering = ["-signed_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["term", "student"],
                name="agreement_signed_once_per_term",
                violation_error_message=_("The agreement for this child and term is already signed."),
            )
        ]

    def __str__(self):
        return f"{self.student.name} · {self.text}"

    def verifies(self) -> bool:
        return self.text.sha256() == self.text_sha256


class LeaveRequest(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("waiting for the homeroom teacher")
        APPROVED = "approved", _("approved")
        REJECTED = "rejected", _("rejected")

    student = models.ForeignKey(Student, models.PROTECT, related_name="leave_requests", verbose_name=_("student"))
    guardian = models.ForeignKey(Guardian, models.PROTECT, null=True, related_name="+", verbose_name=_("guardian"))
    start = models.DateField(_("from"))
    end = models.DateField(_("to"))
    reason = models.CharField(_("reason"), max_length=200)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+")
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_note = models.CharField(_("note"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("asked at"), auto_now_add=True)

    class Meta:
        verbose_name = _("leave request")
        verbose_name_plural = _("leave requests")
        ordering = ["-start"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end__gte=models.F("start")),
                name="leave_end_after_start",
                violation_error_message=_("“To” must not be before “from”."),
            )
        ]

    def __str__(self):
        return f"{self.student.name} {self.start}–{self.end}"

    def clean(self):
        if self.start and self.end and (self.end - self.start).days > 60:
            raise ValidationError(_("A leave request covers at most 60 days."))
