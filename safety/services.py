"""Roll call and absence follow-up."""

from datetime import datetime

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from enrollment.models import Notification, Student, StudentGuardian
from enrollment.roles import Role, has_role
from enrollment.selectors import students_on_leave

from .models import AbsenceFollowUp, Attendance, RollCall, RollCallEntry


def session_students(session) -> list[Student]:
    """The students of the session's group on the session's date (withdrawn ones excluded)."""
    return list(
        Student.objects.filter(group_memberships__group_id=session.group_id)
        .filter(Q(group_memberships__left_on__isnull=True) | Q(group_memberships__left_on__gt=session.date))
        .select_related("homeroom__grade")
        .order_by("homeroom__grade__number", "homeroom__number", "student_no")
        .distinct()
    )


def may_take_roll_call(user, session) -> bool:
    return session.teacher_id == user.pk or session.group.teacher_id == user.pk or has_role(user, Role.ADMIN)


def session_ended(session, now=None) -> bool:
    now = now or timezone.now()
    end = timezone.make_aware(datetime.combine(session.date, session.end))
    return now >= end


def initial_statuses(session, students) -> dict[int, str]:
    """What the roll-call page starts from: the saved roll call, else approved leave as excused
    and everyone else present (the teacher taps only the exceptions)."""
    saved = {}
    if hasattr(session, "roll_call"):
        saved = dict(session.roll_call.entries.values_list("student_id", "status"))
    on_leave = students_on_leave(day=session.date)
    return {s.pk: saved.get(s.pk) or (Attendance.EXCUSED if s.pk in on_leave else Attendance.PRESENT) for s in students}


@transaction.atomic
def roll_call_save(
    *, session, teacher, statuses: dict[int, str], version: int | None, reason: str = "", now=None, students=None
) -> RollCall:
    """Save the whole class's roll call in one go.

    ``version`` is the roll call's version the page was built from: if another save came in
    between, nothing is written and a conflict message asks to reload (nobody's taps are
    overwritten unseen). After the session's end a change needs a reason, kept in the history.
    New unexplained absences notify the homeroom teacher and the guardians at once and open a
    follow-up.
    """
    now = now or timezone.now()
    if not may_take_roll_call(teacher, session):
        raise PermissionDenied
    students = session_students(session) if students is None else students
    ids = {s.pk for s in students}
    if set(statuses) != ids:
        raise ValidationError(_("The class list has changed; please reload the page."))
    if any(value not in Attendance.values for value in statuses.values()):
        raise ValidationError(_("Unknown attendance state."))

    roll_call = RollCall.objects.select_for_update().filter(session=session).first()
    if roll_call is None:
        if version not in (None, 0):
            raise ValidationError(
                _("Someone else saved this roll call meanwhile; please reload the page and check."), code="conflict"
            )
        roll_call = RollCall.objects.create(session=session, taken_by=teacher, version=1)
        entries = [RollCallEntry(roll_call=roll_call, student_id=pk, status=statuses[pk]) for pk in sorted(ids)]
        bulk_create_with_history(entries, RollCallEntry, default_user=teacher)
        previous = {}
    else:
        if version != roll_call.version:
            raise ValidationError(
                _("Someone else saved this roll call meanwhile; please reload the page and check."), code="conflict"
            )
        existing = {e.student_id: e for e in roll_call.entries.all()}
        previous = {pk: e.status for pk, e in existing.items()}
        changed = [e for pk, e in existing.items() if pk in statuses and e.status != statuses[pk]]
        if changed and session_ended(session, now) and not reason.strip():
            raise ValidationError(_("The session has ended: give a reason for changing the roll call."))
        for entry in changed:
            entry.status = statuses[entry.student_id]
        if changed:
            bulk_update_with_history(
                changed, RollCallEntry, ["status"], default_user=teacher, default_change_reason=reason.strip() or None
            )
        missing = [RollCallEntry(roll_call=roll_call, student_id=pk, status=statuses[pk]) for pk in ids - set(existing)]
        if missing:
            bulk_create_with_history(missing, RollCallEntry, default_user=teacher)
        RollCall.objects.filter(pk=roll_call.pk).update(version=roll_call.version + 1, updated_at=now)
        roll_call.version += 1
    if session.roll_call_at is None:
        session.roll_call_at = now
        session.save(update_fields=["roll_call_at"])

    newly_absent = [
        pk for pk, status in statuses.items() if status == Attendance.ABSENT and previous.get(pk) != Attendance.ABSENT
    ]
    if newly_absent:
        _report_absences(roll_call, session, newly_absent)
    return roll_call


def _report_absences(roll_call, session, student_ids):
    entries = list(roll_call.entries.filter(student_id__in=student_ids).select_related("student__homeroom"))
    open_already = set(AbsenceFollowUp.objects.filter(entry__in=entries).values_list("entry_id", flat=True))
    AbsenceFollowUp.objects.bulk_create([AbsenceFollowUp(entry=e) for e in entries if e.pk not in open_already])
    links = StudentGuardian.objects.filter(student_id__in=student_ids).select_related("guardian")
    notices = []
    with translation.override(settings.LANGUAGE_CODE):
        for entry in entries:
            student = entry.student
            subject = _("%(child)s is absent from after-school service") % {"child": student.name}
            body = _(
                "%(child)s did not come to %(group)s (%(activity)s, %(start)s) on %(date)s and no leave was asked for. "
                "Please contact the school at once."
            ) % {
                "child": student.name, "group": session.group.name, "activity": session.activity.name,
                "start": session.start.strftime("%H:%M"), "date": session.date.strftime("%Y-%m-%d"),
            }  # fmt: skip
            if student.homeroom.teacher_id:
                notices.append(
                    Notification(
                        recipient_id=student.homeroom.teacher_id, kind="safety.absence", subject=subject, body=body
                    )
                )
            for link in links:
                if link.student_id == student.pk:
                    notices.append(
                        Notification(
                            recipient_id=link.guardian.user_id,
                            guardian=link.guardian,
                            kind="safety.absence",
                            subject=subject,
                            body=body,
                        )
                    )
    Notification.objects.bulk_create(notices)


@transaction.atomic
def follow_up_close(*, follow_up: AbsenceFollowUp, teacher, note: str, now=None) -> AbsenceFollowUp:
    if follow_up.entry.student.homeroom.teacher_id != teacher.pk and not has_role(teacher, Role.ADMIN):
        raise PermissionDenied
    if not note.strip():
        raise ValidationError(_("Write down what happened."))
    follow_up.closed_at, follow_up.closed_by, follow_up.note = now or timezone.now(), teacher, note.strip()
    follow_up.save(update_fields=["closed_at", "closed_by", "note"])
    return follow_up
