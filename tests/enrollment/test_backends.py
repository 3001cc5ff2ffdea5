import pytest
from django.contrib.auth import authenticate as _authenticate
from django.test import RequestFactory
from django.urls import reverse

from enrollment.roles import Role
from tests.enrollment.factories import PASSWORD, GuardianFactory, StaffProfileFactory, UserFactory


def authenticate(**credentials):
    # django-axes needs the request to count failures by user name and address.
    return _authenticate(RequestFactory().post("/login/"), **credentials)


def test_guardian_logs_in_with_the_mobile_number(guardian):
    assert authenticate(username="13911112222", password=PASSWORD) == guardian


def test_staff_log_in_with_user_name_or_mobile(homeroom_teacher):
    mobile = homeroom_teacher.staff_profile.mobile
    assert authenticate(username="teacher_a", password=PASSWORD) == homeroom_teacher
    assert authenticate(username=f" {mobile} ", password=PASSWORD) == homeroom_teacher


def test_wrong_password_and_unknown_mobile_fail(guardian):
    assert authenticate(username="13911112222", password="wrong") is None
    assert authenticate(username="13900000000", password=PASSWORD) is None


def test_inactive_account_cannot_log_in(guardian):
    guardian.is_active = False
    guardian.save()
    assert authenticate(username="13911112222", password=PASSWORD) is None


@pytest.mark.django_db
def test_teacher_who_is_also_a_parent_reaches_the_account_whose_password_matches():
    teacher = UserFactory(username="teacher", roles=[Role.HOMEROOM_TEACHER])
    StaffProfileFactory(user=teacher, mobile="13812345678")
    parent = UserFactory(username="parent", roles=[Role.GUARDIAN])
    parent.set_password("another-password-99")
    parent.save()
    GuardianFactory(user=parent, mobile="13812345678")

    assert authenticate(username="13812345678", password=PASSWORD) == teacher
    assert authenticate(username="13812345678", password="another-password-99") == parent


def test_repeated_wrong_passwords_lock_the_account_on_that_device(client, guardian, settings):
    for _attempt in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("login"), {"username": "13911112222", "password": "wrong"})

    response = client.post(reverse("login"), {"username": "13911112222", "password": PASSWORD})

    assert response.status_code == 429
    assert "多次输错密码" in response.content.decode()
    assert "_auth_user_id" not in client.session
