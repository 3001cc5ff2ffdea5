from datetime import datetime, time

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone, translation

from enrollment.models import LeaveRequest, Notification
from safety.models import AbsenceFollowUp, Attendance, RollCall, RollCallEntry
from safety.services import follow_up_close, roll_call_save
from scheduling.models import GroupMembership, Session
from tests.safety.factories import add_members

pytestmark = pytest.mark.django_db
A = Attendance


@pytest.fixture(autouse=True)
def chinese():
    with translation.override("zh-hans"):
        yield


def test_the_whole_class_is_saved_at_once_and_an_absence_notifies_and_opens_a_follow_up(
    session, service_teacher, homeroom_a, student_a, guardian
):
    GroupMembership.objects.create(group=session.group, student=student_a)
    others = add_members(session, homeroom_a, 3)
    statuses = {s.pk: A.PRESENT for s in others} | {student_a.pk: A.ABSENT}

    roll_call = roll_call_save(session=session, teacher=service_teacher, statuses=statuses, version=0)

    assert roll_call.entries.count() == 4 and roll_call.version == 1
    session.refresh_from_db()
    assert session.roll_call_at is not None
    notices = Notification.objects.filter(kind="safety.absence")
    assert {(n.recipient_id, n.guardian_id) for n in notices} == {
        (homeroom_a.teacher_id, None),
        (guardian.pk, guardian.guardian.pk),
    }
    assert "王小明" in notices.first().subject
    follow_up = AbsenceFollowUp.objects.get()
    assert follow_up.entry.student == student_a and follow_up.closed_at is None

    follow_up_close(follow_up=follow_up, teacher=homeroom_a.teacher, note="家长临时接走，已电话确认")
    assert AbsenceFollowUp.objects.get().closed_at is not None


def test_a_later_save_from_a_stale_page_is_refused_not_lost(session, service_teacher, homeroom_a):
    students = add_members(session, homeroom_a, 2)
    first = {s.pk: A.PRESENT for s in students}
    roll_call_save(session=session, teacher=service_teacher, statuses=first, version=0)
    # Two teachers open version 1; the first saves a change, the second then saves its own.
    roll_call_save(session=session, teacher=service_teacher, statuses={**first, students[0].pk: A.LATE}, version=1)

    with pytest.raises(ValidationError, match="刚刚保存"):
        roll_call_save(
            session=session, teacher=service_teacher, statuses={**first, students[1].pk: A.UNWELL}, version=1
        )
    assert dict(RollCallEntry.objects.values_list("student_id", "status")) == {
        students[0].pk: A.LATE,
        students[1].pk: A.PRESENT,
    }


def test_two_first_saves_at_once_do_not_both_win(session, service_teacher, homeroom_a):
    students = add_members(session, homeroom_a, 1)
    roll_call_save(session=session, teacher=service_teacher, statuses={students[0].pk: A.PRESENT}, version=0)
    with pytest.raises(ValidationError, match="刚刚保存"):
        roll_call_save(session=session, teacher=service_teacher, statuses={students[0].pk: A.LATE}, version=0)


def test_changes_after_the_end_need_a_reason_and_keep_history(session, service_teacher, homeroom_a):
    [student] = add_members(session, homeroom_a, 1)
    roll_call_save(session=session, teacher=service_teacher, statuses={student.pk: A.PRESENT}, version=0)
    after_end = timezone.make_aware(datetime.combine(session.date, time(17, 30)))

    with pytest.raises(ValidationError, match="请填写修改原因"):
        roll_call_save(
            session=session, teacher=service_teacher, statuses={student.pk: A.LEFT_EARLY}, version=1, now=after_end
        )
    roll_call_save(
        session=session,
        teacher=service_teacher,
        statuses={student.pk: A.LEFT_EARLY},
        version=1,
        reason="16:40 家长接走",
        now=after_end,
    )

    history = RollCallEntry.history.order_by("history_date")
    assert [(h.status, h.history_user, h.history_change_reason) for h in history] == [
        (A.PRESENT, service_teacher, None),
        (A.LEFT_EARLY, service_teacher, "16:40 家长接走"),
    ]


def test_another_groups_teacher_cannot_take_this_roll_call(client, session, other_homeroom_teacher, homeroom_a):
    [student] = add_members(session, homeroom_a, 1)
    with pytest.raises(PermissionDenied):
        roll_call_save(session=session, teacher=other_homeroom_teacher, statuses={student.pk: A.PRESENT}, version=0)
    client.force_login(other_homeroom_teacher)
    assert client.get(reverse("safety:roll_call", args=[session.pk])).status_code == 404


def test_approved_leave_is_prefilled_as_excused(client, session, service_teacher, homeroom_a, student_a, guardian):
    GroupMembership.objects.create(group=session.group, student=student_a)
    add_members(session, homeroom_a, 2)
    LeaveRequest.objects.create(
        student=student_a, guardian=guardian.guardian, start=session.date, end=session.date, reason="看病",
        status=LeaveRequest.Status.APPROVED,
    )  # fmt: skip
    client.force_login(service_teacher)

    rows = client.get(reverse("safety:roll_call", args=[session.pk])).context["rows"]

    assert {student.name: state for student, state in rows}["王小明"] == A.EXCUSED
    assert sorted(state for _student, state in rows) == [A.EXCUSED, A.PRESENT, A.PRESENT]


def test_withdrawn_children_are_not_on_the_list_after_their_leaving_date(session, homeroom_a):
    from safety.services import session_students

    [staying, leaving] = add_members(session, homeroom_a, 2)
    GroupMembership.objects.filter(student=leaving).update(left_on=session.date)
    assert session_students(session) == [staying]


@pytest.mark.parametrize("method", ["get", "post"])
def test_roll_call_page_runs_the_same_queries_for_5_and_45_students(
    client, session, service_teacher, homeroom_a, method, django_assert_max_num_queries
):
    client.force_login(service_teacher)
    url = reverse("safety:roll_call", args=[session.pk])

    def measure(students):
        # A first roll call each time, with one unexplained absence (notifications included).
        RollCall.objects.all().delete()
        Session.objects.update(roll_call_at=None)
        data = {"version": "0", **{f"s{s.pk}": A.PRESENT for s in students}, f"s{students[0].pk}": A.ABSENT}
        with django_assert_max_num_queries(60) as captured:
            response = client.post(url, data) if method == "post" else client.get(url)
        assert response.status_code == (302 if method == "post" else 200)
        return len(captured)

    five = add_members(session, homeroom_a, 5, with_guardians=True)
    small = measure(five)
    large = measure(five + add_members(session, homeroom_a, 40, with_guardians=True))

    assert large == small
    if method == "post":
        assert RollCallEntry.objects.count() == 45 and AbsenceFollowUp.objects.count() == 1


def test_duty_board_marks_a_missing_roll_call_red_after_the_due_time(
    client, session, duty_leader, service_teacher, homeroom_a
):
    from safety.selectors import duty_board

    add_members(session, homeroom_a, 3)
    before = timezone.make_aware(datetime.combine(session.date, time(16, 5)))
    after = timezone.make_aware(datetime.combine(session.date, time(16, 11)))
    assert duty_board(school_id=session.group.term.school_id, day=session.date, now=before)[0].due is False
    assert duty_board(school_id=session.group.term.school_id, day=session.date, now=after)[0].due is True

    client.force_login(duty_leader)
    assert client.get(reverse("safety:duty_board")).status_code == 200
    partial = client.get(reverse("safety:duty_board"), HTTP_HX_REQUEST="true")
    assert "三年级服务1班" in partial.content.decode() and "<html" not in partial.content.decode()


def test_guardians_and_gate_guards_cannot_open_roll_call_or_the_board(client, session, guardian, gate_guard):
    for user in (guardian, gate_guard):
        client.force_login(user)
        assert client.get(reverse("safety:roll_call", args=[session.pk])).status_code == 403
        assert client.get(reverse("safety:duty_board")).status_code == 403


def test_only_the_own_homeroom_teacher_closes_a_follow_up(session, service_teacher, homeroom_a, other_homeroom_teacher):
    [student] = add_members(session, homeroom_a, 1)
    roll_call_save(session=session, teacher=service_teacher, statuses={student.pk: A.ABSENT}, version=0)
    follow_up = AbsenceFollowUp.objects.get()
    with pytest.raises(PermissionDenied):
        follow_up_close(follow_up=follow_up, teacher=other_homeroom_teacher, note="x")
    with pytest.raises(ValidationError):
        follow_up_close(follow_up=follow_up, teacher=homeroom_a.teacher, note=" ")


def test_a_correction_keeps_the_same_history_rows_as_simple_history_and_only_for_changed_children(
    session, service_teacher, homeroom_a
):
    students = add_members(session, homeroom_a, 3)
    first = {s.pk: A.PRESENT for s in students}
    roll_call_save(session=session, teacher=service_teacher, statuses=first, version=0)
    roll_call_save(
        session=session, teacher=service_teacher, statuses={**first, students[1].pk: A.UNWELL}, version=1, reason="腹痛"
    )

    rows = RollCallEntry.history.order_by("history_id")
    assert [(h.history_type, h.student_id, h.status, h.history_user_id, h.history_change_reason) for h in rows] == [
        ("+", students[0].pk, A.PRESENT, service_teacher.pk, None),
        ("+", students[1].pk, A.PRESENT, service_teacher.pk, None),
        ("+", students[2].pk, A.PRESENT, service_teacher.pk, None),
        ("~", students[1].pk, A.UNWELL, service_teacher.pk, "腹痛"),
    ]
    [change] = [h for h in rows if h.history_type == "~"]
    entry = RollCallEntry.objects.get(student=students[1])
    assert change.id == entry.pk and change.roll_call_id == entry.roll_call_id
    assert change.instance.status == A.UNWELL and change.prev_record.status == A.PRESENT  # simple-history reads it
    assert abs((timezone.now() - change.history_date).total_seconds()) < 60
    assert RollCall.objects.get().version == 2


def test_a_correction_of_45_children_runs_the_same_few_queries_as_one_of_5(
    client, session, service_teacher, homeroom_a, django_assert_max_num_queries
):
    client.force_login(service_teacher)
    url = reverse("safety:roll_call", args=[session.pk])

    def correct(students):
        RollCall.objects.all().delete()
        statuses = {s.pk: A.PRESENT for s in students}
        roll_call_save(session=session, teacher=service_teacher, statuses=statuses, version=0)
        data = {"version": "1", **{f"s{s.pk}": A.LATE for s in students}}
        with django_assert_max_num_queries(12) as captured:
            assert client.post(url, data).status_code == 302
        assert set(RollCallEntry.objects.values_list("status", flat=True)) == {A.LATE}
        return len(captured)

    five = add_members(session, homeroom_a, 5)
    assert correct(five) == correct(five + add_members(session, homeroom_a, 40))
    assert RollCallEntry.history.filter(history_type="~").count() == 5 + 45
