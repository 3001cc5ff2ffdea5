from datetime import datetime, time, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone, translation

from enrollment import workflow
from enrollment.models import Application, AuthorisedPerson
from safety.models import Attendance, PickupPass, Release
from safety.selectors import duty_board
from safety.services import (
    contact_attempt_log,
    day_close,
    one_time_pickup_register,
    pickup_passes_for,
    release_record,
    roll_call_save,
)
from scheduling.models import GroupMembership
from tests.safety.factories import add_members

pytestmark = pytest.mark.django_db
A = Attendance


@pytest.fixture(autouse=True)
def chinese():
    with translation.override("zh-hans"):
        yield


@pytest.fixture
def present(session, service_teacher, homeroom_a, student_a, guardian):
    GroupMembership.objects.create(group=session.group, student=student_a)
    others = add_members(session, homeroom_a, 2)
    statuses = {student_a.pk: A.PRESENT, others[0].pk: A.UNWELL, others[1].pk: A.ABSENT}
    roll_call_save(session=session, teacher=service_teacher, statuses=statuses, version=0)
    return [student_a, others[0]]


def test_a_guardian_code_releases_the_child_and_a_wrong_code_does_not(
    session, service_teacher, present, student_a, guardian
):
    [own] = pickup_passes_for(student=student_a, term=session.group.term)
    assert (own.kind, own.name) == ("guardian", "王建国") and len(own.code) == 6

    with pytest.raises(ValidationError, match="不要放行"):
        release_record(
            session=session,
            student=student_a,
            teacher=service_teacher,
            code="000000" if own.code != "000000" else "111111",
        )
    release = release_record(
        session=session, student=student_a, teacher=service_teacher, code=own.code, pickup_point="东门"
    )

    assert (release.kind, release.person, release.pickup_point) == ("guardian", "王建国", "东门")
    with pytest.raises(ValidationError, match="已经放行"):
        release_record(session=session, student=student_a, teacher=service_teacher, code=own.code)


def test_authorised_and_one_time_people_have_their_own_codes(session, service_teacher, present, student_a, guardian):
    application = workflow.application_save(
        term=session.group.term,
        student=student_a,
        guardian=guardian.guardian,
        fields={"emergency_name": "外婆", "emergency_mobile": "13700000000", "pickup": "authorised"},
        choices=[],
        persons=[{"name": "李四", "relation": "舅舅", "mobile": "13700000002", "id_last4": "123X"}],
        actor=guardian,
        paper=True,
    )
    assert AuthorisedPerson.objects.filter(application=application).exists()
    passes = pickup_passes_for(student=student_a, term=session.group.term)
    uncle = next(p for p in passes if p.kind == "authorised")
    tomorrow = one_time_pickup_register(
        student=student_a,
        guardian=guardian.guardian,
        name="张阿姨",
        mobile="13700000003",
        day=session.date + timedelta(days=1),
    )

    with pytest.raises(ValidationError):  # a one-time code works on its own day only
        release_record(session=session, student=student_a, teacher=service_teacher, code=tomorrow.code)
    release = release_record(session=session, student=student_a, teacher=service_teacher, code=uncle.code)
    assert (release.kind, release.person) == ("authorised", "李四（舅舅）")
    assert (
        len({p.code for p in PickupPass.objects.filter(student=student_a)})
        == PickupPass.objects.filter(student=student_a).count()
    )


def test_going_home_alone_needs_the_guardians_consent(session, service_teacher, present, student_a, guardian):
    with pytest.raises(ValidationError, match="家长未同意"):
        release_record(session=session, student=student_a, teacher=service_teacher, kind="alone")
    Application.objects.create(
        term=session.group.term,
        student=student_a,
        pickup="alone",
        status="placed",
        emergency_name="外婆",
        emergency_mobile="13700000000",
    )
    assert release_record(session=session, student=student_a, teacher=service_teacher, kind="alone").kind == "alone"


def test_closing_the_day_is_refused_while_a_present_child_is_not_released(session, service_teacher, present):
    first, second = present
    release_record(session=session, student=first, teacher=service_teacher, kind="bus", pickup_point="1号校车")

    with pytest.raises(ValidationError) as excinfo:
        day_close(group=session.group, day=session.date, teacher=service_teacher)
    assert second.name in str(excinfo.value) and first.name not in str(excinfo.value)

    release_record(session=session, student=second, teacher=service_teacher, kind="gate")
    assert day_close(group=session.group, day=session.date, teacher=service_teacher).closed_by == service_teacher


def test_the_board_shows_who_awaits_pickup_after_the_grace_period(session, service_teacher, present):
    school_id = session.group.term.school_id
    within = timezone.make_aware(datetime.combine(session.date, time(17, 20)))
    after = timezone.make_aware(datetime.combine(session.date, time(17, 31)))
    assert duty_board(school_id=school_id, day=session.date, now=within)[0].counts["awaiting_pickup"] == 0
    assert duty_board(school_id=school_id, day=session.date, now=after)[0].counts["awaiting_pickup"] == 2

    release_record(session=session, student=present[0], teacher=service_teacher, kind="gate")
    contact_attempt_log(session=session, student=present[1], teacher=service_teacher, note="妈妈在路上，18:10 到")
    assert duty_board(school_id=school_id, day=session.date, now=after)[0].counts["awaiting_pickup"] == 1


def test_another_teacher_can_release_nobody(session, other_homeroom_teacher, present, client):
    with pytest.raises(PermissionDenied):
        release_record(session=session, student=present[0], teacher=other_homeroom_teacher, kind="gate")
    client.force_login(other_homeroom_teacher)
    assert client.get(reverse("safety:dismissal", args=[session.pk])).status_code == 404
    assert not Release.objects.exists()


def test_a_guardian_sees_pickup_codes_and_attendance_of_their_own_child_only(
    client, session, present, guardian, student_a, other_guardian, student_b
):
    client.force_login(guardian)
    page = client.get(reverse("enrollment:portal_child", args=[student_a.pk]))
    html = page.content.decode()
    code = page.context["passes"][0].code
    assert [p.name for p in page.context["passes"]] == ["王建国"] and html.count(code) == 1
    assert code not in html.split("</title>")[0]  # never in the browser tab or history
    assert [e.get_status_display() for e in page.context["attendance"]] == ["到场"]
    assert client.get(reverse("enrollment:portal_child", args=[student_b.pk])).status_code == 404


def test_the_families_numbers_show_on_the_dismissal_page_only_when_a_child_is_awaiting_pickup(
    client, session, service_teacher, present, student_a, guardian
):
    import time_machine

    from tests.enrollment.factories import GuardianFactory, StudentGuardianFactory

    mother = GuardianFactory(name="赵丽", mobile="13755556666")
    StudentGuardianFactory(student=present[1], guardian=mother, relation="mother")
    client.force_login(service_teacher)
    url = reverse("safety:dismissal", args=[session.pk])
    end = timezone.make_aware(datetime.combine(session.date, session.end))

    with time_machine.travel(end - timedelta(minutes=5), tick=False):
        html = client.get(url).content.decode()
    assert "1391111" not in html and "1375555" not in html and "tel:" not in html

    [own] = pickup_passes_for(student=student_a, term=session.group.term)
    release_record(session=session, student=student_a, teacher=service_teacher, code=own.code)
    with time_machine.travel(end + timedelta(hours=1), tick=False):
        html = client.get(url).content.decode()
    assert "13911112222" not in html  # released: nobody has to call this family
    assert 'href="tel:13755556666"' in html and "赵丽（母亲）13755556666" in html


def test_a_guardian_is_named_with_a_masked_mobile_wherever_the_model_is_printed(guardian):
    assert str(guardian.guardian) == "王建国 139****2222"


def test_on_the_phone_a_release_answers_with_the_childs_row_and_the_new_count(
    client, session, service_teacher, present, student_a, django_assert_max_num_queries
):
    client.force_login(service_teacher)
    url = reverse("safety:dismissal", args=[session.pk])
    [own] = pickup_passes_for(student=student_a, term=session.group.term)
    phone = {"HTTP_HX_REQUEST": "true"}

    wrong = client.post(
        url, {"student": student_a.pk, "action": "code", "code": "000000" if own.code != "000000" else "1"}, **phone
    )
    html = wrong.content.decode()
    assert wrong.status_code == 200 and "alert-danger" in html and "不要放行" in html and not Release.objects.exists()
    assert f'id="child-{student_a.pk}"' in html and 'id="waiting-count" hx-swap-oob="true"' in html
    assert "还有 2 人未交接" in html

    with django_assert_max_num_queries(20):
        right = client.post(url, {"student": student_a.pk, "action": "code", "code": own.code}, **phone)
    html = right.content.decode()
    assert right.status_code == 200 and "alert-success" in html and "王小明 已放行" in html
    assert "还有 1 人未交接" in html and "<html" not in html  # the row and the count, not a page
    assert Release.objects.get().student == student_a

    without_js = client.post(url, {"student": present[1].pk, "action": "gate"})
    assert without_js.status_code == 302 and Release.objects.count() == 2
