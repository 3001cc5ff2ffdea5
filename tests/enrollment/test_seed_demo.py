from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command
from django.test import RequestFactory

from enrollment.models import (
    AgreementSignature,
    Application,
    ApplicationEvent,
    Grade,
    Guardian,
    Homeroom,
    StaffProfile,
    Student,
    StudentGuardian,
    Term,
    User,
)
from enrollment.roles import Role


def _snapshot():
    return {
        model.__name__: sorted(model.objects.values_list(*fields))
        for model, fields in [
            (Student, ("student_no", "name", "gender", "homeroom_id", "active")),
            (Guardian, ("mobile", "name", "user_id")),
            (StudentGuardian, ("student_id", "guardian_id", "relation", "is_primary")),
            (Homeroom, ("grade_id", "number", "teacher_id")),
            (User, ("username", "password", "is_staff")),
            (StaffProfile, ("user_id", "mobile")),
            (User.groups.through, ("user_id", "group_id")),
            (Term, ("name", "start", "end", "survey_open")),
            (Application, ("student_id", "status", "priority")),
            (AgreementSignature, ("student_id", "text_id", "text_sha256")),
            (ApplicationEvent, ("application_id", "status", "actor_id")),
        ]
    }


def test_seed_demo_builds_a_school_of_about_1000_and_a_second_run_changes_nothing(db):
    out = StringIO()
    call_command("seed_demo", "--allow-without-debug", stdout=out)
    first = _snapshot()

    call_command("seed_demo", "--allow-without-debug", stdout=StringIO())

    assert _snapshot() == first
    assert 24 * 40 <= Student.objects.count() <= 24 * 45
    assert sorted(Grade.objects.values_list("number", flat=True)) == [1, 2, 3, 4, 5, 6]
    assert Homeroom.objects.filter(teacher__isnull=True).count() == 0
    assert not Student.objects.exclude(guardian_links__is_primary=True).exists()
    term = Term.objects.get()
    assert (str(term.start), str(term.end)) == ("2026-09-01", "2027-01-22")
    for role in Role:
        assert User.objects.filter(groups__name=role).exists(), role
    # Every placed child applied and has a signed agreement (participation is voluntary).
    placed = Application.objects.filter(status=Application.Status.PLACED)
    assert placed.count() == Student.objects.filter(group_memberships__isnull=False).distinct().count()
    assert not placed.exclude(student__agreement_signatures__isnull=False).exists()
    assert all(signature.verifies() for signature in AgreementSignature.objects.select_related("text")[:20])
    assert (
        Application.objects.filter(
            status=Application.Status.SUBMITTED, student__homeroom__teacher__username="bzr01"
        ).count()
        == 6
    )
    text = out.getvalue()
    assert "demo2026" in text and "admin" in text


def test_the_printed_demo_logins_work(db):
    out = StringIO()
    call_command("seed_demo", "--allow-without-debug", stdout=out)
    guardian_mobile = out.getvalue().strip().splitlines()[-1].split()[-1]

    request = RequestFactory().post("/login/")
    assert authenticate(request, username="admin", password="demo2026").groups.filter(name=Role.ADMIN).exists()
    user = authenticate(request, username=guardian_mobile, password="demo2026")
    assert user is not None and user.guardian.students.exists()


def test_seed_demo_refuses_without_debug_unless_asked(db):
    with pytest.raises(CommandError, match="DEBUG is off"):
        call_command("seed_demo", stdout=StringIO())
    assert not User.objects.exists()
