import pytest
from django.urls import reverse

from enrollment.models import Guardian, Homeroom, StaffProfile, Student, StudentGuardian, User
from enrollment.roles import Role
from tests.enrollment.factories import StaffProfileFactory, UserFactory

# Every test here touches the database, some only through persona fixtures.
pytestmark = pytest.mark.django_db


def _grow(grade, count, start=0):
    """``count`` students in classes of 45 with a guardian each, and a teacher per 10 students."""
    from django.contrib.auth.models import Group

    homerooms = Homeroom.objects.bulk_create(
        Homeroom(grade=grade, number=100 + start + i) for i in range((count + 44) // 45)
    )
    students = Student.objects.bulk_create(
        Student(
            school=grade.school,
            homeroom=homerooms[i // 45],
            student_no=f"N{start + i:05d}",
            name=f"学生{i}",
            gender="F",
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
    users = User.objects.bulk_create(User(username=f"t{start + i}") for i in range(count // 10))
    User.groups.through.objects.bulk_create(
        User.groups.through(user=u, group=Group.objects.get(name=Role.HOMEROOM_TEACHER)) for u in users
    )
    StaffProfile.objects.bulk_create(StaffProfile(user=u, school=grade.school, name=u.username) for u in users)


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
    _grow(homeroom_a.grade, 10)
    few, response = _changelist_queries(client, django_assert_max_num_queries, url, 20)
    rows_few = response.context["cl"].result_count

    _grow(homeroom_a.grade, 990, start=10)
    many, response = _changelist_queries(client, django_assert_max_num_queries, url, 20)

    assert many == few
    assert response.context["cl"].result_count > rows_few  # the list really grew
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

    assert response.status_code == 403
    assert "无权访问" in response.content.decode()


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

    perms = {
        g.name: set(g.permissions.filter(content_type__app_label="enrollment").values_list("codename", flat=True))
        for g in Group.objects.all()
    }
    assert set(perms) == {role.value for role in Role}
    assert {"add_student", "change_student", "view_student", "add_user"} <= perms[Role.ADMIN]
    assert "delete_student" not in perms[Role.ADMIN]
    assert perms[Role.FINANCE] >= {"view_student"} and not any(
        p.startswith(("add_", "change_")) for p in perms[Role.FINANCE]
    )
    assert perms[Role.GUARDIAN] == set()


def test_the_school_admin_cannot_make_anyone_a_superuser(client, admin_user, homeroom_teacher):
    client.force_login(admin_user)
    url = reverse("admin:enrollment_user_change", args=[admin_user.pk])
    form = client.get(url).context["adminform"].form
    assert "is_superuser" not in form.fields and "user_permissions" not in form.fields

    # A superuser on the school's staff is in the admin's list, and still out of reach.
    it = UserFactory(username="it", is_staff=True, is_superuser=True)
    StaffProfileFactory(user=it, school=admin_user.staff_profile.school, name="it")
    it_url = reverse("admin:enrollment_user_change", args=[it.pk])
    assert client.post(it_url, {"username": "it", "is_active": "on"}).status_code == 403
    password_url = reverse("admin:auth_user_password_change", args=[it.pk])
    assert client.post(password_url, {"password1": "Hijack-12345", "password2": "Hijack-12345"}).status_code == 403

    # The IT superuser without a staff record belongs to no school: the school admin does not see it.
    outside = UserFactory(username="it2", is_staff=True, is_superuser=True)
    outside_url = reverse("admin:enrollment_user_change", args=[outside.pk])
    assert client.post(outside_url, {"username": "it2", "is_active": "on"}).url == reverse("admin:index")
    password_url = reverse("admin:auth_user_password_change", args=[outside.pk])
    assert client.post(password_url, {"password1": "Hijack-12345", "password2": "Hijack-12345"}).status_code == 404
    outside.refresh_from_db()
    assert outside.check_password("Hijack-12345") is False


@pytest.mark.parametrize("value", ["9", "x", ""])
def test_a_hand_edited_stage_filter_shows_everything_instead_of_failing(client, admin_user, student_a, value):
    client.force_login(admin_user)
    response = client.get(reverse("admin:enrollment_student_changelist"), {"stage": value})
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("term", "expected"), [("三年级", {1, 2}), ("三年级2班", {2}), ("3年级(1)班", {1}), ("teacher_b", {2})]
)
def test_classes_are_found_the_way_people_write_them(client, admin_user, homeroom_a, homeroom_b, term, expected):
    client.force_login(admin_user)
    response = client.get(reverse("admin:enrollment_homeroom_changelist"), {"q": term})
    assert {h.number for h in response.context["cl"].result_list} == expected
