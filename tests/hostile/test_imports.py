"""Malformed files for the two imports: the roster (admin → 学生 → 导入) and the bank statement
(finance → 缴费 → 导入银行流水). Wrong columns, a file above UPLOAD_MAX_BYTES, spreadsheet
formulas in cells, wrong encodings and files that are no spreadsheet at all, a sparse sheet
that unpacks to many rows, and tampered or stale confirmation steps. Each must be answered
with a clear Chinese message, never a server error, and write nothing."""

import io
import re
import zipfile

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import Workbook

from billing.models import Payment
from tests.enrollment.factories import GradeFactory
from tests.hostile.hostile import failure, row_counts, unstorable_values

pytestmark = pytest.mark.django_db

CJK = re.compile(r"[\u4e00-\u9fff]")
ROSTER_HEADERS = ["学号", "姓名", "性别", "年级", "班级", "监护人姓名", "监护人手机", "关系"]
ROSTER_ROW = ["20260101", "王小明", "男", "一年级", "1班", "王建国", "13800138001", "父亲"]
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
FORMULAS = ['=HYPERLINK("http://evil.example/","点我")', "+1+1", "@SUM(A1)", "=cmd|' /C calc'!A0", "-2+3"]


@pytest.fixture
def client(client):
    client.raise_request_exception = False
    return client


def csv_bytes(headers, *rows, encoding="utf-8"):
    lines = [",".join(headers), *(",".join(row) for row in rows)]
    return ("\n".join(lines) + "\n").encode(encoding)


def xlsx_bytes(headers, *rows, last_cell=None):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(headers)
    for row in rows:
        sheet.append(row)
    if last_cell:  # one far-away cell: the sheet unpacks to every row and column up to it
        sheet.cell(row=last_cell[0], column=last_cell[1], value="x")
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


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


def assert_roster_refused(response, before, *, contains=None):
    assert response.status_code == 200, f"{response.status_code}: {failure(response)}"
    offered = reverse("admin:enrollment_student_process_import") in response.content.decode()
    assert not offered, "the preview offers to confirm the import"
    messages = roster_messages(response)
    chinese_only(messages)
    if contains:
        assert any(contains in m for m in messages), messages
    assert row_counts() == before


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
    "bad-json": (b'{"\xe5\xad\xa6\xe5\x8f\xb7": [1, 2', "名册.json", "json"),
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


@pytest.mark.parametrize("last_cell", [(30_000, 8), (3, 16_384)], ids=["30000-rows", "16384-columns"])
def test_roster_sparse_sheet_that_unpacks_to_many_cells(roster, last_cell):
    """A few kilobytes of xlsx whose one far cell makes every row or column up to it."""
    before = row_counts()
    content = xlsx_bytes(ROSTER_HEADERS, ROSTER_ROW, last_cell=last_cell)
    assert len(content) < 10_000
    response = roster(content, "名册.xlsx", "xlsx")
    assert_roster_refused(response, before)


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
    from enrollment.tasks import remove_abandoned_imports

    preview = roster(csv_bytes(ROSTER_HEADERS, ROSTER_ROW), "名册.csv", "csv")
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
    assert not response.context["ready"], "the preview offers to post the transfers"
    messages = statement_messages(response)
    chinese_only(messages)
    if contains:
        assert any(contains in m for m in messages), messages
    assert row_counts() == before


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


@pytest.mark.parametrize("last_cell", [(100_000, 3), (3, 16_384)], ids=["100000-rows", "16384-columns"])
def test_statement_sparse_sheet_that_unpacks_to_many_cells(statement, last_cell):
    before = row_counts()
    content = xlsx_bytes(STATEMENT_HEADERS, [statement.student.student_no, "1", "B1"], last_cell=last_cell)
    assert len(content) < 10_000
    assert_statement_refused(statement(content, "流水.xlsx"), before)


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
