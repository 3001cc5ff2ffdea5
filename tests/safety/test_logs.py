import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone, translation

from enrollment.models import LeaveRequest, Notification
from safety.models import CareRecord, GateVisit, Handover, Incident, IncidentAcknowledgement, PatrolRecord
from safety.services import care_record_save, handover_confirm, incident_close, incident_report
from scheduling.models import GroupMembership

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def chinese():
    with translation.override("zh-hans"):
        yield


def test_the_homeroom_teacher_hands_over_the_class_leave_excepted(
    client, session, homeroom_teacher, student_a, guardian
):
    GroupMembership.objects.create(group=session.group, student=student_a)
    client.force_login(homeroom_teacher)
    page = client.get(reverse("safety:handover"))
    [(homeroom, rows, done)] = page.context["classes"]
    assert [(s.name, g, leave) for s, g, leave in rows] == [("王小明", "三年级服务1班", False)] and done is None

    client.post(reverse("safety:handover"), {"homeroom": homeroom.pk})
    assert Handover.objects.get().count == 1

    LeaveRequest.objects.create(student=student_a, start=session.date, end=session.date, reason="病", status="approved")
    handover_confirm(homeroom=homeroom, teacher=homeroom_teacher, day=session.date)
    assert Handover.objects.get().count == 0


def test_another_teacher_cannot_hand_over_a_class(homeroom_a, other_homeroom_teacher):
    with pytest.raises(PermissionDenied):
        handover_confirm(homeroom=homeroom_a, teacher=other_homeroom_teacher, day=timezone.localdate())


def test_care_records_are_daily_per_group_and_kept_in_history(session, service_teacher, other_homeroom_teacher):
    care_record_save(group=session.group, day=session.date, teacher=service_teacher, text="作业完成良好")
    care_record_save(
        group=session.group, day=session.date, teacher=service_teacher, text="作业完成良好；一人身体不适已通知家长"
    )
    assert CareRecord.objects.count() == 1 and CareRecord.history.count() == 2
    with pytest.raises(PermissionDenied):
        care_record_save(group=session.group, day=session.date, teacher=other_homeroom_teacher, text="x")


def test_an_incident_tells_the_guardians_and_closes_only_once_they_were_told(
    client, session, service_teacher, student_a, guardian
):
    GroupMembership.objects.create(group=session.group, student=student_a)
    incident = incident_report(
        school=session.group.term.school,
        reporter=service_teacher,
        kind="injury",
        severity=1,
        occurred_at=timezone.now(),
        group=session.group,
        students=[student_a],
        description="篮球课摔倒擦伤膝盖",
        actions="校医消毒包扎",
    )
    assert Notification.objects.filter(kind="safety.incident", guardian=guardian.guardian).exists()
    with pytest.raises(ValidationError, match="请先记录"):
        incident_close(incident=incident, user=service_teacher, follow_up="次日复查")
    incident.guardians_notified_at = timezone.now()
    incident_close(incident=incident, user=service_teacher, follow_up="次日复查无碍")

    client.force_login(guardian)
    client.post(reverse("enrollment:incident_acknowledge", args=[student_a.pk, incident.pk]))
    assert IncidentAcknowledgement.objects.filter(guardian=guardian.guardian).exists()


def test_a_guardian_cannot_acknowledge_another_familys_incident(
    client, session, service_teacher, student_b, guardian, student_a
):
    incident = incident_report(
        school=session.group.term.school,
        reporter=service_teacher,
        kind="conflict",
        severity=1,
        occurred_at=timezone.now(),
        group=session.group,
        students=[student_b],
        description="争执",
        actions="调解",
    )
    client.force_login(guardian)
    response = client.post(reverse("enrollment:incident_acknowledge", args=[student_a.pk, incident.pk]))
    assert response.status_code == 404 and not IncidentAcknowledgement.objects.exists()


def test_teachers_report_incidents_about_children_in_their_care_only(
    client, session, service_teacher, student_a, student_b
):
    GroupMembership.objects.create(group=session.group, student=student_a)
    client.force_login(service_teacher)
    form = client.get(reverse("safety:incident_new")).context["form"]
    assert list(form.fields["students"].queryset) == [student_a]
    now = timezone.localtime().strftime("%Y-%m-%dT%H:%M")
    response = client.post(
        reverse("safety:incident_new"),
        {
            "kind": "illness",
            "severity": 1,
            "occurred_at": now,
            "group": session.group.pk,
            "students": [student_a.pk],
            "description": "发烧",
            "actions": "通知家长接回",
        },
    )
    assert response.status_code == 302 and Incident.objects.get().students.get() == student_a


def test_the_gate_registers_visitors_in_and_out(client, gate_guard):
    client.force_login(gate_guard)
    client.post(
        reverse("safety:gate"), {"visitor": "快递员", "purpose": "送教材", "host": "教务处", "id_last4": "1234"}
    )
    visit = GateVisit.objects.get()
    client.post(reverse("safety:gate"), {"out": visit.pk})
    visit.refresh_from_db()
    assert visit.out_at is not None and visit.recorded_by == gate_guard


def test_the_duty_leader_records_patrols(client, session, duty_leader):
    client.force_login(duty_leader)
    client.post(reverse("safety:patrol"), {"group": session.group.pk, "observations": "秩序良好"})
    assert PatrolRecord.objects.get().leader == duty_leader


@pytest.mark.parametrize(
    ("persona", "url_name", "status"),
    [
        ("guardian", "safety:gate", 403),
        ("gate_guard", "safety:patrol", 403),
        ("service_teacher", "safety:handover", 403),
        ("guardian", "safety:incident_new", 403),
        ("gate_guard", "safety:records", 403),
    ],
)
def test_log_pages_are_open_only_to_their_roles(client, request, persona, url_name, status):
    client.force_login(request.getfixturevalue(persona))
    assert client.get(reverse(url_name)).status_code == status


def test_the_homeroom_teacher_is_told_of_an_incident_of_their_child_and_may_open_it(
    client, session, service_teacher, student_a, homeroom_teacher, other_homeroom_teacher
):
    incident = incident_report(
        school=session.group.term.school, reporter=service_teacher, kind="injury", severity=1,
        occurred_at=timezone.now(), group=session.group, students=[student_a], description="摔倒擦伤",
        actions="校医消毒包扎",
    )  # fmt: skip

    [told] = Notification.objects.filter(kind="safety.incident", recipient=homeroom_teacher)
    assert told.guardian_id is None and "王小明" in told.body and "校医消毒包扎" in told.body
    assert not Notification.objects.filter(recipient__in=[service_teacher, other_homeroom_teacher]).exists()
    url = reverse("safety:incident", args=[incident.pk])
    client.force_login(homeroom_teacher)
    assert client.get(url).status_code == 200
    client.force_login(other_homeroom_teacher)
    assert client.get(url).status_code == 404
