"""Celery tasks of the safety app."""

from celery import shared_task

from .reminders import duty_reminders_send


@shared_task(ignore_result=True)
def duty_reminders(now: str | None = None) -> int:
    """Every few minutes in service hours: tell each school's duty leaders about open absences,
    roll calls not taken and children not yet picked up."""
    from datetime import datetime

    return duty_reminders_send(now=datetime.fromisoformat(now) if now else None)
