"""Regressions found in review: admin edits of applications, the withdraw action, paper agreements,
no open term, activation name clashes, backdated withdrawals, repeated leave requests."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from enrollment import workflow
from enrollment.models import AgreementSignature, AgreementText, Application, LeaveRequest, User
from tests.enrollment.factories import GuardianFactory, StudentGuardianFactory, UserFactory

pytestmark = pytest.mark.django_db
FIELDS = {"emergency_name": "外婆", "emergency_mobile": "13700000000"}


@pytest.fixture
def term(open_term):
    return open_term


@pytest.fixture
def application(term, student_a, guardian):
    return workflow.application_save(
        term=term, student=student_a, guardian=guardian.guardian, fields=FIELDS, choices=[], persons=[], actor=guardian
    )


def _admin_post(client, application, **changes):
    data = {
        "pickup": application.pickup,
        "emergency_name": application.emergency_name,
        "emergency_mobile": application.emergency_mobile,
        "priority": application.priority,
        "slot_after_school": "on",
        **{
            f"{p}-{k}": 0 for p in ("choices", "authorised_persons", "events") for k in ("TOTAL_FORMS", "INITIAL_FORMS")
        },
        **changes,
    }
    return client.post(reverse("admin:enrollment_application_change", args=[application.pk]), data)


def test_the_admin_cannot_move_an_application_to_another_child_and_edits_are_checked(
    client, admin_user, application, student_b
):
    client.force_login(admin_user)

    moved = _admin_post(client, application, student=student_b.pk)
    application.refresh_from_db()
    assert moved.status_code == 302 and application.student.name == "王小明"
    assert "学校修改了" not in application.events.last().note  # nothing changed

    alone = _admin_post(client, application, pickup="alone")
    assert "学校不允许该年级学生自行回家" in alone.content.decode()
    _admin_post(client, application, emergency_name="王爷爷")
    application.refresh_from_db()
    assert application.emergency_name == "王爷爷" and "紧急联系人" in application.events.last().note


def test_a_paper_application_with_authorised_pickup_but_nobody_named_is_a_form_error(
    client, admin_user, term, student_a
):
    client.force_login(admin_user)
    data = {
        "term": term.pk,
        "student": student_a.pk,
        "pickup": "authorised",
        "priority": 9,
        **FIELDS,
        **{
            f"{p}-{k}": 0 for p in ("choices", "authorised_persons", "events") for k in ("TOTAL_FORMS", "INITIAL_FORMS")
        },
    }
    response = client.post(reverse("admin:enrollment_application_add"), data)
    assert response.status_code == 200 and "请至少填写一位授权接送人" in response.content.decode()
    assert not Application.objects.exists()


def test_the_admin_withdraw_action_uses_the_date_given(client, admin_user, application, term):
    client.force_login(admin_user)
    leaving = term.start + timedelta(days=3)  # the school may record a past date
    client.post(
        reverse("admin:enrollment_application_changelist"),
        {"action": "withdraw", "_selected_action": [application.pk], "effective": leaving.isoformat(), "note": "转学"},
    )
    application.refresh_from_db()
    assert (application.status, application.withdrawn_on) == ("withdrawn", leaving)


def test_a_guardian_cannot_backdate_a_withdrawal(application, guardian, term):
    with pytest.raises(ValidationError, match="退出日期不能早于今天"):
        workflow.application_withdraw(application=application, actor=guardian, effective=term.start)
    workflow.application_withdraw(application=application, actor=guardian, effective=timezone.localdate())


def test_a_paper_agreement_needs_its_scan_and_is_recorded_once(client, admin_user, term, student_a, guardian):
    text = AgreementText.objects.create(term=term, version=1, title="责任书", body="条款")
    client.force_login(admin_user)
    url = reverse("admin:enrollment_agreementsignature_add")
    data = {"text": text.pk, "student": student_a.pk, "signed_name": "王建国"}

    assert "请上传已签纸质责任书的扫描件" in client.post(url, data).content.decode()
    workflow.agreement_sign(
        text=text,
        student=student_a,
        guardian=guardian.guardian,
        typed_name="王建国",
        consent=True,
        shown_sha256=text.sha256(),
        ip=None,
        user_agent="",
    )
    from django.core.files.uploadedfile import SimpleUploadedFile

    again = client.post(url, {**data, "paper_scan": SimpleUploadedFile("scan.pdf", b"%PDF-1.4")})
    assert "已签署" in again.content.decode() and AgreementSignature.objects.count() == 1


def test_portal_pages_answer_404_when_no_term_is_open(client, guardian, student_a):
    client.force_login(guardian)
    assert client.get(reverse("enrollment:apply", args=[student_a.pk])).status_code == 404


def test_activation_works_when_the_mobile_is_already_someone_elses_user_name(db, student_a):
    UserFactory(username="13612345678")  # a teacher who chose the number as user name
    family = StudentGuardianFactory(
        student=student_a, guardian=GuardianFactory(name="赵敏", mobile="13612345678")
    ).guardian
    [(_g, code)] = workflow.invitation_issue(guardians=[family], issued_by=None)

    user = workflow.invitation_redeem(mobile="13612345678", code=code, password="Spring-Garden-88")

    assert user.username == f"13612345678-{family.pk}"
    assert User.objects.filter(username__startswith="13612345678").count() == 2


def test_sending_the_same_leave_request_twice_keeps_one(student_a, guardian):
    today = timezone.localdate()
    first = workflow.leave_request_create(
        student=student_a, guardian=guardian.guardian, start=today, end=today, reason="看病"
    )
    second = workflow.leave_request_create(
        student=student_a, guardian=guardian.guardian, start=today, end=today, reason="看病"
    )
    assert first.pk == second.pk and LeaveRequest.objects.count() == 1


def test_uploaded_evidence_gets_an_unguessable_name(application):
    from enrollment.models.participation import upload_path

    first, second = upload_path(application, "IMG_0001.jpg"), upload_path(application, "IMG_0001.jpg")
    assert first != second and "IMG_0001" not in first and first.endswith(".jpg")
