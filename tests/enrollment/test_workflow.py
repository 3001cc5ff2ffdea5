from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone, translation

from enrollment import selectors, workflow
from enrollment.models import (
    AgreementSignature,
    AgreementText,
    Application,
    InvitationCode,
    LeaveRequest,
    Notification,
)
from scheduling.models import GroupMembership, ServiceSettings
from tests.enrollment.factories import PASSWORD, GuardianFactory, StudentGuardianFactory, UserFactory
from tests.scheduling.factories import ActivityFactory

pytestmark = pytest.mark.django_db
S = Application.Status


@pytest.fixture(autouse=True)
def chinese():
    with translation.override("zh-hans"):
        yield


@pytest.fixture
def term(open_term):
    return open_term


FIELDS = {"emergency_name": "外婆", "emergency_mobile": "13700000000"}


def _apply(term, student, guardian_user, choices=(), **fields):
    return workflow.application_save(
        term=term,
        student=student,
        guardian=guardian_user.guardian,
        fields={**FIELDS, **fields},
        choices=list(choices),
        persons=[],
        actor=guardian_user,
    )


def _sign(term, student, guardian_user):
    text = workflow.agreement_current(term) or AgreementText.objects.create(
        term=term, version=1, title="安全责任书", body="条款"
    )
    return workflow.agreement_sign(
        text=text,
        student=student,
        guardian=guardian_user.guardian,
        typed_name=guardian_user.guardian.name,
        consent=True,
        shown_sha256=text.sha256(),
        ip="10.0.0.8",
        user_agent="test",
    )


def test_the_whole_path_is_recorded_and_told_to_the_guardian(term, student_a, guardian, homeroom_teacher, admin_user):
    application = _apply(term, student_a, guardian)
    _sign(term, student_a, guardian)

    workflow.application_transition(application=application, to=S.CLASS_APPROVED, actor=homeroom_teacher)
    workflow.application_transition(application=application, to=S.SCHOOL_APPROVED, actor=admin_user, note="复核通过")
    placed, waitlisted, refused = workflow.applications_place(applications=[application], actor=admin_user)

    application.refresh_from_db()
    assert (placed, waitlisted, refused, application.status) == (1, 0, [], S.PLACED)
    assert [(e.status, e.actor) for e in application.events.all()] == [
        (S.SUBMITTED, guardian),
        (S.CLASS_APPROVED, homeroom_teacher),
        (S.SCHOOL_APPROVED, admin_user),
        (S.PLACED, admin_user),
    ]
    assert GroupMembership.objects.get(student=student_a).group.name == "三年级服务1班"
    subjects = list(Notification.objects.filter(guardian=guardian.guardian).values_list("subject", flat=True))
    assert "王小明的申请：已安排" in subjects and len(subjects) == 3


def test_no_placement_without_a_signed_agreement(term, student_a, guardian, admin_user):
    application = _apply(term, student_a, guardian)
    Application.objects.filter(pk=application.pk).update(status=S.SCHOOL_APPROVED)

    placed, waitlisted, refused = workflow.applications_place(applications=[application], actor=admin_user)

    assert (placed, waitlisted, refused) == (0, 0, ["王小明"])
    assert not GroupMembership.objects.exists()


def test_a_rejection_needs_a_reason(term, student_a, guardian, homeroom_teacher):
    application = _apply(term, student_a, guardian)
    with pytest.raises(ValidationError, match="请填写不通过的原因"):
        workflow.application_transition(application=application, to=S.REJECTED, actor=homeroom_teacher)
    workflow.application_transition(application=application, to=S.REJECTED, actor=homeroom_teacher, note="已有托管")
    assert Application.objects.get().status == S.REJECTED


def test_the_homeroom_teacher_of_another_class_cannot_approve(term, student_a, guardian, other_homeroom_teacher):
    application = _apply(term, student_a, guardian)
    with pytest.raises(PermissionDenied):
        workflow.application_transition(application=application, to=S.CLASS_APPROVED, actor=other_homeroom_teacher)
    assert Application.objects.get().status == S.SUBMITTED


def test_a_guardian_can_approve_nothing(term, student_a, guardian):
    application = _apply(term, student_a, guardian)
    for target in (S.CLASS_APPROVED, S.REJECTED):
        with pytest.raises(PermissionDenied):
            workflow.application_transition(application=application, to=target, actor=guardian, note="x")
    Application.objects.filter(pk=application.pk).update(status=S.CLASS_APPROVED)
    with pytest.raises(PermissionDenied):
        workflow.application_transition(application=application, to=S.SCHOOL_APPROVED, actor=guardian)


def test_the_guardian_may_edit_until_the_class_review(term, student_a, guardian, homeroom_teacher):
    application = _apply(term, student_a, guardian, allergies="花生")
    _apply(term, student_a, guardian, allergies="花生、芒果")
    assert Application.objects.get().allergies == "花生、芒果"

    workflow.application_transition(application=application, to=S.CLASS_APPROVED, actor=homeroom_teacher)
    with pytest.raises(ValidationError, match="已进入审核"):
        _apply(term, student_a, guardian, allergies="无")


def test_submitting_twice_leaves_one_application(term, student_a, guardian):
    _apply(term, student_a, guardian)
    _apply(term, student_a, guardian)
    assert Application.objects.count() == 1 and Application.objects.get().events.count() == 1


def test_applications_outside_the_window_are_refused_but_paper_ones_are_taken(term, student_a, guardian, admin_user):
    late = term.application_closes + timedelta(days=1)
    with pytest.raises(ValidationError, match="报名时间为"):
        workflow.application_save(
            term=term,
            student=student_a,
            guardian=guardian.guardian,
            fields=FIELDS,
            choices=[],
            persons=[],
            actor=guardian,
            today=late,
        )
    paper = workflow.application_save(
        term=term,
        student=student_a,
        guardian=None,
        fields=FIELDS,
        choices=[],
        persons=[],
        actor=admin_user,
        today=late,
        paper=True,
    )
    assert paper.events.get().note == "学校录入的纸质申请。"


def test_sports_clubs_need_accident_insurance(term, student_a, guardian):
    taekwondo = ActivityFactory(school=term.school, name="跆拳道", category="sports", requires_insurance=True)
    with pytest.raises(ValidationError, match="跆拳道 须购买意外伤害保险"):
        _apply(term, student_a, guardian, choices=[taekwondo])
    _apply(term, student_a, guardian, choices=[taekwondo], insurer="中国人寿", policy_number="P2026-001")
    assert [c.activity.name for c in Application.objects.get().choices.all()] == ["跆拳道"]


def test_going_home_alone_only_where_the_school_allows_it(term, student_a, guardian):
    with pytest.raises(ValidationError, match="不允许该年级学生自行回家"):
        _apply(term, student_a, guardian, pickup=Application.Pickup.ALONE)
    ServiceSettings.objects.create(school=term.school, work_end_time="17:00", home_alone_from_grade=3)
    _apply(term, student_a, guardian, pickup=Application.Pickup.ALONE)  # grade 3 may


def test_the_stored_hash_verifies_and_an_edit_after_signing_is_a_new_version(term, student_a, guardian):
    signature = _sign(term, student_a, guardian)
    original = signature.text
    assert signature.verifies() and signature.text_sha256 == original.sha256()
    assert (signature.ip_address, signature.signed_name) == ("10.0.0.8", "王建国")

    edited = workflow.agreement_text_save(term=term, title=original.title, body="新条款", current=original)

    original.refresh_from_db()
    signature.refresh_from_db()
    assert (edited.version, original.version, original.body) == (2, 1, "条款")
    assert signature.text_id == original.pk and signature.verifies()
    assert workflow.agreement_current(term) == edited


def test_a_text_nobody_signed_is_edited_in_place(term):
    text = AgreementText.objects.create(term=term, version=1, title="安全责任书", body="草稿")
    saved = workflow.agreement_text_save(term=term, title="安全责任书", body="定稿", current=text)
    assert saved.pk == text.pk and AgreementText.objects.count() == 1


def test_signing_checks_name_consent_text_and_once_per_term(term, student_a, guardian):
    text = AgreementText.objects.create(term=term, version=1, title="安全责任书", body="条款")
    base = dict(text=text, student=student_a, guardian=guardian.guardian, ip=None, user_agent="")
    with pytest.raises(ValidationError, match="请勾选"):
        workflow.agreement_sign(**base, typed_name="王建国", consent=False, shown_sha256=text.sha256())
    with pytest.raises(ValidationError, match="王建国"):
        workflow.agreement_sign(**base, typed_name="王建", consent=True, shown_sha256=text.sha256())
    with pytest.raises(ValidationError, match="协议内容已更新"):
        workflow.agreement_sign(**base, typed_name="王建国", consent=True, shown_sha256="0" * 64)
    workflow.agreement_sign(**base, typed_name="王建国", consent=True, shown_sha256=text.sha256())
    with pytest.raises(ValidationError, match="已签署"):
        workflow.agreement_sign(**base, typed_name="王建国", consent=True, shown_sha256=text.sha256())
    assert AgreementSignature.objects.count() == 1


def test_withdrawal_takes_the_child_out_of_its_groups_from_the_date(term, student_a, guardian, admin_user):
    application = _apply(term, student_a, guardian)
    _sign(term, student_a, guardian)
    Application.objects.filter(pk=application.pk).update(status=S.SCHOOL_APPROVED)
    workflow.applications_place(applications=[application], actor=admin_user)
    leave_on = term.start + timedelta(days=40)

    workflow.application_withdraw(application=application, actor=guardian, effective=leave_on, note="搬家")

    application.refresh_from_db()
    assert (application.status, application.withdrawn_on) == (S.WITHDRAWN, leave_on)
    assert GroupMembership.objects.get(student=student_a).left_on == leave_on
    assert "搬家" in application.events.last().note


def test_leave_is_decided_by_the_own_homeroom_teacher_and_shows_as_excused(
    term, student_a, student_b, guardian, homeroom_teacher, other_homeroom_teacher
):
    today = timezone.localdate()
    leave = workflow.leave_request_create(
        student=student_a, guardian=guardian.guardian, start=today, end=today, reason="看病"
    )
    with pytest.raises(PermissionDenied):
        workflow.leave_review(requests=[leave], teacher=other_homeroom_teacher, approve=True)
    workflow.leave_review(requests=[leave], teacher=homeroom_teacher, approve=True)

    assert LeaveRequest.objects.get().status == LeaveRequest.Status.APPROVED
    assert selectors.students_on_leave(day=today) == {student_a.pk}
    assert selectors.students_on_leave(day=today + timedelta(days=1)) == set()


def test_an_invitation_code_sets_a_password_once(db, student_a):
    family = StudentGuardianFactory(
        student=student_a, guardian=GuardianFactory(name="赵敏", mobile="13612345678")
    ).guardian
    admin = UserFactory(username="office")
    [(guardian, code)] = workflow.invitation_issue(guardians=[family], issued_by=admin)
    assert InvitationCode.objects.get().code_hash != code  # only the hash is kept

    with pytest.raises(ValidationError, match="不匹配"):
        workflow.invitation_redeem(mobile="13612345679", code=code, password="Spring-Garden-88")
    user = workflow.invitation_redeem(mobile="13612345678", code=code.lower(), password="Spring-Garden-88")

    assert user.check_password("Spring-Garden-88") and user.groups.filter(name="家长").exists()
    family.refresh_from_db()
    assert family.user == user
    with pytest.raises(ValidationError, match="不匹配"):
        workflow.invitation_redeem(mobile="13612345678", code=code, password="Another-Garden-99")


def test_a_new_code_replaces_the_old_one_and_expired_codes_fail(db, guardian):
    family = guardian.guardian
    [(_g, first)] = workflow.invitation_issue(guardians=[family], issued_by=None)
    [(_g, second)] = workflow.invitation_issue(guardians=[family], issued_by=None)
    with pytest.raises(ValidationError):
        workflow.invitation_redeem(mobile=family.mobile, code=first, password="Spring-Garden-88")
    later = timezone.now() + timedelta(days=31)
    with pytest.raises(ValidationError):
        workflow.invitation_redeem(mobile=family.mobile, code=second, password="Spring-Garden-88", now=later)
    workflow.invitation_redeem(mobile=family.mobile, code=second, password="Spring-Garden-88")
    guardian.refresh_from_db()
    assert guardian.check_password("Spring-Garden-88") and not guardian.check_password(PASSWORD)


def test_survey_totals_count_per_grade_slot_and_activity(term, student_a, student_b, guardian, other_guardian):
    chess = ActivityFactory(school=term.school, name="围棋")
    term.survey_open = True
    term.save()
    slots = {"slot_midday": False, "slot_after_school": True, "slot_evening": False, "slot_saturday": True}
    workflow.survey_answer(
        term=term, student=student_a, guardian=guardian.guardian, needs_service=True, slots=slots, activities=[chess]
    )
    workflow.survey_answer(
        term=term,
        student=student_b,
        guardian=other_guardian.guardian,
        needs_service=False,
        slots=slots,
        activities=[chess],
    )

    table = selectors.survey_totals(term)

    assert table.columns[:7] == ["答卷", "需要服务", "早到托管", "午托", "课后", "晚自习", "周六"]
    assert table.rows[0] == ("三年级", [2, 1, 0, 0, 1, 0, 1, 1])
    term.survey_open = False
    term.save()
    with pytest.raises(ValidationError, match="已关闭"):
        workflow.survey_answer(
            term=term, student=student_a, guardian=guardian.guardian, needs_service=True, slots=slots, activities=[]
        )
