import re
from datetime import timedelta
from io import BytesIO
from pathlib import Path

import pytest
import tablib
from django.urls import reverse
from openpyxl import Workbook, load_workbook

from enrollment.models import Guardian, Homeroom, Student, StudentGuardian
from enrollment.resources import RosterResource
from tests.enrollment.factories import GradeFactory, SchoolFactory, StudentFactory

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "roster_sample.xlsx"
HEADERS = ["学号", "姓名", "性别", "年级", "班级", "监护人姓名", "监护人手机", "关系"]
GOOD = ["20260101", "王小明", "男", "一年级", "1班", "王建国", "13800138001", "父亲"]


@pytest.fixture
def primary_school(db):
    school = SchoolFactory(name="测试小学")
    for number in range(1, 7):
        GradeFactory(school=school, number=number)
    return school


def dataset(*rows, headers=HEADERS):
    data = tablib.Dataset(headers=headers)
    for row in rows:
        data.append(row)
    return data


def sample_dataset():
    with SAMPLE.open("rb") as fh:
        return tablib.Dataset().load(fh.read(), format="xlsx")


def counts():
    return (
        Student.objects.count(),
        Guardian.objects.count(),
        StudentGuardian.objects.count(),
        Homeroom.objects.count(),
    )


def test_sample_roster_creates_students_guardians_and_classes(primary_school):
    result = RosterResource(school=primary_school).import_data(sample_dataset())

    assert not result.has_errors() and not result.has_validation_errors()
    # 8 students; 刘海涛 is the guardian of two siblings; classes 1-1, 1-2, 2-1, 3-3.
    assert counts() == (8, 7, 8, 4)
    siblings = Guardian.objects.get(mobile="13800138004")
    assert sorted(siblings.students.values_list("name", flat=True)) == ["刘梓涵", "刘梓轩"]
    chen = Student.objects.get(student_no="20260103")
    assert (chen.homeroom.grade.number, chen.homeroom.number, chen.gender) == (1, 1, "M")
    assert Guardian.objects.get(mobile="13800138002").name == "张丽娟"  # "138 0013 8002" normalised
    zhao = StudentGuardian.objects.get(student__student_no="20250101")
    assert (zhao.relation, zhao.is_primary) == (StudentGuardian.Relation.GRANDMOTHER, True)


def test_importing_the_sample_twice_creates_no_duplicates(primary_school):
    RosterResource(school=primary_school).import_data(sample_dataset())
    before = counts()

    second = RosterResource(school=primary_school).import_data(sample_dataset())

    assert counts() == before
    assert {row.import_type for row in second.rows} == {"skip"}


def test_reimport_moves_a_student_to_another_class(primary_school):
    RosterResource(school=primary_school).import_data(dataset(GOOD))

    moved = ["20260101", "王小明", "男", "一年级", "2班", "王建国", "13800138001", "父亲"]
    RosterResource(school=primary_school).import_data(dataset(moved))

    student = Student.objects.get()
    assert student.homeroom.number == 2
    assert StudentGuardian.objects.count() == 1


def test_a_known_mobile_under_another_name_is_refused_not_relinked(primary_school):
    """A mistyped number must not hand a child to another family."""
    RosterResource(school=primary_school).import_data(dataset(GOOD))
    stranger = ["20260102", "张小花", "女", "一年级", "1班", "张三", "13800138001", "父亲"]

    result = RosterResource(school=primary_school).import_data(dataset(stranger))

    errors = result.invalid_rows[0].error_dict
    assert "手机号 13800138001 已登记为王建国（系统中已有），不是张三" in errors["监护人手机"][0]
    assert Guardian.objects.get().name == "王建国"
    assert list(Guardian.objects.get().students.values_list("name", flat=True)) == ["王小明"]


def test_a_second_row_for_a_student_adds_the_second_guardian(primary_school):
    mother = ["20260101", "王小明", "男", "一年级", "1班", "李丽", "13800138002", "母亲"]

    result = RosterResource(school=primary_school).import_data(dataset(GOOD, mother))

    assert not result.has_validation_errors()
    links = StudentGuardian.objects.order_by("-is_primary")
    assert [(link.guardian.name, link.is_primary) for link in links] == [("王建国", True), ("李丽", False)]


def test_reimport_brings_back_a_student_who_had_left(primary_school):
    RosterResource(school=primary_school).import_data(dataset(GOOD))
    Student.objects.update(active=False)

    result = RosterResource(school=primary_school).import_data(dataset(GOOD))

    assert Student.objects.get().active is True
    assert [row.import_type for row in result.rows] == ["update"]


@pytest.mark.parametrize(
    ("bad_row", "column", "message"),
    [
        (["20260109", "错年级", "女", "十年级", "1班", "某某", "13800138009", "母亲"], "年级", "未知年级“十年级”"),
        (
            ["20260109", "错年级", "女", "七年级", "1班", "某某", "13800138009", "母亲"],
            "年级",
            "本校年级为 1、2、3、4、5、6",
        ),
        (["20260109", "错手机", "女", "一年级", "1班", "某某", "1380013800", "母亲"], "监护人手机", "不是11位手机号码"),
        (
            ["20260101", "重复学号", "女", "一年级", "1班", "某某", "13800138009", "母亲"],
            "学号",
            "已属于本文件数据第 1 行（表格第 2 行）的王小明",
        ),
        (GOOD, "监护人手机", "这位监护人已在数据第 1 行（表格第 2 行）列出"),
        (["20260109", "错班级", "女", "一年级", "302班", "某某", "13800138009", "母亲"], "班级", "请填写班号（1–30）"),
        (
            ["20260109", "错班级", "女", "一年级", "三年级2班", "某某", "13800138009", "母亲"],
            "班级",
            "与年级“一年级”不符",
        ),
        (
            ["20260109", "错监护人", "女", "一年级", "1班", "王建华", "13800138001", "父亲"],
            "监护人手机",
            "已登记为王建国（本文件数据第 1 行（表格第 2 行））",
        ),
        (["20260109", "错性别", "未知", "一年级", "1班", "某某", "13800138009", "母亲"], "性别", "请填写“男”或“女”"),
        (["20260109", "", "女", "一年级", "1班", "某某", "13800138009", "母亲"], "姓名", "姓名为空"),
    ],
)
def test_a_roster_with_one_bad_row_writes_nothing_and_names_row_and_problem(primary_school, bad_row, column, message):
    good_two = ["20260102", "李雨萱", "女", "一年级", "1班", "张丽娟", "13800138002", "母亲"]
    data = dataset(GOOD, bad_row, good_two)

    result = RosterResource(school=primary_school).import_data(data, dry_run=False)

    assert counts() == (0, 0, 0, 0)
    invalid = result.invalid_rows
    assert len(invalid) == 1
    assert invalid[0].number == 2  # the bad row is the second data row
    errors = invalid[0].error_dict
    assert column in errors
    assert any(message in str(text) for text in errors[column]), errors


def test_missing_columns_are_named_and_nothing_is_written(primary_school):
    data = dataset(GOOD[:7], headers=HEADERS[:7])

    result = RosterResource(school=primary_school).import_data(data)

    assert result.has_errors()
    assert "关系" in str(result.base_errors[0].error)
    assert {row.import_type for row in result.rows} == {"skip"}  # one reason, not an error per row
    assert counts() == (0, 0, 0, 0)


def test_students_of_another_school_with_the_same_number_are_left_alone(primary_school):
    other = StudentFactory(student_no="20260101", homeroom__grade__school=SchoolFactory(name="别的学校"))

    RosterResource(school=primary_school).import_data(dataset(GOOD))

    other.refresh_from_db()
    assert other.school.name == "别的学校"
    assert Student.objects.filter(student_no="20260101").count() == 2


# -- through the admin ------------------------------------------------------------------


def _xlsx(*rows):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(HEADERS)
    for row in rows:
        sheet.append(row)
    buffer = BytesIO()
    workbook.save(buffer)
    buffer.seek(0)
    buffer.name = "roster.xlsx"
    return buffer


def _xlsx_format_index(client):
    response = client.get(reverse("admin:enrollment_student_import"))
    form = response.context["form"]
    return next(str(value) for value, label in form.fields["format"].choices if str(label).lower() == "xlsx")


def test_admin_preview_lists_row_errors_in_chinese_and_offers_no_confirm(client, admin_user, primary_school):
    client.force_login(admin_user)
    upload = _xlsx(GOOD, ["20260109", "错年级", "女", "十年级", "1班", "某某", "13800138009", "母亲"])

    response = client.post(
        reverse("admin:enrollment_student_import"),
        {"school": primary_school.pk, "format": _xlsx_format_index(client), "import_file": upload},
    )

    html = response.content.decode()
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
    assert response.status_code == 200
    # The error table: row number 2, one error, in column 年级, with the Chinese message.
    assert re.search(r"行 错误 .* 2 1 年级 未知年级“十年级”：本校年级为 1、2、3、4、5、6。", text), text[:2000]
    assert reverse("admin:enrollment_student_process_import") not in html
    assert counts() == (0, 0, 0, 0)


def test_admin_import_then_confirm_writes_the_roster(client, admin_user, primary_school):
    client.force_login(admin_user)
    response = client.post(
        reverse("admin:enrollment_student_import"),
        {"school": primary_school.pk, "format": _xlsx_format_index(client), "import_file": _xlsx(GOOD)},
    )
    assert counts() == (0, 0, 0, 0)  # the preview is a dry run
    confirm = response.context["confirm_form"]

    client.post(reverse("admin:enrollment_student_process_import"), {**confirm.initial})

    assert counts() == (1, 1, 1, 1)


def test_blank_template_has_the_roster_columns(client, admin_user):
    client.force_login(admin_user)

    response = client.get(reverse("admin:enrollment_student_roster_template"))

    sheet = load_workbook(BytesIO(response.content)).active
    assert [cell.value for cell in sheet[1]] == HEADERS


def test_finance_may_export_but_not_import(client, finance, student_a, guardian):
    client.force_login(finance)

    assert client.get(reverse("admin:enrollment_student_import")).status_code == 403
    assert client.get(reverse("admin:enrollment_student_roster_template")).status_code == 403
    form = client.get(reverse("admin:enrollment_student_export")).context["form"]
    xlsx = next(str(value) for value, label in form.fields["format"].choices if str(label).lower() == "xlsx")
    fields = {name: "on" for name in form.fields if name.startswith("rosterresource_")}

    response = client.post(reverse("admin:enrollment_student_export"), {"format": xlsx, **fields})

    assert response["Content-Disposition"].startswith("attachment")
    rows = list(load_workbook(BytesIO(response.content)).active.values)
    assert rows[0] == tuple(HEADERS)
    assert rows[1][:2] == (student_a.student_no, "王小明") and rows[1][6] == "139****2222"  # finance: masked


def test_export_writes_a_roster_that_imports_unchanged(primary_school):
    RosterResource(school=primary_school).import_data(sample_dataset())

    exported = RosterResource(school=primary_school).export()
    again = RosterResource(school=primary_school).import_data(tablib.Dataset().load(exported.xlsx, format="xlsx"))

    assert exported.headers == HEADERS
    assert {row.import_type for row in again.rows} == {"skip"}


@pytest.mark.parametrize("students", [10, 300])
def test_export_query_count_does_not_grow(primary_school, students, django_assert_max_num_queries):
    homeroom = Homeroom.objects.create(grade=primary_school.grades.get(number=1), number=1)
    for index in range(students):
        link_student = StudentFactory(homeroom=homeroom, student_no=f"S{index:05d}")
        Guardian.objects.create(name="家长", mobile=f"139{index:08d}").student_links.create(
            student=link_student, relation="mother", is_primary=True
        )

    with django_assert_max_num_queries(3):
        data = RosterResource(school=primary_school).export()

    assert len(data) == students


def test_an_oversized_roster_file_is_refused_with_a_message(client, admin_user, primary_school, settings):
    settings.UPLOAD_MAX_BYTES = 1000
    client.force_login(admin_user)
    upload = _xlsx(*([GOOD] * 50))

    response = client.post(
        reverse("admin:enrollment_student_import"),
        {"school": primary_school.pk, "format": _xlsx_format_index(client), "import_file": upload},
    )

    assert "最多只能导入" in response.content.decode()
    assert counts() == (0, 0, 0, 0)


def test_an_abandoned_import_preview_is_removed_after_a_day(client, admin_user, primary_school):
    import time_machine
    from django.core.files.storage import storages
    from django.utils import timezone

    from enrollment.tasks import remove_abandoned_imports
    from tests.clock import stamp_with_test_clock

    storage = storages["import_export"]
    folder = "django-import-export"
    before = set(storage.listdir(folder)[1]) if storage.exists(folder) else set()
    client.force_login(admin_user)
    client.post(
        reverse("admin:enrollment_student_import"),
        {"school": primary_school.pk, "format": _xlsx_format_index(client), "import_file": _xlsx(GOOD)},
    )  # previewed, never confirmed
    [kept] = set(storage.listdir(folder)[1]) - before  # in the application's storage, not the shared /tmp
    stamp_with_test_clock(storage, folder)

    remove_abandoned_imports()
    assert kept in storage.listdir(folder)[1]  # a fresh preview stays
    with time_machine.travel(timezone.now() + timedelta(hours=25)):
        assert remove_abandoned_imports() >= 1
    assert storage.listdir(folder)[1] == []
