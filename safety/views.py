"""Safety workspaces: the teacher's day and roll call, absence follow-up, the duty board.
Release at dismissal, the logs and the gate register come with the rest of the safety work;
until then those pages say so plainly."""

from datetime import datetime, timedelta

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from enrollment.models import Homeroom, StudentGuardian
from enrollment.permissions import role_required
from enrollment.roles import Role, has_role
from enrollment.selectors import staff_profile_for
from scheduling.models import Activity, ServiceGroup
from scheduling.services import settings_for

from . import selectors, services
from .forms import ActivityRecordForm, GateVisitForm, IncidentForm, PatrolForm
from .models import (
    ActivityRecord,
    Attendance,
    CareRecord,
    ContactAttempt,
    GateVisit,
    Handover,
    Incident,
    PatrolRecord,
    Release,
)


def _school(request):
    """The school of the member of staff logged in: every safety list is cut to it."""
    profile = staff_profile_for(user=request.user)
    if profile is None:
        raise PermissionDenied
    return profile.school


def _id(value) -> int | None:
    """A posted record id, or None for anything that is not one (hand-edited forms)."""
    value = str(value or "")
    return int(value) if value.isascii() and value.isdigit() else None


@role_required(Role.SERVICE_TEACHER, Role.HOMEROOM_TEACHER)
def teacher_today(request):
    day = timezone.localdate()
    sessions = list(selectors.sessions_for_teacher(user=request.user, day=day))
    return render(request, "safety/today.html", {"sessions": sessions, "day": day})


@role_required(Role.SERVICE_TEACHER, Role.HOMEROOM_TEACHER, Role.ADMIN)
def roll_call(request, pk):
    # A save needs the group (its teacher) and term only; a page shows the activity and the room.
    lean = {"related": ()} if request.method == "POST" else {}
    session = selectors.session_for_teacher(user=request.user, pk=pk, **lean)
    error, status, posted = None, 200, None
    if request.method == "POST":
        # The save needs the class's ids only; names and classes are read when a page is shown.
        ids = services.session_student_ids(session)
        posted = {pk: request.POST.get(f"s{pk}", "") for pk in ids}
        try:
            services.roll_call_save(
                session=session, teacher=request.user, statuses=posted,
                version=_id(request.POST.get("version")), reason=request.POST.get("reason", ""), student_ids=ids,
            )  # fmt: skip
        except ValidationError as exc:
            error, status = " ".join(exc.messages), 400
            session = selectors.session_for_teacher(user=request.user, pk=pk)  # to show
            if getattr(exc, "code", None) == "conflict":
                # Show what is saved now, with its version: the teacher re-applies their taps
                # knowingly instead of a second save overwriting the other teacher's.
                status, posted = 409, None
        else:
            messages.success(request, _("Roll call saved for %(count)s students.") % {"count": len(ids)})
            return redirect("safety:teacher_today")
    students = services.session_students(session)
    statuses = services.initial_statuses(session, students)
    if posted:  # a refused save: the page keeps the teacher's taps
        statuses = {pk: posted[pk] if posted.get(pk) in Attendance.values else value for pk, value in statuses.items()}
    saved = getattr(session, "roll_call", None) if hasattr(session, "roll_call") else None
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
        follow_up = get_object_or_404(
            selectors.follow_ups_for_teacher(user=request.user), pk=_id(request.POST.get("follow_up"))
        )
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
    school = _school(request)
    rules = settings_for(school)
    rows = selectors.duty_board(school_id=school.pk, day=timezone.localdate(), due_minutes=rules.roll_call_due_minutes)
    template = "safety/board_rows.html" if request.headers.get("HX-Request") else "safety/board.html"
    return render(request, template, {"rows": rows, "now": timezone.localtime(), "states": Attendance.choices})


@role_required(Role.GATE_GUARD)
def gate(request):
    """门卫登记: visitors in and out, and the children handed over to the gate today."""
    school = _school(request)
    form = GateVisitForm(request.POST or None)
    if request.method == "POST":
        if "out" in request.POST:
            GateVisit.objects.filter(pk=_id(request.POST["out"]), school=school, out_at__isnull=True).update(
                out_at=timezone.now()
            )
            return redirect("safety:gate")
        if form.is_valid():
            visit = form.save(commit=False)
            visit.school, visit.in_at, visit.recorded_by = school, timezone.now(), request.user
            visit.save()
            messages.success(request, _("Visitor %(name)s registered.") % {"name": visit.visitor})
            return redirect("safety:gate")
    today_ = timezone.localdate()
    context = {
        "form": form,
        "visits": GateVisit.objects.filter(school=school, in_at__date=today_).order_by("-in_at"),
        "at_gate": Release.objects.filter(
            date=today_, kind=Release.Kind.GATE, group__term__school=school
        ).select_related("student__homeroom__grade"),
    }
    return render(request, "safety/gate.html", context)


@role_required(Role.HOMEROOM_TEACHER)
def handover(request):
    """At the start the homeroom teacher confirms the class's service children were handed over."""
    day = timezone.localdate()
    homerooms = list(Homeroom.objects.filter(teacher=request.user).select_related("grade"))
    if request.method == "POST":
        homeroom = get_object_or_404(Homeroom, pk=_id(request.POST.get("homeroom")), teacher=request.user)
        try:
            services.handover_confirm(
                homeroom=homeroom, teacher=request.user, day=day, note=request.POST.get("note", "")
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("Handover of %(homeroom)s confirmed.") % {"homeroom": homeroom})
        return redirect("safety:handover")
    done = {h.homeroom_id: h for h in Handover.objects.filter(homeroom__in=homerooms, date=day)}
    classes = [(h, services.handover_students(homeroom=h, day=day), done.get(h.pk)) for h in homerooms]
    return render(request, "safety/handover.html", {"classes": classes, "day": day})


@role_required(Role.SERVICE_TEACHER, Role.HOMEROOM_TEACHER)
def records(request):
    """Care records (daily) and activity records (weekly) for the teacher's groups."""
    day = timezone.localdate()
    groups = ServiceGroup.objects.filter(
        Q(teacher=request.user) | Q(sessions__teacher=request.user, sessions__date=day)
    ).distinct()
    activity_form = ActivityRecordForm(request.POST if "activity" in request.POST else None)
    activity_form.fields["group"].queryset = groups
    activity_form.fields["activity"].queryset = Activity.objects.filter(sessions__group__in=groups).distinct()
    if request.method == "POST":
        try:
            if "care" in request.POST:
                group = get_object_or_404(groups, pk=_id(request.POST.get("group")))
                services.care_record_save(group=group, day=day, teacher=request.user, text=request.POST.get("text", ""))
                messages.success(request, _("Care record saved."))
                return redirect("safety:records")
            if activity_form.is_valid():
                week_of = day - timedelta(days=day.weekday())
                data = activity_form.cleaned_data
                ActivityRecord.objects.update_or_create(
                    group=data["group"],
                    week_of=week_of,
                    activity=data["activity"],
                    defaults={"text": data["text"], "author": request.user},
                )
                messages.success(request, _("Activity record saved."))
                return redirect("safety:records")
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
    care = {r.group_id: r for r in CareRecord.objects.filter(group__in=groups, date=day)}
    context = {"groups": [(g, care.get(g.pk)) for g in groups], "activity_form": activity_form, "day": day}
    return render(request, "safety/records.html", context)


@role_required(Role.DUTY_LEADER)
def patrol(request):
    school = _school(request)
    form = PatrolForm(request.POST or None)
    form.fields["group"].queryset = ServiceGroup.objects.filter(
        term__school=school, sessions__date=timezone.localdate()
    ).distinct()
    if request.method == "POST" and form.is_valid():
        record = form.save(commit=False)
        record.school, record.leader, record.at = school, request.user, timezone.now()
        record.save()
        messages.success(request, _("Patrol recorded."))
        return redirect("safety:patrol")
    items = PatrolRecord.objects.filter(school=school, at__date=timezone.localdate()).select_related("group", "leader")
    return render(request, "safety/patrol.html", {"form": form, "items": items})


def _incident_groups(user, school):
    groups = ServiceGroup.objects.filter(term__school=school, term__end__gte=timezone.localdate())
    if has_role(user, Role.DUTY_LEADER, Role.ADMIN):
        return groups
    return groups.filter(Q(teacher=user) | Q(sessions__teacher=user)).distinct()


@role_required(Role.SERVICE_TEACHER, Role.HOMEROOM_TEACHER, Role.DUTY_LEADER, Role.ADMIN)
def incident_new(request):
    school = _school(request)
    groups = _incident_groups(request.user, school)
    form = IncidentForm(request.POST or None, groups=groups)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        incident = services.incident_report(school=school, reporter=request.user, **data)
        messages.success(request, _("Incident reported; the guardians were sent a message."))
        return redirect("safety:incident", incident.pk)
    return render(request, "safety/incident_form.html", {"form": form})


@role_required(Role.SERVICE_TEACHER, Role.HOMEROOM_TEACHER, Role.DUTY_LEADER, Role.ADMIN)
def incident_detail(request, pk):
    visible = Incident.objects.filter(school=_school(request))
    if not has_role(request.user, Role.DUTY_LEADER, Role.ADMIN):
        # Teachers: the incidents they reported, and those of their own class's children.
        own_class = Incident.objects.filter(students__homeroom__teacher=request.user).values("pk")
        visible = visible.filter(Q(reported_by=request.user) | Q(pk__in=own_class))
    incident = get_object_or_404(visible.prefetch_related("students", "acknowledgements__guardian"), pk=pk)
    if request.method == "POST":
        try:
            if request.POST.get("notified"):
                incident.guardians_notified_at = timezone.now()
                incident.save(update_fields=["guardians_notified_at"])
            else:
                services.incident_close(
                    incident=incident, user=request.user, follow_up=request.POST.get("follow_up", "")
                )
                messages.success(request, _("Incident closed."))
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        return redirect("safety:incident", incident.pk)
    return render(request, "safety/incident.html", {"incident": incident})


@role_required(Role.SERVICE_TEACHER, Role.HOMEROOM_TEACHER, Role.ADMIN)
def dismissal(request, pk):
    """放学交接 for one session: release each present child, log calls, close the day.

    On the phone (htmx) a release or a call answers with the child's row only, so the list keeps
    its place; without JavaScript the form posts and the page reloads.
    """
    session = selectors.session_for_teacher(user=request.user, pk=pk)
    if request.method == "POST":
        action, student, notice = request.POST.get("action", ""), None, None
        try:
            if action == "close":
                services.day_close(group=session.group, day=session.date, teacher=request.user)
                messages.success(request, _("The day is closed: every child is accounted for."))
                return redirect("safety:teacher_today")
            student = services.on_site_student(session, _id(request.POST.get("student")))
            if student is None:
                raise ValidationError(_("Choose a child from the list."))
            if action == "contact":
                services.contact_attempt_log(
                    session=session, student=student, teacher=request.user, note=request.POST.get("note", "")
                )
                notice = ("success", _("Call logged."))
            else:
                release = services.release_record(
                    session=session,
                    student=student,
                    teacher=request.user,
                    code=request.POST.get("code", ""),
                    kind=action if action in {"alone", "bus", "gate"} else "",
                    pickup_point=request.POST.get("pickup_point", ""),
                )
                notice = ("success", _("%(child)s released: %(how)s %(person)s") % {
                    "child": student.name, "how": release.get_kind_display(), "person": release.person,
                })  # fmt: skip
        except ValidationError as exc:
            notice = ("danger", " ".join(exc.messages))
        except PermissionDenied:
            notice = ("danger", _("Only the group's teachers of the day may do this."))
        if request.headers.get("HX-Request") and student is not None:
            [row], awaiting = _dismissal_rows(session, [student])
            student, release, calls, contacts = row
            context = {
                "session": session, "student": student, "release": release, "calls": calls, "contacts": contacts,
                "awaiting": awaiting, "notice": {"level": notice[0], "text": notice[1]}, "oob": True,
                "waiting_count": services.waiting_count(session),
            }  # fmt: skip
            return render(request, "safety/dismissal_row_swap.html", context)
        (messages.success if notice[0] == "success" else messages.error)(request, notice[1])
        return redirect("safety:dismissal", session.pk)
    rows, awaiting = _dismissal_rows(session, services.on_site_students(session))
    context = {
        "session": session,
        "rows": rows,
        "awaiting": awaiting,
        "waiting_count": sum(1 for _s, release, _c, _g in rows if release is None),
    }
    return render(request, "safety/dismissal.html", context)


def _dismissal_rows(session, students):
    """(student, release, calls, contacts) for ``students``, and whether pickup is now overdue.

    The families' numbers appear only when the teacher has to call them: after the end and the
    grace period, for the children not yet released (personal data on a shared phone screen).
    """
    ids = [s.pk for s in students]
    day = {"group": session.group, "date": session.date, "student_id__in": ids}
    releases = {r.student_id: r for r in Release.objects.filter(**day)}
    calls = {}
    for call in ContactAttempt.objects.filter(**day):
        calls.setdefault(call.student_id, []).append(call)
    rules = settings_for(session.group.term.school)
    end = timezone.make_aware(datetime.combine(session.date, session.end))
    awaiting = timezone.now() >= end + timedelta(minutes=rules.pickup_grace_minutes)
    waiting = [pk for pk in ids if pk not in releases]
    contacts = {}
    if awaiting and waiting:
        for link in StudentGuardian.objects.filter(student_id__in=waiting).select_related("guardian"):
            contacts.setdefault(link.student_id, []).append(link)
    rows = [(s, releases.get(s.pk), calls.get(s.pk, []), contacts.get(s.pk, [])) for s in students]
    return rows, awaiting
