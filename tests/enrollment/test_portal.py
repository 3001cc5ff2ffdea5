import pytest
from django.urls import reverse

from enrollment import workflow
from enrollment.models import AgreementSignature, AgreementText, Application, NoticeRead, ParentNotice
from tests.enrollment.factories import StudentFactory, StudentGuardianFactory
from tests.scheduling.factories import ActivityFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def term(portal_term):
    return portal_term


FORM = {
    "slot_after_school": "on",
    "pickup": "guardian",
    "emergency_name": "外婆",
    "emergency_mobile": "13700000000",
    "priority": "9",
    "persons-TOTAL_FORMS": "2",
    "persons-INITIAL_FORMS": "0",
    "persons-MIN_NUM_FORMS": "0",
    "persons-MAX_NUM_FORMS": "4",
}


def _apply_and_sign(term, student, guardian):
    family = guardian.guardian
    application = workflow.application_save(
        term=term,
        student=student,
        guardian=family,
        fields={"emergency_name": "外婆", "emergency_mobile": "13700000000"},
        choices=[ActivityFactory(school=term.school)],
        persons=[],
        actor=guardian,
    )
    text = workflow.agreement_current(term)
    workflow.agreement_sign(
        text=text,
        student=student,
        guardian=family,
        typed_name=family.name,
        consent=True,
        shown_sha256=text.sha256(),
        ip=None,
        user_agent="",
    )
    return application


def _add_children(term, guardian, count, *, apply):
    family = guardian.guardian
    for _ in range(count):
        student = StudentFactory(homeroom=family.students.first().homeroom)
        StudentGuardianFactory(student=student, guardian=family, is_primary=False)
        if apply:
            _apply_and_sign(term, student, guardian)


@pytest.mark.parametrize("page", ["portal", "application", "agreement", "leave", "survey", "apply"])
def test_portal_pages_run_the_same_queries_with_1_and_3_children(
    client, term, guardian, student_a, page, django_assert_max_num_queries
):
    client.force_login(guardian)
    apply = page != "apply"  # the form page is for a child without an application yet
    application = _apply_and_sign(term, student_a, guardian) if apply else None
    url = (
        reverse("enrollment:portal")
        if page == "portal"
        else reverse("enrollment:application", args=[application.pk])
        if page == "application"
        else reverse(f"enrollment:{page}", args=[student_a.pk])
    )
    with django_assert_max_num_queries(25) as one:
        assert client.get(url).status_code == 200

    _add_children(term, guardian, 2, apply=apply)
    with django_assert_max_num_queries(25) as three:
        response = client.get(url)

    assert len(three) == len(one)
    if page == "portal":
        assert len(response.context["children"]) == 3


def test_guardian_a_gets_404_on_guardian_bs_child_application_and_agreement(
    client, term, guardian, other_guardian, student_b
):
    application_b = workflow.application_save(
        term=term,
        student=student_b,
        guardian=other_guardian.guardian,
        fields={"emergency_name": "外婆", "emergency_mobile": "13700000000"},
        choices=[],
        persons=[],
        actor=other_guardian,
    )
    client.force_login(guardian)
    for name in ("portal_child", "apply", "agreement", "survey", "leave"):
        assert client.get(reverse(f"enrollment:{name}", args=[student_b.pk])).status_code == 404, name
    assert client.get(reverse("enrollment:application", args=[application_b.pk])).status_code == 404
    assert (
        client.post(
            reverse("enrollment:application_withdraw", args=[application_b.pk]), {"effective": term.end}
        ).status_code
        == 404
    )
    assert client.post(reverse("enrollment:apply", args=[student_b.pk]), FORM).status_code == 404
    assert Application.objects.count() == 1


def test_submitting_the_form_twice_leaves_one_application(client, term, guardian, student_a):
    chess = ActivityFactory(school=term.school, name="围棋", category="club")
    drawing = ActivityFactory(school=term.school, name="素描", category="arts")
    client.force_login(guardian)
    data = {**FORM, "choice_1": chess.pk, "choice_2": drawing.pk}

    first = client.post(reverse("enrollment:apply", args=[student_a.pk]), data)
    second = client.post(reverse("enrollment:apply", args=[student_a.pk]), data)

    application = Application.objects.get()
    assert first.status_code == second.status_code == 302
    assert [c.activity.name for c in application.choices.all()] == ["围棋", "素描"]
    assert application.events.count() == 1


def test_the_apply_form_shows_chinese_errors(client, term, guardian, student_a):
    client.force_login(guardian)
    response = client.post(reverse("enrollment:apply", args=[student_a.pk]), {**FORM, "emergency_mobile": "123"})
    assert "请输入11位手机号码" in response.content.decode()
    assert not Application.objects.exists()


def test_signing_in_the_portal_stores_ip_browser_and_hash(client, term, guardian, student_a):
    client.force_login(guardian)
    text = AgreementText.objects.get()
    response = client.post(
        reverse("enrollment:agreement", args=[student_a.pk]),
        {"typed_name": "王建国", "consent": "on", "shown_sha256": text.sha256()},
        HTTP_USER_AGENT="Mozilla/5.0 (iPhone)",
        REMOTE_ADDR="10.1.2.3",
    )
    assert response.status_code == 302
    signature = AgreementSignature.objects.get()
    assert (signature.ip_address, signature.user_agent, signature.verifies()) == (
        "10.1.2.3",
        "Mozilla/5.0 (iPhone)",
        True,
    )


def test_reading_the_notice_is_recorded(client, term, guardian, student_a):
    client.force_login(guardian)
    notice = ParentNotice.objects.get()
    client.get(reverse("enrollment:notice", args=[notice.pk]))
    assert NoticeRead.objects.filter(notice=notice, guardian=guardian.guardian).exists()


def test_the_notice_publishes_the_fee_standards_with_the_school_as_payee(client, term, guardian, student_a):
    from billing.models import FeeStandard

    FeeStandard.objects.create(
        term=term,
        item="after_school",
        mode="daily_prepaid",
        amount="3.60",
        prepaid_days=100,
        approval="桂价费〔2023〕8号",
    )
    FeeStandard.objects.create(term=term, item="lunch", mode="term_flat", amount="300.00")
    client.force_login(guardian)

    text = client.get(reverse("enrollment:notice", args=[ParentNotice.objects.get().pk])).content.decode()

    assert "每天 3.60 元；期初预收 100 天，期末按实际参加天数结算" in text and "桂价费〔2023〕8号" in text
    assert "每学期 300.00 元" in text and f"收费单位为学校（{term.school.name}）" in text


def test_a_teacher_reviews_only_the_own_class_in_bulk(
    client, term, guardian, other_guardian, student_a, student_b, homeroom_teacher, other_homeroom_teacher
):
    fields = {"emergency_name": "外婆", "emergency_mobile": "13700000000"}
    mine = workflow.application_save(
        term=term, student=student_a, guardian=guardian.guardian, fields=fields, choices=[], persons=[], actor=guardian
    )
    theirs = workflow.application_save(
        term=term,
        student=student_b,
        guardian=other_guardian.guardian,
        fields=fields,
        choices=[],
        persons=[],
        actor=other_guardian,
    )
    client.force_login(homeroom_teacher)

    page = client.get(reverse("enrollment:reviews"))
    assert [a.pk for a in page.context["applications"]] == [mine.pk]
    foreign = client.post(reverse("enrollment:reviews"), {"decision": "approve", "applications": [theirs.pk]})
    assert foreign.status_code == 200  # not a choice for this teacher
    client.post(reverse("enrollment:reviews"), {"decision": "approve", "applications": [mine.pk]})

    assert Application.objects.get(pk=mine.pk).status == "class_approved"
    assert Application.objects.get(pk=theirs.pk).status == "submitted"


@pytest.mark.parametrize("persona", ["guardian", "service_teacher", "gate_guard"])
def test_only_homeroom_teachers_open_the_review_page(client, persona, request):
    client.force_login(request.getfixturevalue(persona))
    assert client.get(reverse("enrollment:reviews")).status_code == 403


def test_the_review_list_runs_the_same_queries_with_1_and_30_applications(
    client, term, homeroom_teacher, homeroom_a, django_assert_max_num_queries
):
    from tests.enrollment.factories import GuardianFactory

    def add(count):
        for _ in range(count):
            student = StudentFactory(homeroom=homeroom_a)
            family = StudentGuardianFactory(student=student, guardian=GuardianFactory()).guardian
            application = workflow.application_save(
                term=term,
                student=student,
                guardian=family,
                fields={"emergency_name": "外婆", "emergency_mobile": "13700000000"},
                choices=[ActivityFactory(school=term.school)],
                persons=[],
                actor=None,
            )
            assert application.pk

    client.force_login(homeroom_teacher)
    add(1)
    with django_assert_max_num_queries(15) as one:
        client.get(reverse("enrollment:reviews"))
    add(29)
    with django_assert_max_num_queries(15) as thirty:
        response = client.get(reverse("enrollment:reviews"))
    assert len(response.context["applications"]) == 30
    assert len(thirty) == len(one)


def test_application_and_leave_pages_do_not_grow_with_steps_choices_persons_or_requests(
    client, term, guardian, student_a, homeroom_teacher, django_assert_max_num_queries
):
    from enrollment.models import ApplicationChoice, ApplicationEvent, AuthorisedPerson, LeaveRequest

    client.force_login(guardian)
    application = _apply_and_sign(term, student_a, guardian)
    urls = [reverse("enrollment:application", args=[application.pk]), reverse("enrollment:leave", args=[student_a.pk])]
    LeaveRequest.objects.create(
        student=student_a, guardian=guardian.guardian, start=term.start, end=term.start, reason="病"
    )
    before = []
    for url in urls:
        with django_assert_max_num_queries(25) as captured:
            client.get(url)
        before.append(len(captured))

    for rank in (2, 3):
        ApplicationChoice.objects.create(
            application=application, activity=ActivityFactory(school=term.school), rank=rank
        )
    for _ in range(3):
        ApplicationEvent.objects.create(
            application=application, status="submitted", actor=homeroom_teacher, note="补充"
        )
        AuthorisedPerson.objects.create(
            application=application, name="李四", relation="舅舅", mobile="13700000002", id_last4="123X"
        )
        LeaveRequest.objects.create(
            student=student_a, guardian=guardian.guardian, start=term.start, end=term.start, reason="事"
        )
    after = []
    for url in urls:
        with django_assert_max_num_queries(25) as captured:
            client.get(url)
        after.append(len(captured))

    assert after == before
