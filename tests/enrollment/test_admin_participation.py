import csv
import io

import pytest
from django.urls import reverse
from django.utils import timezone

from enrollment import workflow
from enrollment.models import AgreementSignature, AgreementText, Application, InvitationCode, SurveyResponse
from tests.enrollment.factories import GuardianFactory, StudentFactory, StudentGuardianFactory

pytestmark = pytest.mark.django_db
FIELDS = {"emergency_name": "外婆", "emergency_mobile": "13700000000"}


@pytest.fixture
def term(open_term):
    open_term.survey_open = True
    open_term.save(update_fields=["survey_open"])
    return open_term


def _applications(term, homeroom, count):
    text = workflow.agreement_current(term) or AgreementText.objects.create(
        term=term, version=1, title="责任书", body="条款"
    )
    for _ in range(count):
        student = StudentFactory(homeroom=homeroom)
        family = StudentGuardianFactory(student=student, guardian=GuardianFactory()).guardian
        workflow.application_save(
            term=term, student=student, guardian=family, fields=FIELDS, choices=[], persons=[], actor=None
        )
        workflow.agreement_sign(
            text=text, student=student, guardian=family, typed_name=family.name, consent=True,
            shown_sha256=text.sha256(), ip=None, user_agent="",
        )  # fmt: skip


def test_application_list_runs_the_same_queries_for_2_and_40(
    client, admin_user, term, homeroom_a, django_assert_max_num_queries
):
    client.force_login(admin_user)
    url = reverse("admin:enrollment_application_changelist")
    _applications(term, homeroom_a, 2)
    with django_assert_max_num_queries(20) as few:
        client.get(url)
    _applications(term, homeroom_a, 38)
    with django_assert_max_num_queries(20) as many:
        response = client.get(url)
    assert len(many) == len(few) and response.context["cl"].result_count == 40


def test_rejecting_in_the_admin_needs_a_note(client, admin_user, term, homeroom_a):
    _applications(term, homeroom_a, 1)
    client.force_login(admin_user)
    application = Application.objects.get()
    url = reverse("admin:enrollment_application_changelist")

    response = client.post(url, {"action": "reject", "_selected_action": [application.pk], "note": ""}, follow=True)
    assert "请填写不通过的原因" in response.content.decode()
    client.post(url, {"action": "reject", "_selected_action": [application.pk], "note": "名额已满"})
    assert Application.objects.get().status == "rejected"


def test_a_paper_application_is_entered_with_its_step_recorded(client, admin_user, term, student_a):
    client.force_login(admin_user)
    response = client.post(
        reverse("admin:enrollment_application_add"),
        {
            "term": term.pk, "student": student_a.pk, "pickup": "guardian", "slot_after_school": "on", "priority": 9,
            "emergency_name": "外婆", "emergency_mobile": "13700000000",
            **{f"{prefix}-{key}": value for prefix in ("choices", "authorised_persons", "events")
               for key, value in (("TOTAL_FORMS", 0), ("INITIAL_FORMS", 0))},
        },
    )  # fmt: skip
    assert response.status_code == 302, response.content.decode()[:2000]
    application = Application.objects.get()
    assert application.events.get().note == "学校录入的纸质申请。"


def test_invitation_codes_are_issued_as_a_printable_list_and_as_csv(client, admin_user, guardian, student_a):
    client.force_login(admin_user)
    url = reverse("admin:enrollment_guardian_changelist")
    family = guardian.guardian

    page = client.post(url, {"action": "issue_codes_printable", "_selected_action": [family.pk]})
    [(shown_guardian, code, children)] = page.context["rows"]
    assert shown_guardian == family and children == [student_a] and code in page.content.decode()

    download = client.post(url, {"action": "issue_codes_csv", "_selected_action": [family.pk]})
    rows = list(csv.reader(io.StringIO(download.content.decode("utf-8-sig"))))
    assert rows[0] == ["监护人", "手机号", "子女", "邀请码"] and rows[1][:2] == ["王建国", "13911112222"]
    # The printed code was replaced by the CSV's: only the newest works.
    assert InvitationCode.objects.filter(used_at__isnull=True, expires_at__gt=timezone.now()).count() == 1


def test_survey_totals_page_and_csv(client, admin_user, term, student_a, guardian):
    workflow.survey_answer(
        term=term, student=student_a, guardian=guardian.guardian, needs_service=True,
        slots={"slot_midday": True, "slot_after_school": True, "slot_evening": False, "slot_saturday": False},
        activities=[],
    )  # fmt: skip
    client.force_login(admin_user)
    url = reverse("admin:enrollment_survey_totals", args=[term.pk])

    assert "三年级" in client.get(url).content.decode()
    rows = list(csv.reader(io.StringIO(client.get(url, {"format": "csv"}).content.decode("utf-8-sig"))))
    assert rows[0][:5] == ["年级", "答卷", "需要服务", "早到托管", "午托"]
    assert rows[1][:5] == ["三年级", "1", "1", "0", "1"]
    assert SurveyResponse.objects.count() == 1


def test_editing_a_signed_agreement_in_the_admin_makes_a_new_version(client, admin_user, term, homeroom_a):
    _applications(term, homeroom_a, 1)
    text = AgreementText.objects.get()
    client.force_login(admin_user)

    client.post(
        reverse("admin:enrollment_agreementtext_change", args=[text.pk]),
        {"term": term.pk, "title": "责任书", "body": "新条款"},
    )

    assert list(AgreementText.objects.order_by("version").values_list("version", "body")) == [
        (1, "条款"),
        (2, "新条款"),
    ]
    assert AgreementSignature.objects.get().verifies()
