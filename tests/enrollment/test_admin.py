import pytest
from django.urls import reverse

from enrollment.models import Guardian, Student, StudentGuardian
from enrollment.roles import Role
from tests.enrollment.factories import HomeroomFactory, UserFactory

# Every test here touches the database, some only through persona fixtures.
pytestmark = pytest.mark.django_db


def _students(homeroom, count, start=0):
    students = Student.objects.bulk_create(
        Student(
            school=homeroom.grade.school, homeroom=homeroom, student_no=f"N{start + i:05d}", name=f"学生{i}", gender="F"
        )
        for i in range(count)
    )
    guardians = Guardian.objects.bulk_create(
        Guardian(name=f"家长{i}", mobile=f"135{start + i:08d}") for i in range(count)
    )
    StudentGuardian.objects.bulk_create(
        StudentGuardian(student=s, guardian=g, relation="mother", is_primary=True)
        for s, g in zip(students, guardians, strict=True)
    )


def _changelist_queries(client, django_assert_max_num_queries, url, bound):
    with django_assert_max_num_queries(bound) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured), response


@pytest.mark.parametrize(
    "url_name",
    [
        "admin:enrollment_student_changelist",
        "admin:enrollment_guardian_changelist",
        "admin:enrollment_homeroom_changelist",
        "admin:enrollment_staffprofile_changelist",
    ],
)
def test_changelists_run_the_same_queries_for_10_and_1000_students(
    client, admin_user, homeroom_a, url_name, django_assert_max_num_queries
):
    client.force_login(admin_user)
    url = reverse(url_name)
    _students(homeroom_a, 10)
    few, _ = _changelist_queries(client, django_assert_max_num_queries, url, 20)

    _students(HomeroomFactory(grade=homeroom_a.grade, number=5), 990, start=10)
    many, response = _changelist_queries(client, django_assert_max_num_queries, url, 20)

    assert many == few
    if url_name == "admin:enrollment_student_changelist":
        assert response.context["cl"].result_count == 1000


def test_admin_searches_students_by_guardian_mobile(client, admin_user, student_a, guardian):
    client.force_login(admin_user)
    response = client.get(reverse("admin:enrollment_student_changelist"), {"q": "13911112222"})
    assert list(response.context["cl"].result_list) == [student_a]


def test_admin_sees_the_primary_contact_in_the_list(client, admin_user, student_a, guardian):
    client.force_login(admin_user)
    response = client.get(reverse("admin:enrollment_student_changelist"))
    html = response.content.decode()
    assert "王建国（母亲）" in html
    assert reverse("admin:enrollment_student_roster_template") in html and "下载空白名册模板" in html


def test_students_are_never_deleted_but_can_be_marked_as_left(client, admin_user, student_a):
    client.force_login(admin_user)
    url = reverse("admin:enrollment_student_changelist")

    response = client.post(url, {"action": "deactivate", "_selected_action": [student_a.pk]}, follow=True)

    student_a.refresh_from_db()
    assert student_a.active is False
    assert "已将 1 名学生标记为离校" in response.content.decode()
    assert client.get(reverse("admin:enrollment_student_delete", args=[student_a.pk])).status_code == 403


@pytest.mark.parametrize("persona", ["homeroom_teacher", "service_teacher", "duty_leader", "gate_guard", "guardian"])
def test_other_roles_cannot_enter_the_admin_even_with_is_staff(client, persona, request):
    user = request.getfixturevalue(persona)
    user.is_staff = True
    user.save()
    client.force_login(user)

    response = client.get(reverse("admin:index"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_finance_reads_students_but_cannot_change_them(client, finance, student_a):
    client.force_login(finance)
    assert client.get(reverse("admin:enrollment_student_changelist")).status_code == 200
    assert client.get(reverse("admin:enrollment_student_add")).status_code == 403
    response = client.post(reverse("admin:enrollment_student_change", args=[student_a.pk]), {"name": "改名"})
    assert response.status_code == 403


@pytest.mark.django_db
def test_a_superuser_without_roles_still_enters_the_admin(client):
    client.force_login(UserFactory(username="it", is_staff=True, is_superuser=True))
    assert client.get(reverse("admin:index")).status_code == 200


def test_roles_exist_with_their_permissions(db):
    from django.contrib.auth.models import Group

    perms = {g.name: set(g.permissions.values_list("codename", flat=True)) for g in Group.objects.all()}
    assert set(perms) == {role.value for role in Role}
    assert {"add_student", "change_student", "view_student", "add_user"} <= perms[Role.ADMIN]
    assert "delete_student" not in perms[Role.ADMIN]
    assert perms[Role.FINANCE] >= {"view_student"} and not any(
        p.startswith(("add_", "change_")) for p in perms[Role.FINANCE]
    )
    assert perms[Role.GUARDIAN] == set()
