"""Personal data in the admin site: the school admin sees families' numbers, ID fragments and
health notes in full; finance (names and amounts) sees them masked — lists, pages and exports."""

from datetime import date
from io import BytesIO

import pytest
from django.urls import reverse
from django.utils import translation
from openpyxl import load_workbook

from enrollment.models import Application, AuthorisedPerson
from tests.enrollment.factories import TermFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def chinese():
    with translation.override("zh-hans"):
        yield


@pytest.fixture
def application(school, student_a, guardian):
    term = TermFactory(school=school, start=date(2026, 9, 1), end=date(2027, 1, 22))
    application = Application.objects.create(
        term=term, student=student_a, guardian=guardian.guardian, status=Application.Status.PLACED,
        emergency_name="外婆", emergency_mobile="13700000000", health_notes="哮喘，随身带喷雾", allergies="花生",
    )  # fmt: skip
    AuthorisedPerson.objects.create(
        application=application, name="李四", relation="舅舅", mobile="13755556666", id_last4="123X"
    )
    return application


def _page(client, user, url):
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def test_finance_sees_a_guardians_mobile_masked_in_the_list_and_on_the_page(client, finance, admin_user, guardian):
    record = guardian.guardian  # 王建国 13911112222
    for url in (
        reverse("admin:enrollment_guardian_changelist"),
        reverse("admin:enrollment_guardian_change", args=[record.pk]),
    ):
        html = _page(client, finance, url)
        assert "139****2222" in html and "13911112222" not in html
        assert "13911112222" in _page(client, admin_user, url)


def test_finance_sees_emergency_contacts_authorised_persons_and_health_notes_masked(
    client, finance, admin_user, application
):
    url = reverse("admin:enrollment_application_change", args=[application.pk])

    html = _page(client, finance, url)
    for secret in ("13700000000", "13755556666", "123X", "哮喘", "花生"):
        assert secret not in html, secret
    assert "137****0000" in html and "仅向学校管理员显示" in html
    assert "李四" not in html  # the persons allowed to collect the child: the admin role's only

    html = _page(client, admin_user, url)
    for secret in ("13700000000", "13755556666", "123X", "哮喘", "花生"):
        assert secret in html, secret


@pytest.mark.parametrize("masked", [True, False])
def test_the_roster_export_masks_the_mobiles_for_finance_only(client, finance, admin_user, guardian, masked):
    client.force_login(finance if masked else admin_user)
    url = reverse("admin:enrollment_student_export")
    form = client.get(url).context["form"]
    xlsx = next(str(value) for value, label in form.fields["format"].choices if str(label).lower() == "xlsx")
    fields = {name: "on" for name in form.fields if name.startswith("rosterresource_")}

    rows = list(load_workbook(BytesIO(client.post(url, {"format": xlsx, **fields}).content)).active.values)

    mobiles = [value for row in rows[1:] for value in row if value and str(value).startswith("139")]
    assert mobiles == (["139****2222"] if masked else ["13911112222"])
