"""The duty leader's reminder during service hours (Celery beat, every five minutes)."""

from datetime import datetime, time, timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from enrollment.models import Notification
from safety import services
from safety.models import Attendance
from safety.tasks import duty_reminders
from tests.safety.factories import add_members

pytestmark = pytest.mark.django_db


def _at(session, hour, minute):
    return timezone.make_aware(datetime.combine(session.date, time(hour, minute)))


def test_the_duty_leader_hears_about_a_missing_roll_call_once_in_half_an_hour(
    session, homeroom_a, duty_leader, service_teacher, django_capture_on_commit_callbacks
):
    add_members(session, homeroom_a, 3)
    duty_leader.email = "zhuren@example.cn"
    duty_leader.save()

    with django_capture_on_commit_callbacks(execute=True):
        sent = []
        for minute in (5, 12, 17, 45):  # not due yet; due; the same news too soon; half an hour later
            with time_machine.travel(_at(session, 16, minute), tick=False):
                sent.append(duty_reminders())
    assert sent == [0, 1, 0, 1]

    message = Notification.objects.filter(recipient=duty_leader).first()
    assert "未点名：1" in message.body and message.kind == "safety.duty_reminder"
    assert not Notification.objects.filter(recipient=service_teacher).exists()
    assert len(mail.outbox) == 2 and mail.outbox[0].to == ["zhuren@example.cn"]


def test_absences_and_children_waiting_are_counted_and_a_quiet_day_sends_nothing(
    session, homeroom_a, duty_leader, service_teacher
):
    first, second, third = add_members(session, homeroom_a, 3)
    statuses = {first.pk: Attendance.ABSENT, second.pk: Attendance.PRESENT, third.pk: Attendance.PRESENT}
    with timezone.override("Asia/Shanghai"):
        services.roll_call_save(
            session=session, teacher=service_teacher, statuses=statuses, version=0, now=_at(session, 16, 3)
        )

    assert duty_reminders(now=(_at(session, 17, 45)).isoformat()) == 1
    body = Notification.objects.get(recipient=duty_leader).body
    assert "未处理的缺勤：1" in body and "等待接走：2" in body
    Notification.objects.all().delete()
    assert duty_reminders(now=(_at(session, 16, 1) - timedelta(days=1)).isoformat()) == 0
