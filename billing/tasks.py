"""Celery tasks of the billing app (adapters: ids and ISO dates in, the service does the work)."""

from celery import shared_task

from enrollment.models import School

from .services import disclosure_publish


@shared_task(ignore_result=True)
def monthly_disclosure(today: str | None = None) -> list[int]:
    """On the 1st: every school's income and expense disclosure (收支公示) of the previous month."""
    from datetime import date

    from django.utils import timezone

    day = date.fromisoformat(today) if today else timezone.localdate()
    year, month = (day.year, day.month - 1) if day.month > 1 else (day.year - 1, 12)
    return [disclosure_publish(school=school, year=year, month=month).pk for school in School.objects.all()]
