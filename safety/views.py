"""Safety workspaces: the teacher's day and roll call, absence follow-up, the duty board.
Release at dismissal, the logs and the gate register come with the rest of the safety work;
until then those pages say so plainly."""

from datetime import datetime, timedelta

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from enrollment.models import StaffProfile
from enrollment.permissions import role_required
from enrollment.roles import Role
from scheduling.services import settings_for

from . import selectors, services
from .models import AbsenceFollowUp, Attendance, ContactAttempt, Release


def _pending(request, title, what):
    return render(request, "workspace_pending.html", {"title": title, "what": what})


@role_required(Role.SERVICE_TEACHER, Role.HOMEROOM_TEACHER)
def teacher_today(request):
    day = timezone.localdate()
    sessions = list(selectors.sessions_for_teacher(user=request.user, day=day))
    return render(request, "safety/today.html", {"sessions": sessions, "day": day})


@role_required(Role.SERVICE_TEACHER, Role.HOMEROOM_TEACHER, Role.ADMIN)
def roll_call(request, pk):
    session = get_object_or_404(selectors.session_for_teacher(user=request.user, pk=pk))
    if not services.may_take_roll_call(request.user, session):
        raise PermissionDenied
    students = services.session_students(session)
    statuses = services.initial_statuses(session, students)
    saved = getattr(session, "roll_call", None) if hasattr(session, "roll_call") else None
    error, status = None, 200
    if request.method == "POST":
        posted = {s.pk: request.POST.get(f"s{s.pk}", "") for s in students}
        raw_version = request.POST.get("version", "")
        try:
            services.roll_call_save(
                session=session, teacher=request.user, statuses=posted,
                version=int(raw_version) if raw_version.isdigit() else None, reason=request.POST.get("reason", ""),
                students=students,
            )  # fmt: skip
        except ValidationError as exc:
            error = " ".join(exc.messages)
            status = 409 if getattr(exc, "code", None) == "conflict" else 400
            statuses = {pk: value if value in Attendance.values else statuses[pk] for pk, value in posted.items()}
        else:
            messages.success(request, _("Roll call saved for %(count)s students.") % {"count": len(students)})
            return redirect("safety:teacher_today")
    rows = [(student, statuses[student.pk]) for student in students]
    context = {
        "session": session,
        "rows": rows,
        "states": Attendance.choices,
        "version": saved.version if saved else 0,
        "ended": services.session_ended(session),
        "error": error,
        "counts": {value: sum(1 for _s, v in rows if v == value) for value in Attendance.values},
    }
    return render(request, "safety/roll_call.html", context, status=status)


@role_required(Role.HOMEROOM_TEACHER)
def follow_ups(request):
    items = list(selectors.follow_ups_for_teacher(user=request.user))
    if request.method == "POST":
        follow_up = get_object_or_404(AbsenceFollowUp, pk=request.POST.get("follow_up"), closed_at__isnull=True)
        try:
            services.follow_up_close(follow_up=follow_up, teacher=request.user, note=request.POST.get("note", ""))
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("Follow-up closed."))
        return redirect("safety:follow_ups")
    return render(request, "safety/follow_ups.html", {"items": items})


@role_required(Role.DUTY_LEADER, Role.ADMIN)
def duty_board(request):
    profile = StaffProfile.objects.filter(user=request.user).select_related("school").first()
    if profile is None:
        raise PermissionDenied
    rules = settings_for(profile.school)
    rows = selectors.duty_board(
        school_id=profile.school_id, day=timezone.localdate(), due_minutes=rules.roll_call_due_minutes
    )
    template = "safety/board_rows.html" if request.headers.get("HX-Request") else "safety/board.html"
    return render(request, template, {"rows": rows, "now": timezone.localtime(), "states": Attendance.choices})


@role_required(Role.GATE_GUARD)
def gate(request):
    return _pending(request, gettext_lazy("Gate"), gettext_lazy("the visitor register and late pickups at the gate"))


@role_required(Role.SERVICE_TEACHER, Role.HOMEROOM_TEACHER, Role.ADMIN)
def dismissal(request, pk):
    """放学交接 for one session: release each present child, log calls, close the day."""
    session = get_object_or_404(selectors.session_for_teacher(user=request.user, pk=pk))
    if not services.may_take_roll_call(request.user, session):
        raise PermissionDenied
    students = services.on_site_students(session)
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action == "close":
                services.day_close(group=session.group, day=session.date, teacher=request.user)
                messages.success(request, _("The day is closed: every child is accounted for."))
                return redirect("safety:teacher_today")
            student = next((s for s in students if str(s.pk) == request.POST.get("student")), None)
            if student is None:
                raise ValidationError(_("Choose a child from the list."))
            if action == "contact":
                services.contact_attempt_log(
                    session=session, student=student, teacher=request.user, note=request.POST.get("note", "")
                )
                messages.success(request, _("Call logged."))
            else:
                release = services.release_record(
                    session=session,
                    student=student,
                    teacher=request.user,
                    code=request.POST.get("code", ""),
                    kind=action if action in {"alone", "bus", "gate"} else "",
                    pickup_point=request.POST.get("pickup_point", ""),
                )
                messages.success(
                    request, _("%(child)s released: %(how)s %(person)s") % {
                        "child": student.name, "how": release.get_kind_display(), "person": release.person,
                    },
                )  # fmt: skip
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        return redirect("safety:dismissal", session.pk)
    releases = {r.student_id: r for r in Release.objects.filter(group=session.group, date=session.date)}
    calls = {}
    for call in ContactAttempt.objects.filter(group=session.group, date=session.date):
        calls.setdefault(call.student_id, []).append(call)
    rules = settings_for(session.group.term.school)
    end = timezone.make_aware(datetime.combine(session.date, session.end)) + timedelta(
        minutes=rules.pickup_grace_minutes
    )
    rows = [(s, releases.get(s.pk), calls.get(s.pk, [])) for s in students]
    context = {
        "session": session,
        "rows": rows,
        "awaiting": timezone.now() >= end,
        "waiting_count": sum(1 for _s, release, _c in rows if release is None),
    }
    return render(request, "safety/dismissal.html", context)
