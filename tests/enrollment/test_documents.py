"""Generated PDFs: every kind renders Chinese with an embedded CJK font from frozen data; tasks are
safe to run twice and after a worker died; failures are recorded; staff follow and download."""

import subprocess
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from billing.models import BillingRun, ChargeLine, FeeStandard, LedgerEntry
from billing.services import payment_post
from enrollment import documents
from enrollment.documents import document_batch_request, document_render, document_request, documents_requeue
from enrollment.models import AgreementSignature, AgreementText, Document, DocumentBatch, ParentNotice
from safety.models import Incident
from tests.enrollment.factories import SchoolFactory, StudentFactory, TermFactory

pytestmark = pytest.mark.django_db
D = Decimal
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture
def term(school):
    return TermFactory(school=school, name="2026年秋季学期", start=date(2026, 9, 1), end=date(2027, 1, 22))


@pytest.fixture
def billed(term, student_a, finance):
    """王小明-style data: two monthly charges, one payment."""
    standard = FeeStandard.objects.create(
        term=term, item="after_school", mode="monthly_half", amount=D("120.00"), approval="桂价费〔2023〕8号"
    )
    run = BillingRun.objects.create(term=term, month=date(2026, 9, 1))
    for month, days, workdays, amount in ((9, 22, 22, "120.00"), (10, 8, 18, "60.00")):
        ChargeLine.objects.create(
            term=term, student=student_a, standard=standard, month=date(2026, month, 1), kind="charge",
            fee=D("120.00"), workdays=workdays, participation_days=days, waiver_percent=D("0"),
            amount=D(amount), run=run,
        )  # fmt: skip
    payment_post(term=term, student=student_a, amount=D("100.00"), method="cash", received_by=finance)
    LedgerEntry.objects.create(
        school=term.school, date=date(2026, 10, 31), kind="income", category="fees", amount=D("180.00"),
        voucher_no="FEE-202610-1", description="服务性收费",
    )  # fmt: skip
    LedgerEntry.objects.create(
        school=term.school, date=date(2026, 10, 20), kind="expense", category="equipment", amount=D("45.50"),
        voucher_no="PZ-2026-031", description="美术耗材",
    )  # fmt: skip
    return student_a


def _pdf_text_and_fonts(document, tmp_path, name):
    path = tmp_path / f"{name}.pdf"
    with document.file.open("rb") as handle:
        path.write_bytes(handle.read())
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
    # Page 1 as an image, to look at (test-artifacts/pdf-<kind>-1.png).
    ARTIFACTS.mkdir(exist_ok=True)
    subprocess.run(["pdftoppm", "-png", "-r", "70", "-f", "1", "-l", "1", "-singlefile", str(path),
                    str(ARTIFACTS / f"pdf-{name}")], check=True)  # fmt: skip
    return " ".join(text.split()), fonts


def _embedded_cjk(fonts: str) -> bool:
    rows = [line.split() for line in fonts.splitlines()[2:]]
    return bool(rows) and all("WenQuanYi" in row[0] and "yes" in row[-5:-2] for row in rows)


def _request(kind, school, subject, params=None, title="文档"):
    document = document_request(kind=kind, school=school, title=title, subject=subject, params=params or {})
    document.refresh_from_db()
    return document


def test_a_fee_notice_shows_the_childs_name_and_amounts_in_an_embedded_chinese_font(
    term, billed, django_capture_on_commit_callbacks, tmp_path
):
    with django_capture_on_commit_callbacks(execute=True):
        document = document_request(
            kind="fee_notice", school=term.school, title="缴费通知单", subject=billed, params={"term": term.pk}
        )
    document.refresh_from_db()

    assert (document.status, document.pages, document.error) == ("done", 1, "")
    text, fonts = _pdf_text_and_fonts(document, tmp_path, "fee_notice")
    assert billed.name in text and "课后服务缴费通知单" in text
    assert "120.00" in text and "60.00" in text and "尚需缴费：80.00 元" in text
    assert "本月 18 个工作日中参加 8 天" in text and "收费单位为学校" in text
    assert _embedded_cjk(fonts), fonts
    assert len(document.checksum) == 64 and document.data["student"]["name"] == billed.name


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("notice", ["致家长的一封信", "每月 120.00 元", "桂价费〔2023〕8号"]),
        ("agreement", ["学生接送安全协议", "{student}", "王大明", "SHA-256"]),
        ("class_fee_notice", ["{student}", "80.00"]),
        ("settlement", ["结算单", "{student}", "尚需补缴", "80.00"]),
        ("disclosure", ["2026年10月", "180.00", "45.50", "设备与耗材", "134.50"]),
        ("subsidy", ["2026年10月", "本月没有上课、值班或考核记录"]),
        ("incident", ["突发事件报告", "{student}", "擦伤", "已联系家长"]),
    ],
)
def test_every_kind_renders_chinese_with_an_embedded_font(
    kind, expected, term, billed, guardian, admin_user, django_capture_on_commit_callbacks, tmp_path
):
    school = term.school
    if kind == "notice":
        subject = ParentNotice.objects.create(term=term, title="致家长的一封信", body="各位家长：……", published=True)
        subject, params = term, {}
    elif kind == "agreement":
        text = AgreementText.objects.create(term=term, version=1, title="学生接送安全协议", body="一、……")
        subject = AgreementSignature.objects.create(
            term=term, text=text, student=billed, guardian=guardian.guardian, signed_name="王大明",
            text_sha256=text.sha256(),
        )  # fmt: skip
        params = {}
    elif kind == "class_fee_notice":
        subject, params = billed.homeroom, {"term": term.pk}
    elif kind == "settlement":
        subject, params = billed, {"term": term.pk}
    elif kind in ("disclosure", "subsidy"):
        subject, params = school, {"month": "2026-10"}
    else:
        subject = Incident.objects.create(
            school=school, kind="injury", severity=1, occurred_at=timezone.now(), description="操场擦伤膝盖",
            actions="校医消毒包扎，已联系家长", reported_by=admin_user, guardians_notified_at=timezone.now(),
        )  # fmt: skip
        subject.students.add(billed)
        params = {}
    with django_capture_on_commit_callbacks(execute=True):
        document = document_request(kind=kind, school=school, title=kind, subject=subject, params=params)
    document.refresh_from_db()

    assert document.status == "done", document.error
    text, fonts = _pdf_text_and_fonts(document, tmp_path, kind)
    for snippet in expected:
        assert snippet.format(student=billed.name) in text, (snippet, text[:500])
    assert _embedded_cjk(fonts), fonts


def test_the_same_frozen_data_gives_the_same_bytes_and_later_changes_do_not_leak_in(
    term, billed, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        first = document_request(kind="settlement", school=term.school, title="结算单", subject=billed,
                                 params={"term": term.pk})  # fmt: skip
    first.refresh_from_db()
    billed.name = "改了名字"
    billed.save()
    copy = Document.objects.create(
        kind="settlement", school=term.school, title="结算单", params=first.params, data=first.data
    )

    assert document_render(document_id=copy.pk)
    copy.refresh_from_db()
    assert copy.checksum == first.checksum and copy.data == first.data


def test_running_the_task_twice_makes_one_file(term, billed):
    document = Document.objects.create(kind="fee_notice", school=term.school, title="x", params={"term": term.pk},
                                       subject_id=billed.pk, subject_type=_type(billed))  # fmt: skip

    assert document_render(document_id=document.pk) is True
    assert document_render(document_id=document.pk) is False
    document.refresh_from_db()
    assert document.status == "done" and document.attempts == 1


def _type(obj):
    from django.contrib.contenttypes.models import ContentType

    return ContentType.objects.get_for_model(obj)


def test_a_worker_that_died_mid_document_is_replaced_and_exactly_one_document_is_finished(
    term, billed, monkeypatch, settings
):
    settings.DOCUMENT_LEASE_SECONDS = 60
    document = Document.objects.create(kind="fee_notice", school=term.school, title="x", params={"term": term.pk},
                                       subject_id=billed.pk, subject_type=_type(billed))  # fmt: skip
    saved = []
    real_render = documents.render_html_to_pdf

    def slow_first_worker(html):
        # While the first worker is rendering, its lease runs out and the requeue job hands the
        # document to a second worker, which finishes it.
        if not saved:
            saved.append("first")
            with time_machine.travel(timezone.now() + timedelta(seconds=120), tick=False):
                assert documents_requeue() == 1  # the eager task runs the second worker here
            saved.append("second finished")
        return real_render(html)

    monkeypatch.setattr(documents, "render_html_to_pdf", slow_first_worker)
    storage = Document._meta.get_field("file").storage
    before = set(storage._root._children.get("documents", {}) and _all_files(storage))

    first_finished = document_render(document_id=document.pk)

    document.refresh_from_db()
    assert first_finished is False and saved == ["first", "second finished"]
    assert document.status == "done" and document.attempts == 2
    files = _all_files(storage) - before
    assert files == {document.file.name}  # the first worker's late file was removed


def _all_files(storage):
    found = set()

    def walk(path):
        directories, files = storage.listdir(path)
        found.update(f"{path}/{name}" if path else name for name in files)
        for directory in directories:
            walk(f"{path}/{directory}" if path else directory)

    if storage.exists("documents"):
        walk("documents")
    return found


def test_a_broken_document_is_recorded_as_failed_with_its_message(term, student_a):
    document = Document.objects.create(kind="fee_notice", school=term.school, title="x", params={"term": 999999},
                                       subject_id=student_a.pk, subject_type=_type(student_a))  # fmt: skip

    assert document_render(document_id=document.pk) is False
    document.refresh_from_db()
    assert document.status == "failed" and "DoesNotExist" in document.error and not document.file


def _flaky(monkeypatch, failures):
    calls = []
    real_render = documents.render_html_to_pdf

    def render(html):
        calls.append(1)
        if len(calls) <= failures:
            raise documents.TransientDocumentError("disk busy")
        return real_render(html)

    monkeypatch.setattr(documents, "render_html_to_pdf", render)
    return calls


@pytest.mark.parametrize(("failures", "status", "attempts"), [(2, "done", 3), (9, "failed", 4)])
def test_a_transient_error_is_retried_a_bounded_number_of_times(term, billed, monkeypatch, failures, status, attempts):
    from enrollment.tasks import render_document

    calls = _flaky(monkeypatch, failures)
    document = Document.objects.create(kind="fee_notice", school=term.school, title="x", params={"term": term.pk},
                                       subject_id=billed.pk, subject_type=_type(billed))  # fmt: skip
    # Eager retries run at once, each a nested apply() that would re-raise the Retry it asks for.
    conf = render_document.app.conf
    conf.task_eager_propagates = False
    try:
        render_document.apply(args=[document.pk])
    finally:
        conf.task_eager_propagates = True

    document.refresh_from_db()
    assert (document.status, document.attempts, len(calls)) == (status, attempts, attempts)
    if status == "failed":
        assert "disk busy (4×)" in document.error


def test_a_grade_batch_shows_progress_and_makes_a_file_per_child(
    term, billed, homeroom_a, django_capture_on_commit_callbacks
):
    others = [StudentFactory(homeroom=homeroom_a, school=term.school) for _ in range(3)]
    items = [(s, f"缴费通知单 {s.name}", {"term": term.pk}) for s in [billed, *others]]
    with django_capture_on_commit_callbacks(execute=True):
        batch = document_batch_request(kind="fee_notice", school=term.school, label="三年级缴费通知单", items=items)

    batch.refresh_from_db()
    assert (batch.status, batch.total) == ("done", 4)
    assert documents.batch_progress([batch]) == {batch.pk: 4}
    assert set(Document.objects.filter(batch=batch).values_list("status", flat=True)) == {"done"}


def test_finance_follows_and_downloads_documents_of_the_own_school_only(
    client, term, billed, finance, django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    with django_capture_on_commit_callbacks(execute=True):
        mine = document_request(kind="settlement", school=term.school, title="结算单 王", subject=billed,
                                params={"term": term.pk})  # fmt: skip
    elsewhere = Document.objects.create(
        kind="settlement", school=SchoolFactory(name="别的学校"), title="别校", status="done"
    )
    client.force_login(finance)

    with django_assert_max_num_queries(20):
        page = client.get(reverse("admin:enrollment_document_changelist"))
    assert "结算单 王" in page.content.decode() and "别校" not in page.content.decode()
    download = client.get(reverse("admin:enrollment_document_download", args=[mine.pk]))
    assert download.status_code == 200 and download["Content-Type"] == "application/pdf"
    assert b"".join(download.streaming_content).startswith(b"%PDF")
    assert client.get(reverse("admin:enrollment_document_download", args=[elsewhere.pk])).status_code == 404


@pytest.mark.parametrize("persona", ["guardian", "homeroom_teacher", "service_teacher", "duty_leader"])
def test_nobody_else_downloads_documents(client, request, term, billed, persona, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        document = document_request(kind="settlement", school=term.school, title="结算单", subject=billed,
                                    params={"term": term.pk})  # fmt: skip
    client.force_login(request.getfixturevalue(persona))
    assert client.get(reverse("admin:enrollment_document_download", args=[document.pk])).status_code == 403


def test_the_admin_actions_queue_documents_and_batches(
    client, term, billed, homeroom_a, admin_user, django_capture_on_commit_callbacks
):
    client.force_login(admin_user)
    with django_capture_on_commit_callbacks(execute=True):
        one = client.post(
            reverse("admin:enrollment_student_changelist"),
            {"action": "fee_notices_action", "_selected_action": [billed.pk]},
        )
        grade = client.post(
            reverse("admin:enrollment_grade_changelist"),
            {"action": "grade_fee_notices_action", "_selected_action": [homeroom_a.grade.pk]},
        )
        month = client.post(reverse("admin:billing_ledger_month") + "?month=2026-10", {"pdf": "1"})

    assert one.url == reverse("admin:enrollment_document_changelist")
    assert grade.url == reverse("admin:enrollment_documentbatch_changelist")
    assert month.status_code == 302
    assert DocumentBatch.objects.get().total == 1
    kinds = sorted(Document.objects.filter(status="done").values_list("kind", flat=True))
    assert kinds == ["disclosure", "fee_notice", "fee_notice"]


def test_guardians_read_their_schools_disclosures_only(
    client, school, guardian, finance, django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    from billing.services import disclosure_publish

    with django_capture_on_commit_callbacks(execute=True):
        mine = disclosure_publish(school=school, year=2026, month=10, requested_by=finance)
    other = SchoolFactory(name="别的学校")
    elsewhere = Document.objects.create(
        kind="disclosure", school=other, title="别校公示", status="done", params={"month": "2026-10"}
    )
    client.force_login(guardian)

    with django_assert_max_num_queries(12):
        page = client.get(reverse("enrollment:disclosures")).content.decode()
    assert "2026-10 收支公示" in page and "别校公示" not in page
    response = client.get(reverse("enrollment:disclosure_download", args=[mine.pk]))
    assert response.status_code == 200 and b"".join(response.streaming_content).startswith(b"%PDF")
    assert client.get(reverse("enrollment:disclosure_download", args=[elsewhere.pk])).status_code == 404


def test_a_batch_goes_on_past_a_transient_error_and_comes_back_for_it(term, billed, homeroom_a, monkeypatch):
    from enrollment.documents import batch_render

    others = [StudentFactory(homeroom=homeroom_a, school=term.school) for _ in range(2)]
    calls = _flaky(monkeypatch, 1)  # the first document meets a busy disk once
    batch = DocumentBatch.objects.create(kind="fee_notice", school=term.school, label="x", total=3)
    for child in [billed, *others]:
        Document.objects.create(kind="fee_notice", school=term.school, title=child.name, params={"term": term.pk},
                                subject_id=child.pk, subject_type=_type(child), batch=batch)  # fmt: skip

    assert batch_render(batch_id=batch.pk) is False  # handed back: one document still queued
    assert Document.objects.filter(batch=batch, status="done").count() == 2
    assert batch_render(batch_id=batch.pk) is True  # the requeue job's second go
    batch.refresh_from_db()
    assert batch.status == "done" and len(calls) == 4


def test_the_frozen_data_is_in_chinese_whoever_asked(term, billed, django_capture_on_commit_callbacks):
    from django.utils import translation

    with translation.override("en"), django_capture_on_commit_callbacks(execute=True):
        document = document_request(kind="fee_notice", school=term.school, title="x", subject=billed,
                                    params={"term": term.pk})  # fmt: skip
    document.refresh_from_db()
    assert document.data["lines"][0]["explanation"].startswith("本月 22 个工作日中参加 22 天")


def test_a_months_disclosure_is_made_once_and_only_after_the_month(
    client, term, finance, django_capture_on_commit_callbacks
):
    client.force_login(finance)
    url = reverse("admin:billing_ledger_month")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url + "?month=2026-10", {"pdf": "1"})
        client.post(url + "?month=2026-10", {"pdf": "1"})
        unfinished = client.post(url + "?month=2099-11", {"pdf": "1"}, follow=True)

    assert Document.objects.filter(kind="disclosure").count() == 1
    assert "尚未结束" in unfinished.content.decode()
    for page in (url, reverse("admin:billing_subsidy_payroll")):
        assert client.get(page, {"month": "0000-05"}).status_code == 200
