"""A real Celery worker on Redis and PostgreSQL makes every kind of document, and a worker killed in
the middle of a batch leaves, after a restart, exactly one finished document per child.

Runs in the services pass of .ci/run (SERVICES_BROKER_URL set, PostgreSQL); skipped elsewhere.
"""

import os
import signal
import subprocess
import sys
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from celery import Celery
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.utils import timezone

from billing.models import BillingRun, ChargeLine, FeeStandard, LedgerEntry
from enrollment.models import (
    AgreementSignature,
    AgreementText,
    Document,
    DocumentBatch,
    ParentNotice,
)
from safety.models import Incident
from tests.enrollment.factories import StudentFactory, TermFactory

BROKER = os.environ.get("SERVICES_BROKER_URL", "")
pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not BROKER, reason="the services pass of .ci/run sets SERVICES_BROKER_URL"),
]
ROOT = Path(settings.BASE_DIR)
D = Decimal


@pytest.fixture
def broker():
    """Redis must answer: in the services pass a missing Redis is a failure, not a skip."""
    import redis

    client = redis.Redis.from_url(BROKER)
    client.ping()
    client.flushdb()  # the pass has a database number of its own
    sender = Celery(broker=BROKER)
    yield sender
    client.flushdb()


@pytest.fixture
def media(tmp_path):
    return tmp_path / "media"


def _database_url():
    db = connection.settings_dict
    assert connection.vendor == "postgresql", "the worker shares the test database: PostgreSQL only"
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class Worker:
    def __init__(self, media: Path, lease: int):
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "afterschool.settings",
            "DATABASE_URL": _database_url(),
            "CELERY_BROKER_URL": BROKER,
            "MEDIA_ROOT": str(media),
            "DOCUMENT_LEASE_SECONDS": str(lease),
            "SECRET_KEY": "services-pass-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
            "DEBUG": "false",
            "LOG_LEVEL": "WARNING",
        }
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "afterschool", "worker", "--pool=solo", "-l", "warning",
             "--without-gossip", "--without-mingle", "--without-heartbeat"],
            cwd=ROOT, env=env, start_new_session=True,
        )  # fmt: skip

    def kill(self):
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self):
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()


def _wait(predicate, timeout=120, what="the worker"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.25)
    raise AssertionError(f"{what} did not finish within {timeout} s")


def _document(kind, school, subject, params=None):
    return Document.objects.create(
        kind=kind, school=school, title=kind, params=params or {},
        subject_type=ContentType.objects.get_for_model(subject), subject_id=subject.pk,
    )  # fmt: skip


@pytest.fixture
def data(school, student_a, guardian, admin_user, finance):
    term = TermFactory(school=school, start=date(2026, 9, 1), end=date(2027, 1, 22))
    standard = FeeStandard.objects.create(term=term, item="after_school", mode="monthly_half", amount=D("120.00"))
    run = BillingRun.objects.create(term=term, month=date(2026, 10, 1))
    children = [student_a, *(StudentFactory(homeroom=student_a.homeroom, school=school) for _ in range(29))]
    ChargeLine.objects.bulk_create(
        ChargeLine(
            term=term, student=child, standard=standard, month=date(2026, 10, 1), kind="charge", fee=D("120.00"),
            workdays=18, participation_days=12, waiver_percent=D("0"), amount=D("120.00"), run=run,
        )
        for child in children
    )  # fmt: skip
    LedgerEntry.objects.create(
        school=school, date=date(2026, 10, 31), kind="income", category="fees", amount=D("3600.00"),
        voucher_no="FEE-202610-1", description="服务性收费",
    )  # fmt: skip
    ParentNotice.objects.create(term=term, title="致家长的一封信", body="各位家长：……", published=True)
    text = AgreementText.objects.create(term=term, version=1, title="学生接送安全协议", body="一、……")
    signature = AgreementSignature.objects.create(
        term=term, text=text, student=student_a, guardian=guardian.guardian, signed_name="王大明",
        text_sha256=text.sha256(),
    )  # fmt: skip
    incident = Incident.objects.create(
        school=school, kind="injury", severity=1, occurred_at=timezone.now(), description="操场擦伤",
        actions="已联系家长", reported_by=admin_user, guardians_notified_at=timezone.now(),
    )  # fmt: skip
    incident.students.add(student_a)
    return {"term": term, "children": children, "signature": signature, "incident": incident}


def test_a_real_worker_makes_one_document_of_each_kind(broker, media, data, school, student_a):
    term = data["term"]
    documents = [
        _document("notice", school, term),
        _document("agreement", school, data["signature"]),
        _document("fee_notice", school, student_a, {"term": term.pk}),
        _document("class_fee_notice", school, student_a.homeroom, {"term": term.pk}),
        _document("settlement", school, student_a, {"term": term.pk}),
        _document("disclosure", school, school, {"month": "2026-10"}),
        _document("subsidy", school, school, {"month": "2026-10"}),
        _document("incident", school, data["incident"]),
    ]
    assert {d.kind for d in documents} == set(Document.Kind.values)
    worker = Worker(media, lease=300)
    try:
        for document in documents:
            broker.send_task("enrollment.tasks.render_document", args=[document.pk])
        _wait(lambda: not Document.objects.exclude(status__in=["done", "failed"]).exists())
    finally:
        worker.stop()

    for document in Document.objects.all():
        assert document.status == "done", (document.kind, document.error)
        path = media / document.file.name
        text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
        fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
        assert "WenQuanYi" in fonts, document.kind
        if document.kind in ("fee_notice", "settlement", "agreement", "incident", "class_fee_notice"):
            assert student_a.name in text, document.kind


def test_a_worker_killed_mid_batch_and_restarted_finishes_each_document_once(broker, media, data, school):
    term = data["term"]
    batch = DocumentBatch.objects.create(kind="fee_notice", school=school, label="三年级缴费通知单", total=30)
    student_type = ContentType.objects.get_for_model(data["children"][0])
    Document.objects.bulk_create(
        Document(kind="fee_notice", school=school, title=child.name, params={"term": term.pk}, batch=batch,
                 subject_type=student_type, subject_id=child.pk)
        for child in data["children"]
    )  # fmt: skip
    lease = 6
    first = Worker(media, lease=lease)
    try:
        broker.send_task("enrollment.tasks.render_batch", args=[batch.pk])
        _wait(lambda: Document.objects.filter(batch=batch, status="done").count() >= 3, what="the first worker")
    finally:
        first.kill()  # in the middle of the batch: a document is left running under its lease
    done_before = Document.objects.filter(batch=batch, status="done").count()
    assert done_before < 30

    second = Worker(media, lease=lease)
    try:
        time.sleep(lease + 1)  # the dead worker's leases run out; beat would now send the requeue job
        broker.send_task("enrollment.tasks.requeue_documents")
        _wait(lambda: DocumentBatch.objects.filter(pk=batch.pk, status="done").exists(), what="the second worker")
    finally:
        second.stop()

    documents = list(Document.objects.filter(batch=batch))
    assert len(documents) == 30 and {d.status for d in documents} == {"done"}
    assert len({d.subject_id for d in documents}) == 30
    assert all((media / d.file.name).exists() for d in documents)
    assert sum(d.attempts for d in documents) <= 31  # at most the interrupted one was made twice
