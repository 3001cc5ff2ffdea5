import pytest
from django.urls import reverse

from tests.enrollment.factories import PASSWORD, UserFactory

# Every test here touches the database, some only through persona fixtures.
pytestmark = pytest.mark.django_db


def test_anonymous_visitors_are_sent_to_the_chinese_login_page(client, db):
    response = client.get(reverse("enrollment:portal"), follow=True)
    html = response.content.decode()
    assert response.redirect_chain[-1][0].startswith(reverse("login"))
    assert "用户名或手机号" in html and "登录" in html


def test_login_with_mobile_lands_a_guardian_in_the_portal(client, guardian, student_a):
    response = client.post(reverse("login"), {"username": "13911112222", "password": PASSWORD}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("enrollment:portal")
    assert student_a.name in response.content.decode()


def test_a_wrong_password_shows_a_chinese_message(client, guardian):
    response = client.post(reverse("login"), {"username": "13911112222", "password": "nope"})
    assert "用户名/手机号或密码不正确" in response.content.decode()


def test_logout_ends_the_session(client, guardian):
    client.force_login(guardian)
    client.post(reverse("logout"))
    assert client.get(reverse("enrollment:portal")).status_code == 302


def test_guardian_sees_only_their_own_children(client, guardian, student_a, student_b, other_guardian):
    client.force_login(guardian)
    html = client.get(reverse("enrollment:portal")).content.decode()
    assert student_a.name in html and student_b.name not in html

    assert client.get(reverse("enrollment:portal_child", args=[student_a.pk])).status_code == 200
    assert client.get(reverse("enrollment:portal_child", args=[student_b.pk])).status_code == 404


def test_homeroom_teacher_sees_own_class_and_not_another(
    client, homeroom_teacher, homeroom_a, homeroom_b, student_a, guardian
):
    client.force_login(homeroom_teacher)
    response = client.get(reverse("enrollment:class_list"))
    html = response.content.decode()
    assert "三年级(1)班" in html and student_a.name in html and "13911112222" in html

    assert client.get(reverse("enrollment:class_detail", args=[homeroom_b.pk])).status_code == 404


@pytest.mark.parametrize(
    ("persona", "url_name", "status"),
    [
        ("service_teacher", "enrollment:class_list", 403),
        ("guardian", "enrollment:class_list", 403),
        ("homeroom_teacher", "enrollment:portal", 403),
        ("gate_guard", "safety:duty_board", 403),
        ("guardian", "safety:teacher_today", 403),
        ("service_teacher", "safety:teacher_today", 200),
        ("duty_leader", "safety:duty_board", 200),
        ("admin_user", "safety:duty_board", 200),
        ("gate_guard", "safety:gate", 200),
    ],
)
def test_workspaces_are_open_only_to_their_roles(client, request, persona, url_name, status):
    client.force_login(request.getfixturevalue(persona))
    assert client.get(reverse(url_name)).status_code == status


@pytest.mark.parametrize(
    ("persona", "target"),
    [
        ("guardian", "enrollment:portal"),
        ("homeroom_teacher", "enrollment:class_list"),
        ("service_teacher", "safety:teacher_today"),
        ("duty_leader", "safety:duty_board"),
        ("gate_guard", "safety:gate"),
        ("finance", "admin:index"),
        ("admin_user", "admin:index"),
    ],
)
def test_home_takes_each_role_to_its_workspace(client, request, persona, target):
    client.force_login(request.getfixturevalue(persona))
    response = client.get(reverse("home"))
    assert response.status_code == 302 and response["Location"] == reverse(target)


def test_someone_with_two_roles_chooses(client, school):
    from enrollment.roles import Role

    client.force_login(UserFactory(username="both", roles=[Role.HOMEROOM_TEACHER, Role.SERVICE_TEACHER]))
    response = client.get(reverse("home"))
    html = response.content.decode()
    assert response.status_code == 200
    assert reverse("enrollment:class_list") in html and reverse("safety:teacher_today") in html


def test_an_account_without_a_role_is_told_what_to_do(client, db):
    client.force_login(UserFactory(username="nobody"))
    assert "尚未分配角色" in client.get(reverse("home")).content.decode()


def test_english_is_available(client, guardian):
    client.force_login(guardian)
    client.post(reverse("set_language"), {"language": "en"})
    html = client.get(reverse("enrollment:portal")).content.decode()
    assert "My children" in html and "我的孩子" not in html


def test_class_page_queries_do_not_grow_with_students(
    client, homeroom_teacher, homeroom_a, django_assert_max_num_queries
):
    from tests.enrollment.factories import StudentGuardianFactory

    client.force_login(homeroom_teacher)
    StudentGuardianFactory(student__homeroom=homeroom_a)
    with django_assert_max_num_queries(10) as few:
        client.get(reverse("enrollment:class_detail", args=[homeroom_a.pk]))
    for _ in range(30):
        StudentGuardianFactory(student__homeroom=homeroom_a)
    with django_assert_max_num_queries(10) as many:
        client.get(reverse("enrollment:class_detail", args=[homeroom_a.pk]))
    assert len(many) == len(few)


def test_chinese_is_shown_even_to_a_browser_that_asks_for_english(client, guardian):
    client.force_login(guardian)
    html = client.get(reverse("enrollment:portal"), HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9").content.decode()
    assert "我的孩子" in html
