"""Reads of the school directory, always scoped to the user who asks."""

from dataclasses import dataclass

from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from scheduling.models import Activity

from .models import (
    GRADE_NAMES,
    AgreementSignature,
    Application,
    Homeroom,
    LeaveRequest,
    StaffProfile,
    Student,
    StudentGuardian,
    SurveyResponse,
    Term,
)


def _with_guardians(queryset: QuerySet[Student]) -> QuerySet[Student]:
    return queryset.select_related("homeroom__grade", "homeroom__teacher__staff_profile").prefetch_related(
        Prefetch("guardian_links", queryset=StudentGuardian.objects.select_related("guardian"))
    )


def student_list_for_guardian(*, user) -> QuerySet[Student]:
    """The children of the guardian logged in as ``user``; nobody else's."""
    return _with_guardians(Student.objects.filter(guardian_links__guardian__user=user, active=True).distinct())


def homeroom_list_for_teacher(*, user) -> QuerySet[Homeroom]:
    """The homeroom classes whose homeroom teacher is ``user``."""
    return Homeroom.objects.filter(teacher=user).select_related("grade")


def student_list_for_homeroom(*, homeroom: Homeroom) -> QuerySet[Student]:
    return _with_guardians(homeroom.students.filter(active=True)).order_by("student_no")


# -- participation -------------------------------------------------------------------------------


def term_for_portal(*, school_ids, today=None):
    """The term guardians deal with now: the running one, else the next one."""
    today = today or timezone.localdate()
    terms = Term.objects.filter(school_id__in=school_ids, end__gte=today).order_by("start")
    return terms.filter(start__lte=today).first() or terms.first()


def portal_children(*, user, term) -> list[Student]:
    """The guardian's children, each with ``term_applications``, ``term_signatures`` and
    ``term_surveys`` for ``term`` (lists of at most one), in a fixed number of queries."""
    term_id = term.pk if term else None
    return list(
        student_list_for_guardian(user=user).prefetch_related(
            Prefetch(
                "applications",
                queryset=Application.objects.filter(term_id=term_id).prefetch_related("choices__activity"),
                to_attr="term_applications",
            ),
            Prefetch(
                "agreement_signatures",
                queryset=AgreementSignature.objects.filter(term_id=term_id),
                to_attr="term_signatures",
            ),
            Prefetch(
                "survey_responses", queryset=SurveyResponse.objects.filter(term_id=term_id), to_attr="term_surveys"
            ),
            Prefetch(
                "leave_requests",
                queryset=LeaveRequest.objects.filter(end__gte=timezone.localdate()).order_by("start"),
                to_attr="open_leave",
            ),
        )
    )


def application_for_guardian(*, user, pk) -> QuerySet[Application]:
    return Application.objects.filter(pk=pk, student__guardian_links__guardian__user=user).select_related(
        "student__homeroom__grade", "term"
    )


def applications_pending_for_teacher(*, user) -> QuerySet[Application]:
    """Applications of the teacher's own classes waiting for the class review."""
    return (
        Application.objects.filter(student__homeroom__teacher=user, status=Application.Status.SUBMITTED)
        .select_related("student__homeroom__grade", "term", "guardian")
        .prefetch_related("choices__activity")
        .order_by("student__homeroom__number", "student__student_no")
    )


def leave_pending_for_teacher(*, user) -> QuerySet[LeaveRequest]:
    return (
        LeaveRequest.objects.filter(student__homeroom__teacher=user, status=LeaveRequest.Status.PENDING)
        .select_related("student__homeroom__grade", "guardian")
        .order_by("start")
    )


def students_on_leave(*, day) -> set[int]:
    """Ids of the students on approved leave on ``day`` (roll call shows them as excused)."""
    return set(
        LeaveRequest.objects.filter(status=LeaveRequest.Status.APPROVED, start__lte=day, end__gte=day).values_list(
            "student_id", flat=True
        )
    )


@dataclass
class SurveyTable:
    columns: list[str]
    rows: list[tuple[str, list[int]]]


def survey_totals(term) -> SurveyTable:
    """Needs-survey answers counted per grade: needing service, each time slot, each activity.
    Two queries, whatever the number of answers."""

    slot_fields = SurveyResponse.SLOT_FIELDS
    per_grade = (
        SurveyResponse.objects.filter(term=term)
        .values("student__homeroom__grade__number")
        .annotate(
            answered=Count("pk"),
            needs=Count("pk", filter=Q(needs_service=True)),
            **{f: Count("pk", filter=Q(needs_service=True, **{f: True})) for f in slot_fields},
        )
        .order_by("student__homeroom__grade__number")
    )
    activity_counts = {
        (row["student__homeroom__grade__number"], row["activities__name"]): row["n"]
        for row in SurveyResponse.objects.filter(term=term, needs_service=True, activities__isnull=False)
        .values("student__homeroom__grade__number", "activities__name")
        .annotate(n=Count("pk"))
    }
    activity_names = list(
        Activity.objects.filter(school_id=term.school_id).order_by("category", "name").values_list("name", flat=True)
    )
    columns = [
        str(_("answers")),
        str(_("need the service")),
        *[str(SurveyResponse._meta.get_field(f).verbose_name) for f in slot_fields],
        *activity_names,
    ]
    rows = []
    for row in per_grade:
        grade = row["student__homeroom__grade__number"]
        counts = [row["answered"], row["needs"], *[row[f] for f in slot_fields]]
        counts += [activity_counts.get((grade, name), 0) for name in activity_names]
        rows.append((str(GRADE_NAMES.get(grade, grade)), counts))
    if rows:
        rows.append((str(_("total")), [sum(values) for values in zip(*(r[1] for r in rows), strict=True)]))
    return SurveyTable(columns=columns, rows=rows)


def staff_profile_for(*, user):
    """The staff record (with its school) of ``user``, or None."""

    return StaffProfile.objects.filter(user=user).select_related("school").first()
