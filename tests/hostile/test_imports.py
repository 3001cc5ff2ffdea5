"""Malformed files for the two imports: the roster (admin → 学生 → 导入) and the bank statement
(finance → 缴费 → 导入银行流水). Wrong columns, a file above UPLOAD_MAX_BYTES, spreadsheet
formulas in cells, wrong encodings and files that are no spreadsheet at all, a sparse sheet
that unpacks to many rows, more rows than an import reads, and tampered or stale confirmation
steps. Each must be answered with a clear Chinese message, never a server error, and write
nothing. A sheet whose far-away cells are empty (formatted, or a stale dimension) imports its
rows, in bounded time and memory."""

import io
import re
import time
import tracemalloc
import zipfile
from contextlib import contextmanager

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import Workbook
from openpyxl.styles import Font

from afterschool.spreadsheets import ROSTER_MAX_ROWS, STATEMENT_MAX_ROWS
from billing.models import Payment
from enrollment.models import Student
from tests.enrollment.factories import GradeFactory
from tests.hostile.hostile import failure, row_counts, unstorable_values

pytestmark = pytest.mark.django_db

CJK = re.compile(r"[\u4e00-\u9fff]")
ROSTER_HEADERS = ["学号", "姓名", "性别", "年级", "班级", "监护人姓名", "监护人手机", "关系"]
ROSTER_ROW = ["20260101", "王小明", "男", "一年级", "1班", "王建国", "13800138001", "父亲"]
ROSTER_ROWS = [
    ROSTER_ROW,
    ["20260102", "李雨萱", "女", "一年级", "1班", "张丽娟", "13800138002", "母亲"],
    ["20260103", "陈浩", "男", "二年级", "2班", "陈刚", "13800138003", "父亲"],
]
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
FORMULAS = ['=HYPERLINK("http://evil.example/","点我")', "+1+1", "@SUM(A1)", "=cmd|' /C calc'!A0", "-2+3"]


@pytest.fixture
def client(client):
    client.raise_request_exception = False
    return client


def csv_bytes(headers, *rows, encoding="utf-8"):
    lines = [",".join(headers), *(",".join(row) for row in rows)]
    return ("\n".join(lines) + "\n").encode(encoding)


def xlsx_bytes(headers, *rows, last_cell=None, stray="x"):
    """A workbook; ``last_cell`` (row, column) holds ``stray``, or is an empty bold cell when
    ``stray`` is None (formatting that Excel keeps in the file)."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(headers)
    for row in rows:
        sheet.append(row)
    if last_cell:  # one far-away cell: the sheet unpacks to every row and column up to it
        cell = sheet.cell(row=last_cell[0], column=last_cell[1], value=stray)
        if stray is None:
            cell.font = Font(bold=True)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def with_dimension(content, dimension="A1:XFD1048576"):
    """The xlsx with its sheet's declared size (<dimension ref=...>) replaced: readers that trust
    it make a rectangle of that size."""
    source, target = io.BytesIO(content), io.BytesIO()
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as new:
        for member in old.infolist():
            data = old.read(member.filename)
            if member.filename == "xl/worksheets/sheet1.xml":
                data, count = re.subn(rb'<dimension ref="[^"]*"\s*/>', f'<dimension ref="{dimension}"/>'.encode(), data)
                assert count == 1
            new.writestr(member.filename, data)
    return target.getvalue()


def many_rows_xlsx(headers, rows):
    """A workbook of many rows, written as it is built (write-only)."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet()
    sheet.append(headers)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


@contextmanager
def bounded(seconds=5, megabytes=100):
    """The block takes less than ``seconds`` and its Python allocations peak below
    ``megabytes`` (tracemalloc, which also slows it: the time limit is the harder for it;
    ``megabytes=None`` times it untraced)."""
    if megabytes is not None:
        tracemalloc.start()
    started = time.perf_counter()
    try:
        yield
    finally:
        elapsed = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1] if megabytes is not None else 0
        tracemalloc.stop()
    assert elapsed < seconds, f"took {elapsed:.1f} s"
    if megabytes is not None:
        assert peak < megabytes * 1024 * 1024, f"peaked at {peak / 1024 / 1024:.0f} MB"


def zip_of_text():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "这不是表格")
    return buffer.getvalue()


def chinese_only(messages):
    """Every message shown is Chinese (an English one in the Chinese admin is a bug too)."""
    messages = [str(m) for m in messages]
    assert messages, "no message at all"
    english = [m for m in messages if not CJK.search(m)]
    assert not english, f"English-only messages in the Chinese admin: {english}"


# -- roster --------------------------------------------------------------------------------------


@pytest.fixture
def roster(client, admin_user, school):
    for number in range(1, 7):
        GradeFactory(school=school, number=number)
    client.force_login(admin_user)
    form = client.get(reverse("admin:enrollment_student_import")).context["form"]
    formats = {str(label).lower(): str(value) for value, label in form.fields["format"].choices if value != ""}

    def post(content, name, fmt):
        upload = SimpleUploadedFile(name, content)
        return client.post(
            reverse("admin:enrollment_student_import"),
            {"school": school.pk, "format": formats[fmt], "import_file": upload},
        )

    post.school = school
    post.formats = formats
    return post


def roster_messages(response) -> list[str]:
    """What the import page tells the admin: form errors, the file's reason, the rows' errors."""
    context = response.context
    messages = [str(e) for errors in context["form"].errors.values() for e in errors]
    result = context.get("result")
    if result is not None:
        messages += [str(error.error) for error in result.base_errors]
        messages += [str(error.error) for _line, errors in result.row_errors() for error in errors]
        for row in result.invalid_rows:
            messages += [str(m) for field_errors in row.error_dict.values() for m in field_errors]
    return messages


def _assert_refused(before, *, offered, messages, contains):
    """Refused with a Chinese message (``contains``, if given) and nothing written."""
    assert not offered, "the preview offers to go on"
    chinese_only(messages)
    if contains:
        assert any(contains in m for m in messages), messages
    assert row_counts() == before


def assert_roster_refused(response, before, *, contains=None):
    assert response.status_code == 200, f"{response.status_code}: {failure(response)}"
    offered = reverse("admin:enrollment_student_process_import") in response.content.decode()
    _assert_refused(before, offered=offered, messages=roster_messages(response), contains=contains)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
@pytest.mark.parametrize(
    "headers",
    [
        ROSTER_HEADERS[:7],  # 关系 missing
        ["Student No", "Name", "Gender", "Grade", "Class", "Guardian", "Mobile", "Relation"],
        list(reversed(ROSTER_HEADERS[1:])) + ["学 号"],
    ],
    ids=["one-missing", "english-headers", "misspelt"],
)
def test_roster_with_wrong_columns(roster, fmt, headers):
    before = row_counts()
    content = (csv_bytes if fmt == "csv" else xlsx_bytes)(headers, ROSTER_ROW[: len(headers)])
    assert_roster_refused(roster(content, f"名册.{fmt}", fmt), before, contains="缺少列")


def test_roster_above_the_upload_limit(roster):
    before = row_counts()
    head = csv_bytes(ROSTER_HEADERS, ROSTER_ROW)
    content = head + b"#" * (settings.UPLOAD_MAX_BYTES + 1 - len(head))
    assert_roster_refused(roster(content, "名册.csv", "csv"), before, contains="最多只能导入")


def _with_formula(headers, row, column, formula, fmt):
    row = list(row)
    row[headers.index(column)] = formula
    if fmt == "csv":
        return csv_bytes(headers, ['"' + cell.replace('"', '""') + '"' for cell in row])
    return xlsx_bytes(headers, row)  # openpyxl stores a text starting with "=" as a formula


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_roster_cells_with_formulas(roster, fmt):
    """A formula in a text column (学号, 姓名, 监护人姓名) is refused, never imported as a name."""
    accepted = []
    for column in ("学号", "姓名", "监护人姓名"):
        for formula in FORMULAS:
            before = row_counts()
            response = roster(_with_formula(ROSTER_HEADERS, ROSTER_ROW, column, formula, fmt), f"名册.{fmt}", fmt)
            try:
                assert_roster_refused(response, before)
            except AssertionError as exc:
                accepted.append(f"{column} = {formula!r}: {str(exc).splitlines()[0]}")
    assert not accepted, "formulas the roster import does not refuse:\n" + "\n".join(accepted)


UNREADABLE = {
    "gbk-csv": (csv_bytes(ROSTER_HEADERS, ROSTER_ROW, encoding="gbk"), "名册.csv", "csv"),
    "utf16-csv": (csv_bytes(ROSTER_HEADERS, ROSTER_ROW, encoding="utf-16"), "名册.csv", "csv"),
    "png-as-csv": (PNG, "名册.csv", "csv"),
    "png-as-xlsx": (PNG, "名册.xlsx", "xlsx"),
    "truncated-xlsx": (xlsx_bytes(ROSTER_HEADERS, ROSTER_ROW)[:2000], "名册.xlsx", "xlsx"),
    "zip-not-xlsx": (zip_of_text(), "名册.xlsx", "xlsx"),
    "csv-as-xlsx": (csv_bytes(ROSTER_HEADERS, ROSTER_ROW), "名册.xlsx", "xlsx"),
    "headers-only": (csv_bytes(ROSTER_HEADERS), "名册.csv", "csv"),
    "json-as-csv": (b'{"\xe5\xad\xa6\xe5\x8f\xb7": [1, 2', "名册.json", "csv"),
}


def test_roster_in_a_wrong_encoding_or_no_spreadsheet(roster):
    """Each file of ``UNREADABLE`` is refused with a Chinese message (all listed when some fail)."""
    problems = []
    for case, (content, name, fmt) in sorted(UNREADABLE.items()):
        before = row_counts()
        try:
            assert_roster_refused(roster(content, name, fmt), before)
        except AssertionError as exc:
            problems.append(f"{case}: {str(exc).splitlines()[0]}")
    assert not problems, "\n".join(problems)


def test_an_empty_roster_file(roster):
    before = row_counts()
    assert_roster_refused(roster(b"", "名册.csv", "csv"), before)


def test_roster_import_reads_csv_and_xlsx_only(roster):
    """The formats the roster import offers are the ones read with a row limit."""
    assert sorted(roster.formats) == ["csv", "xlsx"]


SPARSE = [((1_048_576, 8), "H1048576"), ((30_000, 8), "H30000"), ((3, 16_384), "XFD3")]
SPARSE_IDS = ["row-1048576", "row-30000", "column-XFD"]


@pytest.mark.parametrize(("last_cell", "cell"), SPARSE, ids=SPARSE_IDS)
def test_roster_sparse_sheet_that_unpacks_to_many_cells(roster, last_cell, cell):
    """A few kilobytes of xlsx whose one far cell would make every row or column up to it: the
    value beyond the rows and columns an import reads refuses the file, naming the cell, at once
    (it was over a minute and 500 MB for row 1,048,576)."""
    before = row_counts()
    content = xlsx_bytes(ROSTER_HEADERS, *ROSTER_ROWS, last_cell=last_cell)
    assert len(content) < 10_000
    with bounded():
        response = roster(content, "名册.xlsx", "xlsx")
    assert_roster_refused(response, before, contains=f"单元格 {cell}")


SPARSE_EMPTY = {
    "formatted-XFD1048576": lambda headers, rows: xlsx_bytes(headers, *rows, last_cell=(1_048_576, 16_384), stray=None),
    "blank-text-H1048576": lambda headers, rows: xlsx_bytes(headers, *rows, last_cell=(1_048_576, 8), stray="   "),
    "dimension-A1:XFD1048576": lambda headers, rows: with_dimension(xlsx_bytes(headers, *rows)),
}


@pytest.mark.parametrize("case", sorted(SPARSE_EMPTY))
def test_roster_sparse_sheet_whose_far_cells_are_empty_imports_its_rows(client, roster, case):
    """Formatting far below or a stale declared size is no data: the three rows are previewed
    and imported, and the empty rows and columns are never built."""
    content = SPARSE_EMPTY[case](ROSTER_HEADERS, ROSTER_ROWS)
    with bounded():
        preview = roster(content, "名册.xlsx", "xlsx")
    assert preview.status_code == 200, failure(preview)
    assert preview.context.get("confirm_form") is not None, roster_messages(preview)
    response = client.post(reverse("admin:enrollment_student_process_import"), preview.context["confirm_form"].initial)
    assert response.status_code == 302, failure(response)
    assert sorted(Student.objects.values_list("student_no", flat=True)) == [row[0] for row in ROSTER_ROWS]


def _roster_rows(count):
    for n in range(count):
        yield [f"2026{n:05d}", "王小明", "男", "一年级", "1班", f"家长{n}", f"138{n:08d}", "父亲"]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_roster_with_more_rows_than_an_import_reads(roster, fmt):
    """ROSTER_MAX_ROWS + 1 students: refused before the preview, with the first row too many."""
    before = row_counts()
    rows = list(_roster_rows(ROSTER_MAX_ROWS + 1))
    content = csv_bytes(ROSTER_HEADERS, *rows) if fmt == "csv" else many_rows_xlsx(ROSTER_HEADERS, rows)
    with bounded(seconds=30):
        response = roster(content, f"名册.{fmt}", fmt)
    assert_roster_refused(response, before, contains=f"第 {ROSTER_MAX_ROWS + 2} 行（单元格 A{ROSTER_MAX_ROWS + 2}）")
    assert any(f"最多只读取 {ROSTER_MAX_ROWS} 行" in m for m in roster_messages(response))


@pytest.mark.parametrize(
    "tamper",
    [
        {"import_file_name": "../../../../etc/passwd"},
        {"import_file_name": "no-such-file.csv"},
        {"format": "99"},
        {"school": "987654"},
        {"school": "长" * 100},
    ],
    ids=["path-traversal", "missing-file", "bad-format", "no-such-school", "junk-school"],
)
def test_roster_confirmation_that_was_tampered_with(client, roster, tamper):
    preview = roster(csv_bytes(ROSTER_HEADERS, ROSTER_ROW), "名册.csv", "csv")
    confirm = {**preview.context["confirm_form"].initial, **tamper}
    before = row_counts()
    response = client.post(reverse("admin:enrollment_student_process_import"), confirm)
    assert response.status_code < 500, failure(response)
    assert row_counts() == before


def test_roster_confirmed_twice(client, roster):
    """A double click on 确认导入 (or the browser resending the form): the first one imports,
    the second must not crash on the upload the first one removed."""
    preview = roster(csv_bytes(ROSTER_HEADERS, ROSTER_ROW), "名册.csv", "csv")
    confirm = preview.context["confirm_form"].initial
    first = client.post(reverse("admin:enrollment_student_process_import"), confirm)
    assert first.status_code == 302
    after_first = row_counts()
    second = client.post(reverse("admin:enrollment_student_process_import"), confirm)
    assert second.status_code < 500, failure(second)
    assert row_counts() == after_first


def test_roster_confirmed_after_its_upload_was_cleaned_away(client, roster):
    """The nightly task removes previews never confirmed; a late click must not crash."""
    from django.core.files.storage import storages

    from enrollment.tasks import remove_abandoned_imports
    from tests.clock import stamp_with_test_clock

    preview = roster(csv_bytes(ROSTER_HEADERS, ROSTER_ROW), "名册.csv", "csv")
    stamp_with_test_clock(storages["import_export"], "django-import-export")
    assert remove_abandoned_imports(max_age_hours=-1) >= 1
    before = row_counts()
    response = client.post(reverse("admin:enrollment_student_process_import"), preview.context["confirm_form"].initial)
    assert response.status_code < 500, failure(response)
    assert row_counts() == before


# -- bank statement ---------------------------------------------------------------------------

STATEMENT_HEADERS = ["学号", "金额", "流水号"]


@pytest.fixture
def statement(client, finance, open_term, student_a):
    client.force_login(finance)
    url = reverse("admin:billing_statement_import", args=[open_term.pk])

    def post(content, name="流水.csv", **extra):
        return client.post(url, {"statement": SimpleUploadedFile(name, content)}, **extra)

    post.url, post.student, post.client = url, student_a, client
    return post


def statement_messages(response) -> list[str]:
    context = response.context
    return [m for m in [context["problem"], *(row.error for row in context["rows"])] if m]


def assert_statement_refused(response, before, *, contains=None):
    assert response.status_code == 200, f"{response.status_code}: {failure(response)}"
    offered = response.context["ready"]
    _assert_refused(before, offered=offered, messages=statement_messages(response), contains=contains)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
@pytest.mark.parametrize(
    "headers",
    [["学号", "金额"], ["Student No", "Amount", "Reference"], ["学号", "金 额", "流水号"]],
    ids=["one-missing", "english-headers", "misspelt"],
)
def test_statement_with_wrong_columns(statement, fmt, headers):
    before = row_counts()
    row = [statement.student.student_no, "120.00", "B001"][: len(headers)]
    content = (csv_bytes if fmt == "csv" else xlsx_bytes)(headers, row)
    assert_statement_refused(statement(content, f"流水.{fmt}"), before, contains="缺少列")


def test_statement_above_the_upload_limit(statement):
    before = row_counts()
    head = csv_bytes(STATEMENT_HEADERS, [statement.student.student_no, "120.00", "B001"])
    content = head + b"#" * (settings.UPLOAD_MAX_BYTES + 1 - len(head))
    assert_statement_refused(statement(content), before, contains="文件过大")


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_statement_cells_with_formulas(statement, fmt):
    accepted = []
    for column in STATEMENT_HEADERS:
        for formula in FORMULAS:
            row = [statement.student.student_no, "120.00", "B001"]
            before = row_counts()
            response = statement(_with_formula(STATEMENT_HEADERS, row, column, formula, fmt), f"流水.{fmt}")
            try:
                assert_statement_refused(response, before)
            except AssertionError as exc:
                accepted.append(f"{column} = {formula!r}: {str(exc).splitlines()[0]}")
    assert not accepted, "formulas the statement import does not refuse:\n" + "\n".join(accepted)


STATEMENT_UNREADABLE = {
    "gbk-csv": (csv_bytes(STATEMENT_HEADERS, ["1", "1", "B1"], encoding="gbk"), "流水.csv"),
    "utf16-csv": (csv_bytes(STATEMENT_HEADERS, ["1", "1", "B1"], encoding="utf-16"), "流水.csv"),
    "png-as-csv": (PNG, "流水.csv"),
    "png-as-xlsx": (PNG, "流水.xlsx"),
    "truncated-xlsx": (xlsx_bytes(STATEMENT_HEADERS, ["1", "1", "B1"])[:2000], "流水.xlsx"),
    "zip-not-xlsx": (zip_of_text(), "流水.xlsx"),
    "empty": (b"", "流水.csv"),
    "headers-only": (csv_bytes(STATEMENT_HEADERS), "流水.csv"),
    "one-field-over-the-csv-limit": (csv_bytes(STATEMENT_HEADERS, ["1", "1", "B" * 200_000]), "流水.csv"),
}


@pytest.mark.parametrize("case", sorted(STATEMENT_UNREADABLE))
def test_statement_in_a_wrong_encoding_or_no_spreadsheet(statement, case):
    content, name = STATEMENT_UNREADABLE[case]
    before = row_counts()
    assert_statement_refused(statement(content, name), before)


STATEMENT_SPARSE = [((1_048_576, 3), "C1048576"), ((100_000, 3), "C100000"), ((3, 16_384), "XFD3")]


@pytest.mark.parametrize(("last_cell", "cell"), STATEMENT_SPARSE, ids=SPARSE_IDS[:1] + ["row-100000", "column-XFD"])
def test_statement_sparse_sheet_that_unpacks_to_many_cells(statement, last_cell, cell):
    """(Row 1,048,576 took 10 s and 400 MB.)"""
    before = row_counts()
    content = xlsx_bytes(STATEMENT_HEADERS, [statement.student.student_no, "1", "B1"], last_cell=last_cell)
    assert len(content) < 10_000
    with bounded():
        response = statement(content, "流水.xlsx")
    assert_statement_refused(response, before, contains=f"单元格 {cell}")


@pytest.mark.parametrize("case", sorted(SPARSE_EMPTY))
def test_statement_sparse_sheet_whose_far_cells_are_empty_posts_its_rows(statement, case):
    student_no = statement.student.student_no
    rows = [[student_no, "120.00", f"B00{n}"] for n in (1, 2, 3)]
    with bounded():
        preview = statement(SPARSE_EMPTY[case](STATEMENT_HEADERS, rows), "流水.xlsx")
    assert preview.context["ready"], statement_messages(preview)
    assert [row.reference for row in preview.context["rows"]] == ["B001", "B002", "B003"]
    confirm = statement.client.post(statement.url, {"token": preview.context["token"]})
    assert confirm.status_code == 302, failure(confirm)
    assert Payment.objects.count() == 3


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_statement_with_more_rows_than_an_import_reads(statement, fmt):
    before = row_counts()
    rows = [[statement.student.student_no, "1.00", f"B{n:06d}"] for n in range(STATEMENT_MAX_ROWS + 1)]
    content = csv_bytes(STATEMENT_HEADERS, *rows) if fmt == "csv" else many_rows_xlsx(STATEMENT_HEADERS, rows)
    with bounded(seconds=30):
        response = statement(content, f"流水.{fmt}")
    assert_statement_refused(response, before, contains=f"第 {STATEMENT_MAX_ROWS + 2} 行")


@pytest.mark.parametrize(
    ("amount", "reference"),
    [
        ("123456789012.00", "B001"),  # 12 digits before the point: the column holds 10
        ("1,000,000,000,000", "B001"),
        ("120.00", "B" * 51),  # the column holds 50 characters
        ("120.00", "B\x00001"),
        ("120.00", " "),
        ("-0.00", "B001"),
        ("0.004", "B001"),
        ("１２０", "B001"),
        ("1e3", "B001"),
    ],
    ids=[
        "12-digits",
        "trillion",
        "reference-51",
        "reference-nul",
        "reference-blank",
        "minus-zero",
        "rounds-to-0",
        "fullwidth",
        "exponent",
    ],
)
def test_statement_rows_that_preview_must_refuse_or_post_cleanly(statement, amount, reference):
    """A row either gets a Chinese error in the preview, or posting it works: never a 500 at
    the confirmation after a preview that said every row is fine."""
    student_no = statement.student.student_no
    content = f'学号,金额,流水号\n{student_no},"{amount}",{reference}\n'.encode()
    before = row_counts()
    preview = statement(content)
    assert preview.status_code == 200, failure(preview)
    if not preview.context["ready"]:
        assert_statement_refused(preview, before)
        return
    confirm = statement.client.post(statement.url, {"token": preview.context["token"]})
    assert confirm.status_code < 500, failure(confirm)
    assert not unstorable_values()


def test_a_statement_under_the_upload_limit_can_be_confirmed(statement):
    """The limit is UPLOAD_MAX_BYTES (10 MB); the preview carries the whole file in the form it
    posts back (hex, signed), so the confirmation must still fit what Django accepts."""
    student_no = statement.student.student_no
    note = "备" * 30_000  # a bank's remark column: 90 KB of UTF-8 a row, under the CSV field limit
    rows = [f"{student_no},1.00,B{n:04d},{note}" for n in range(45)]
    content = ("学号,金额,流水号,备注\n" + "\n".join(rows) + "\n").encode()
    assert 4_000_000 < len(content) < settings.UPLOAD_MAX_BYTES
    preview = statement(content)
    assert preview.context["ready"], statement_messages(preview)
    confirm = statement.client.post(statement.url, {"token": preview.context["token"]})
    assert confirm.status_code == 302, confirm.content[:200]
    assert Payment.objects.count() == 45
