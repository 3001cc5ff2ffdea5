"""Writes to the school directory."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from .models import Grade, Guardian, Homeroom, StaffProfile, Student, StudentGuardian, User


@transaction.atomic
def homeroom_get_or_create(*, grade: Grade, number: int) -> Homeroom:
    homeroom, _created = Homeroom.objects.get_or_create(grade=grade, number=number)
    return homeroom


@transaction.atomic
def guardian_link_upsert(*, student: Student, name: str, mobile: str, relation: str) -> StudentGuardian:
    """Make ``mobile``'s owner a guardian of ``student``.

    The guardian is found by mobile number (it identifies them across siblings). A number on
    file under another name is refused: a typo must not link a child to another family. The
    first guardian a student gets becomes the primary contact; links are only ever added here
    (a guardian is removed from a child deliberately, on the student's page in the admin).
    """
    guardian, created = Guardian.objects.get_or_create(mobile=mobile, defaults={"name": name})
    if not created and guardian.name != name:
        raise ValidationError(
            _("Mobile %(mobile)s belongs to %(owner)s, not to %(name)s.")
            % {"mobile": mobile, "owner": guardian.name, "name": name}
        )
    link = StudentGuardian.objects.filter(student=student, guardian=guardian).first()
    if link is None:
        has_primary = StudentGuardian.objects.filter(student=student, is_primary=True).exists()
        link = StudentGuardian(student=student, guardian=guardian, relation=relation, is_primary=not has_primary)
        link.full_clean()
        link.save()
    elif link.relation != relation:
        link.relation = relation
        link.save(update_fields=["relation"])
    return link


@transaction.atomic
def staff_profile_create(*, user: User, school_id: int, name: str = "") -> StaffProfile:
    """Make ``user`` a member of staff of the school; the name defaults to the account's."""
    profile = StaffProfile(user=user, school_id=school_id, name=name or user.get_full_name() or user.get_username())
    profile.full_clean()
    profile.save()
    return profile


def student_deactivate(*, students) -> int:
    """Mark students as having left; rows are kept (nothing about a child is deleted)."""
    count = 0
    for student in students.filter(active=True):
        student.active = False
        student.save(update_fields=["active"])  # one by one so the history records each change
        count += 1
    return count
