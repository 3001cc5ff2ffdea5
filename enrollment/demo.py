"""Participation part of the demo school (called by ``manage.py seed_demo``; idempotent)."""

from datetime import datetime, timedelta

from django.utils import timezone

from .models import (
    AgreementSignature,
    AgreementText,
    Application,
    ApplicationEvent,
    Student,
    StudentGuardian,
    User,
)
from .workflow import agreement_current, notice_fill

AGREEMENT_TITLE = "阳光实验小学课后服务安全责任书"
AGREEMENT_BODY = """为保障学生参加课后服务期间的安全，经学校与家长协商，签订本责任书。

一、家长自愿为孩子申请参加课后服务，并如实填写孩子的健康状况、过敏史和紧急联系人。
二、学校安排教师看护、辅导，每课点名，发现无故缺席立即通知家长。
三、服务结束时，学生由家长或家长书面授权的接送人接走；接送人须与登记信息一致。未经家长书面同意，学生不得自行离校。
四、家长应按时接孩子。超过结束时间未接的，值班教师继续看护并联系家长。
五、学生须遵守纪律，不得擅自离开服务场地；参加体育类活动须购买意外伤害保险。
六、学生因病、因事不能参加，家长须提前通过家长端请假。
七、本责任书一学期一签，自签署之日起至本学期课后服务结束时有效。"""


def seed_participation(*, term, candidates, pending_homeroom, skip_student_nos=()) -> dict:
    """Applications and signed agreements for the demo's placed and waitlisted students, and a
    few applications waiting for the homeroom teacher of ``pending_homeroom``."""
    term.survey_open = True
    term.save(update_fields=["survey_open"])
    notice = notice_fill(term=term)
    if not notice.published:
        notice.published = True
        notice.save(update_fields=["published"])
    text = agreement_current(term) or AgreementText.objects.create(
        term=term, version=1, title=AGREEMENT_TITLE, body=AGREEMENT_BODY
    )
    if Application.objects.filter(term=term).exists():
        return {"applications": Application.objects.filter(term=term).count()}

    from scheduling.models import GroupMembership, WaitlistEntry

    placed = set(GroupMembership.objects.filter(group__term=term).values_list("student_id", flat=True))
    waiting = set(WaitlistEntry.objects.filter(term=term).values_list("student_id", flat=True))
    primary = dict(StudentGuardian.objects.filter(is_primary=True).values_list("student_id", "guardian_id"))
    guardian_names = dict(StudentGuardian.objects.filter(is_primary=True).values_list("student_id", "guardian__name"))
    admin = User.objects.filter(username="admin").first()
    teachers = dict(Student.objects.filter(school=term.school).values_list("pk", "homeroom__teacher_id"))

    applications = []
    for candidate in candidates:
        status = Application.Status.PLACED if candidate.student_id in placed else Application.Status.WAITLISTED
        applications.append(
            Application(
                term=term, student_id=candidate.student_id, guardian_id=primary.get(candidate.student_id),
                status=status, priority=candidate.priority, emergency_name="外婆", emergency_mobile="13700000000",
                pickup=Application.Pickup.GUARDIAN,
            )
        )  # fmt: skip
    pending = list(
        Student.objects.filter(homeroom=pending_homeroom)
        .exclude(pk__in=placed | waiting)
        .exclude(student_no__in=skip_student_nos)
        .order_by("student_no")[:6]
    )
    for student in pending:
        applications.append(
            Application(
                term=term, student=student, guardian_id=primary.get(student.pk), emergency_name="外公",
                emergency_mobile="13700000001",
            )
        )  # fmt: skip
    Application.objects.bulk_create(applications, batch_size=500)

    events = []
    base = timezone.make_aware(datetime(2026, 8, 25, 9, 0))
    steps = [
        (Application.Status.SUBMITTED, None, ""),
        (Application.Status.CLASS_APPROVED, "teacher", ""),
        (Application.Status.SCHOOL_APPROVED, admin, "校课后服务工作小组复核通过"),
    ]
    for application in Application.objects.filter(term=term):
        if application.status == Application.Status.SUBMITTED:
            events.append(ApplicationEvent(application=application, status=Application.Status.SUBMITTED))
            continue
        for status, actor, note in steps:
            actor_id = teachers.get(application.student_id) if actor == "teacher" else (actor.pk if actor else None)
            events.append(ApplicationEvent(application=application, status=status, actor_id=actor_id, note=note))
        events.append(
            ApplicationEvent(application=application, status=application.status, actor=admin, note="统筹安排")
        )
    ApplicationEvent.objects.bulk_create(events, batch_size=1000)
    ApplicationEvent.objects.filter(application__term=term).update(at=base)

    signatures = [
        AgreementSignature(
            term=term, text=text, student_id=c.student_id, guardian_id=primary.get(c.student_id),
            signed_name=guardian_names.get(c.student_id, ""), text_sha256=text.sha256(),
        )
        for c in candidates
    ]  # fmt: skip
    AgreementSignature.objects.bulk_create(signatures, batch_size=500)
    AgreementSignature.objects.filter(term=term).update(signed_at=base - timedelta(days=1))
    return {"applications": len(applications)}
