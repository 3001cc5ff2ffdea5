from io import StringIO

import pytest
from django.core.management import call_command

from scheduling.models import ServiceGroup

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def demo_school(_roles):
    call_command("seed_demo", "--allow-without-debug", stdout=StringIO())


def _admin_login(page, base_url):
    page.goto(base_url + "/login/")
    page.get_by_label("用户名或手机号").fill("admin")
    page.get_by_label("密码").fill("demo2026")
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/admin/")


def test_week_grids_and_term_calendar_with_the_demo_school(live_server, desktop, screenshot, demo_school):
    _admin_login(desktop, live_server.url)

    desktop.goto(live_server.url + "/admin/scheduling/servicegroup/")
    assert "✔" in desktop.content()  # every demo group passes the 5+2 check
    screenshot(desktop, "desktop-service-groups")

    first_group = ServiceGroup.objects.order_by("pk").first()
    desktop.locator("#result_list a", has_text="周课表").first.click()
    desktop.locator("table.week").wait_for()
    assert desktop.locator("table.week tbody th").all_inner_texts() == ["16:00–17:00", "17:00–18:00"]
    assert desktop.locator("table.week thead th").all_inner_texts() == [
        "时间",
        "星期一",
        "星期二",
        "星期三",
        "星期四",
        "星期五",
    ]
    assert first_group.name in desktop.content()
    screenshot(desktop, "desktop-week-grid-group")

    desktop.select_option("select[name=room]", label="篮球场")
    desktop.wait_for_url("**room=*")
    assert desktop.locator("table.week .slot").count() == 5  # one basketball group a day
    screenshot(desktop, "desktop-week-grid-room")

    desktop.goto(live_server.url + "/admin/scheduling/servicegroup/")
    desktop.get_by_role("link", name="2026年秋季学期 校历").click()
    desktop.locator("table.month").first.wait_for()
    assert desktop.locator("table.month").count() == 5
    assert "尚无" not in desktop.content()  # the demo entered 2027's New Year holiday
    # Mid-Autumn (Sep 25–27), National Day (Oct 1–7), New Year 2027 (Jan 1–3); ordinary weekends are not holidays.
    assert desktop.locator("td.holiday").count() == 13
    screenshot(desktop, "desktop-term-calendar")
