"""Reads for the teacher's day and the duty board, scoped to the user."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from enrollment.roles import Role, has_role
from enrollment.selectors import staff_profile_for
from scheduling.models import Session

from .models import ON_SITE, AbsenceFollowUp, Attendance, Incident, Release


def sessions_for_teacher(*, user, day) -> QuerySet[Session]:
    """The sessions ``user`` serves on ``day`` (as the session's teacher or the group's)."""
    return (
        Session.objects.filter(Q(teacher=user) | Q(group__teacher=user), date=day)
        .select_related("group", "activity", "room", "roll_call")
        .order_by("start", "group__name")
        .distinct()
    )


def session_for_teacher(*, user, pk, related=("group__term__school", "activity", "room")) -> Session:
    """The session, if ``user`` teaches it or its group (the school admin: any of the school's);
    otherwise 404. One query with ``related`` joined (a save needs none of them)."""

    try:
        session = Session.objects.select_related("group__term", *related).get(pk=pk)
    except Session.DoesNotExist:
        raise Http404 from None
    if user.pk in (session.teacher_id, session.group.teacher_id):
        return session
    if has_role(user, Role.ADMIN):
        profile = staff_profile_for(user=user)
        if profile is not None and profile.school_id == session.group.term.school_id:
            return session
    raise Http404


def follow_ups_for_teacher(*, user) -> QuerySet[AbsenceFollowUp]:
    return (
        AbsenceFollowUp.objects.filter(entry__student__homeroom__teacher=user, closed_at__isnull=True)
        .select_related("entry__student__homeroom__grade", "entry__roll_call__session__group")
        .order_by("opened_at")
    )


@dataclass
class BoardRow:
    session: Session
    due: bool  # roll call missing past the due time
    counts: dict


def duty_board(*, school_id, day, now=None, due_minutes: int = 10, grace_minutes: int = 30) -> list[BoardRow]:
    """Today's sessions with roll-call state and counts, and after the end time plus the grace
    period the children still awaiting pickup; two queries whatever the size."""
    now = now or timezone.now()
    released = dict(
        Release.objects.filter(date=day, group__term__school_id=school_id)
        .values("group_id")
        .annotate(n=Count("pk"))
        .values_list("group_id", "n")
    )
    sessions = list(
        Session.objects.filter(date=day, group__term__school_id=school_id)
        .select_related("group", "activity", "room", "teacher", "roll_call")
        .annotate(
            **{
                status: Count("roll_call__entries", filter=Q(roll_call__entries__status=status))
                for status in Attendance.values
            },
            open_follow_ups=Count(
                "roll_call__entries__follow_up", filter=Q(roll_call__entries__follow_up__closed_at__isnull=True)
            ),
        )
        .order_by("start", "group__name")
    )
    last_end = {}
    for session in sessions:
        last_end[session.group_id] = max(last_end.get(session.group_id, session.end), session.end)
    open_incidents = dict(
        Incident.objects.filter(school_id=school_id, occurred_at__date=day, closed_at__isnull=True)
        .values("group_id")
        .annotate(n=Count("pk"))
        .values_list("group_id", "n")
    )
    rows = []
    for session in sessions:
        taken = hasattr(session, "roll_call")
        start = timezone.make_aware(datetime.combine(session.date, session.start))
        due = not taken and now >= start + timedelta(minutes=due_minutes)
        counts = {status: getattr(session, status) for status in Attendance.values}
        counts["open_follow_ups"] = session.open_follow_ups
        # Children wait for pickup after the group's last session of the day (plus grace), not between sessions.
        end = timezone.make_aware(datetime.combine(session.date, session.end))
        is_last = session.end == last_end[session.group_id]
        on_site = sum(counts[status] for status in ON_SITE)
        past_grace = now >= end + timedelta(minutes=grace_minutes)
        counts["awaiting_pickup"] = max(0, on_site - released.get(session.group_id, 0)) if is_last and past_grace else 0
        counts["incidents"] = open_incidents.get(session.group_id, 0) if is_last else 0
        rows.append(BoardRow(session=session, due=due, counts=counts))
    return rows
