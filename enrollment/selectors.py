"""Reads of the school directory, always scoped to the user who asks."""

from django.db.models import Prefetch, QuerySet

from .models import Homeroom, Student, StudentGuardian


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
