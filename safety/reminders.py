"""The duty leader's reminder: what still needs someone now (the duty board, pushed)."""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from enrollment.models import Notification, StaffProfile
from enrollment.notify import notifications_create
from enrollment.roles import Role
from scheduling.models import Session

from .selectors import duty_board

KIND = "safety.duty_reminder"
QUIET_MINUTES = 30  # the same reminder is not repeated within this time


def _summary(rows) -> tuple[int, int, int]:
    due = sum(1 for row in rows if row.due)
    absences = sum(row.counts["open_follow_ups"] for row in rows)
    waiting = sum(row.counts["awaiting_pickup"] for row in rows)
    return due, absences, waiting


@transaction.atomic
def duty_reminders_send(*, now=None) -> int:
    """Send each school's duty leaders what is open on today's board; nothing when all is in
    order, and not the same message twice within half an hour. Returns the messages sent."""

    now = now or timezone.now()
    today = timezone.localtime(now).date()
    school_ids = set(Session.objects.filter(date=today).values_list("group__term__school_id", flat=True).distinct())
    leaders = {}
    for profile in StaffProfile.objects.filter(school_id__in=school_ids, user__groups__name=Role.DUTY_LEADER):
        leaders.setdefault(profile.school_id, []).append(profile.user_id)
    recent = set(
        Notification.objects.filter(kind=KIND, created_at__gte=now - timedelta(minutes=QUIET_MINUTES)).values_list(
            "recipient_id", "body"
        )
    )
    messages = []
    for school_id in sorted(school_ids):
        due, absences, waiting = _summary(duty_board(school_id=school_id, day=today, now=now))
        if not (due or absences or waiting):
            continue
        body = _(
            "Roll calls not taken: %(due)s. Absences not yet resolved: %(absences)s. "
            "Children waiting to be picked up: %(waiting)s. The duty board has the details."
        ) % {"due": due, "absences": absences, "waiting": waiting}
        for user_id in leaders.get(school_id, ()):
            if (user_id, body) not in recent:
                messages.append(
                    Notification(
                        recipient_id=user_id, kind=KIND, subject=_("After-school service: still open now"), body=body
                    )
                )
    notifications_create(notifications=messages)
    return len(messages)
