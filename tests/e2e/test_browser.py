import pytest

from tests.enrollment.factories import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


def _no_horizontal_scroll(page):
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def _log_in(page, base_url, username):
    page.goto(base_url + "/")
    page.get_by_label("用户名或手机号").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()


def test_guardian_logs_in_with_mobile_on_a_phone_and_sees_their_child(
    live_server, phone, screenshot, guardian, student_a
):
    phone.goto(live_server.url + "/")
    assert phone.title().startswith("登录")
    assert _no_horizontal_scroll(phone)
    screenshot(phone, "phone-login")

    _log_in(phone, live_server.url, "13911112222")

    phone.get_by_role("heading", name="我的孩子").wait_for()
    assert _no_horizontal_scroll(phone)
    phone.get_by_text(student_a.name).click()
    phone.get_by_text("登记的监护人").wait_for()
    assert "三年级(1)班" in phone.content()
    screenshot(phone, "phone-guardian-child")


def test_wrong_password_on_a_phone_shows_the_chinese_message(live_server, phone, guardian):
    phone.goto(live_server.url + "/login/")
    phone.get_by_label("用户名或手机号").fill("13911112222")
    phone.get_by_label("密码").fill("wrong-password")
    phone.get_by_role("button", name="登录").click()
    phone.get_by_text("用户名/手机号或密码不正确").wait_for()


def test_homeroom_teacher_sees_the_class_on_a_phone_and_logs_out(
    live_server, phone, screenshot, homeroom_teacher, student_a, guardian
):
    _log_in(phone, live_server.url, "teacher_a")

    phone.get_by_role("heading", name="三年级(1)班").wait_for()
    assert student_a.name in phone.content()
    assert _no_horizontal_scroll(phone)
    screenshot(phone, "phone-teacher-class")

    phone.get_by_role("button", name="菜单").click()
    phone.get_by_role("button", name="退出登录").click()
    phone.get_by_role("heading", name="登录").wait_for()


def test_admin_logs_in_and_opens_the_student_list(live_server, desktop, screenshot, admin_user, student_a):
    _log_in(desktop, live_server.url, "school_admin")

    desktop.get_by_role("link", name="学生").first.click()
    desktop.get_by_text("王小明").wait_for()
    assert "下载空白名册模板" in desktop.content()
    screenshot(desktop, "desktop-admin-students")
