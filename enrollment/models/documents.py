"""Generated documents (PDFs): a status row with the data frozen at issue time and the file."""

import secrets

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils.translation import gettext_lazy as _

from .directory import School

__all__ = ["Document", "DocumentBatch"]


def document_path(instance, filename):
    """Documents hold children's data: stored under a name nobody can guess, served only through
    a view that checks who asks."""
    return f"documents/{instance.requested_at:%Y/%m}/{secrets.token_urlsafe(18)}.pdf"


class DocumentStatus(models.TextChoices):
    QUEUED = "queued", _("queued")
    RUNNING = "running", _("running")
    DONE = "done", _("done")
    FAILED = "failed", _("failed")


class DocumentKind(models.TextChoices):
    NOTICE = "notice", _("notice to parents")
    AGREEMENT = "agreement", _("signed agreement")
    FEE_NOTICE = "fee_notice", _("fee notice")
    CLASS_FEE_NOTICE = "class_fee_notice", _("fee notices of a class")
    SETTLEMENT = "settlement", _("settlement statement")
    DISCLOSURE = "disclosure", _("monthly income and expense disclosure")
    SUBSIDY = "subsidy", _("teacher attendance and subsidy")
    INCIDENT = "incident", _("incident report")


class _Claimable(models.Model):
    """Work a worker claims with a conditional update (status, token and lease), so that running
    the same task twice, or after a worker died, finishes it exactly once."""

    Status = DocumentStatus

    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.QUEUED)
    error = models.TextField(_("error"), blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    claim = models.CharField(max_length=32, blank=True, editable=False)
    lease_until = models.DateTimeField(null=True, blank=True, editable=False)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("asked by")
    )
    requested_at = models.DateTimeField(_("asked at"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        abstract = True


class DocumentBatch(_Claimable):
    """Many documents made by one task (for example the fee notices of a whole grade)."""

    school = models.ForeignKey(School, models.PROTECT, related_name="+", verbose_name=_("school"))
    kind = models.CharField(_("kind"), max_length=20, choices=DocumentKind.choices)
    label = models.CharField(_("title"), max_length=200)
    total = models.PositiveIntegerField(_("documents"), default=0)

    class Meta:
        verbose_name = _("document batch")
        verbose_name_plural = _("document batches")
        ordering = ["-requested_at"]

    def __str__(self):
        return self.label


class Document(_Claimable):
    Kind = DocumentKind

    school = models.ForeignKey(School, models.PROTECT, related_name="+", verbose_name=_("school"))
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    title = models.CharField(_("title"), max_length=200)
    subject_type = models.ForeignKey(ContentType, models.PROTECT, null=True, blank=True, related_name="+")
    subject_id = models.PositiveBigIntegerField(null=True, blank=True)
    subject = GenericForeignKey("subject_type", "subject_id")
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    data = models.JSONField(_("frozen content"), null=True, blank=True, editable=False)
    file = models.FileField(_("file"), upload_to=document_path, blank=True)
    checksum = models.CharField(_("SHA-256 of the content"), max_length=64, blank=True)
    pages = models.PositiveIntegerField(_("pages"), default=0)
    batch = models.ForeignKey(
        DocumentBatch, models.CASCADE, null=True, blank=True, related_name="documents", verbose_name=_("batch")
    )

    class Meta:
        verbose_name = _("document")
        verbose_name_plural = _("documents")
        ordering = ["-requested_at", "-pk"]
        indexes = [
            models.Index(fields=["status", "lease_until"]),
            models.Index(fields=["subject_type", "subject_id"]),
        ]

    def __str__(self):
        return self.title
