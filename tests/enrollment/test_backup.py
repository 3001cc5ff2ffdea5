"""manage.py backup and restore: the round trip into an empty database keeps every row and every file,
and bad input is refused with a clear message.

The backup runs in the test process, against the test database, and reads the files through the
storage API (these settings keep media in InMemoryStorage; production has FileSystemStorage under
MEDIA_ROOT: the same code path). The restore needs an EMPTY database, which the test process cannot
be (its own database is the source), so it runs as ``manage.py restore`` in a subprocess with the
production settings, DATABASE_URL pointing at a scratch database (PostgreSQL: a new ``bk_…``
database; SQLite: a new file) and MEDIA_ROOT at a new folder. A second subprocess reads the restored
database and folder with the same ``_snapshot()`` the test takes of the source, so the comparison
trusts nothing the restore says about itself.
"""

import hashlib
import io
import json
import os
import stat
import subprocess
import sys
import tarfile
import uuid
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import translation

from billing.models import BillingRun, ChargeLine, FeeStandard, LedgerEntry, Payment
from billing.services import payment_post, refund_post
from enrollment.models import Application, Document, Notification, Student
from safety.models import RollCall, RollCallEntry
from tests.enrollment.factories import StudentFactory, TermFactory
from tests.scheduling.factories import ServiceGroupFactory, SlotFactory, sessions_on

BASE_DIR = Path(settings.BASE_DIR)
PDF = "%PDF-1.4\n缴费通知书 王小明 2026年9月 应缴 120.00 元\n%%EOF\n".encode()
SCAN = bytes(range(256)) * 40  # binary, every byte value


# -- what is compared ----------------------------------------------------------------------------


def _media_files(folder=""):
    try:
        folders, files = default_storage.listdir(folder)
    except FileNotFoundError:
        return
    for name in files:
        yield f"{folder}/{name}" if folder else name
    for sub in folders:
        yield from _media_files(f"{folder}/{sub}" if folder else sub)


def _snapshot() -> dict:
    """Every table (rows and a digest of all their values), every media file, and a few values spelled
    out. Content types and permissions are named by natural key: their ids are the database's own."""
    tables = {}
    for model in apps.get_models(include_auto_created=True):
        label = model._meta.label_lower
        if label == "sessions.session" or model._meta.proxy:
            continue
        columns = []
        for field in model._meta.concrete_fields:
            target = field.related_model._meta.label_lower if field.remote_field else None
            if target == "contenttypes.contenttype":
                columns += [f"{field.name}__app_label", f"{field.name}__model"]
            elif target == "auth.permission":
                columns += [
                    f"{field.name}__{part}" for part in ("codename", "content_type__app_label", "content_type__model")
                ]
            elif not (field.primary_key and label in ("contenttypes.contenttype", "auth.permission")):
                columns.append(field.attname)
        rows = sorted(
            json.dumps(list(row), default=repr, ensure_ascii=False, sort_keys=True)
            for row in model._base_manager.values_list(*columns)
        )
        tables[label] = [len(rows), hashlib.sha256("\n".join(rows).encode()).hexdigest()]
    media = {}
    for name in _media_files():
        with default_storage.open(name, "rb") as fileobj:
            media[name] = hashlib.sha256(fileobj.read()).hexdigest()
    student = Student.objects.get(name="王小明")
    return {
        "tables": tables,
        "media": media,
        "student": [student.name, student.student_no, student.guardian_links.get().guardian.name],
        "payments": [
            [type(a).__name__, str(a)] for a in Payment.objects.order_by("pk").values_list("amount", flat=True)
        ],
        "ledger": [[type(a).__name__, str(a)] for a in LedgerEntry.objects.values_list("amount", flat=True)],
        "charged": [str(a) for a in ChargeLine.objects.values_list("amount", flat=True)],
        "document": _read(Document.objects.get().file),
        "notification": list(Notification.objects.values_list("subject", "created_at").get()),
    }


def _read(field_file) -> str:
    with field_file.open("rb") as fileobj:
        return fileobj.read().decode()


def _jsonable(snapshot: dict) -> dict:
    return json.loads(json.dumps(snapshot, default=repr))


# -- the school ----------------------------------------------------------------------------------


@pytest.fixture
def media(settings):
    """A media storage of the test's own (the default InMemoryStorage lives as long as the process)."""
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"}}
    return default_storage


@pytest.fixture
def school_data(school, media, student_a, guardian, other_guardian, finance, admin_user, service_teacher):
    """A small school with rows in every app: directory, an application with its evidence, fees with a
    payment, a refund and the ledger, a roll call with its history, a document with its PDF, a message."""
    term = TermFactory(school=school, start=date(2026, 9, 1), end=date(2027, 1, 22))
    StudentFactory(homeroom=student_a.homeroom, name="欧阳子涵")
    application = Application.objects.create(
        term=term,
        student=student_a,
        guardian=guardian.guardian,
        status=Application.Status.PLACED,
        emergency_name="外婆",
        emergency_mobile="13700000000",
        allergies="花生",
    )
    application.priority_evidence.save("证明.png", ContentFile(SCAN))

    standard = FeeStandard.objects.create(term=term, item="after_school", mode="monthly_half", amount=Decimal("120.00"))
    run = BillingRun.objects.create(term=term, month=date(2026, 9, 1))
    ChargeLine.objects.create(
        term=term, student=student_a, standard=standard, month=date(2026, 9, 1), kind="charge", fee=Decimal("120"),
        workdays=22, participation_days=11, waiver_percent=Decimal("0"), amount=Decimal("60.00"), run=run,
    )  # fmt: skip
    payment_post(term=term, student=student_a, amount=Decimal("120.00"), method="cash", received_by=finance)
    payment_post(term=term, student=student_a, amount=Decimal("0.05"), method="transfer", received_by=finance)
    refund_post(term=term, student=student_a, amount=Decimal("60.05"), reason="半月退费", refunded_by=finance)
    LedgerEntry.objects.create(
        school=school, date=date(2026, 9, 30), kind="income", category="fees", amount=Decimal("1234.56"),
        voucher_no="记-2026-09-001", description="九月课后服务费", run=run, recorded_by=finance,
    )  # fmt: skip

    group = ServiceGroupFactory(term=term, teacher=service_teacher)
    [session] = sessions_on(SlotFactory(group=group), [date(2026, 9, 1)])
    roll_call = RollCall.objects.create(session=session, taken_by=service_teacher)
    entry = RollCallEntry.objects.create(roll_call=roll_call, student=student_a, status="present")
    entry.status = "late"
    entry.save()  # a second history row

    document = Document.objects.create(
        school=school, kind=Document.Kind.FEE_NOTICE, title="缴费通知书 王小明", subject=student_a,
        params={"month": "2026-09"}, data={"应缴": "120.00", "学生": "王小明"}, status="done", requested_by=finance,
    )  # fmt: skip
    document.file.save("notice.pdf", ContentFile(PDF))
    Notification.objects.create(
        recipient=guardian, guardian=guardian.guardian, kind="billing.payment", subject="收到缴费 120.00 元",
        body="王小明 2026年9月课后服务费已收到。",
    )  # fmt: skip
    LogEntry.objects.create(
        user=admin_user, content_type=ContentType.objects.get_for_model(Student), object_id=str(student_a.pk),
        object_repr="王小明", action_flag=CHANGE, change_message="改了姓名",
    )  # fmt: skip
    default_storage.save("scans/2026/纸质协议-王小明.txt", ContentFile("家长签字：王建国".encode()))
    return term


def _backup(folder: Path) -> Path:
    call_command("backup", "--output", str(folder), stdout=io.StringIO())
    [archive] = folder.glob("afterschool-*.tar.gz")
    return archive


def _rewrite(archive: Path, target: Path, change) -> Path:
    """A copy of ``archive`` with ``change(name, bytes) -> bytes`` applied to each member."""
    with tarfile.open(archive, "r:gz") as source, tarfile.open(target, "w:gz", format=tarfile.PAX_FORMAT) as copy:
        for member in source:
            data = change(member.name, source.extractfile(member).read())
            member.size = len(data)
            copy.addfile(member, io.BytesIO(data))
    return target


# -- the scratch database and the subprocesses ----------------------------------------------------


@pytest.fixture
def empty_database(tmp_path):
    """DATABASE_URL of a new, empty database of the kind the tests run on."""
    if connection.vendor == "sqlite":
        yield f"sqlite:///{tmp_path / 'restored.sqlite3'}"
        return
    import psycopg2

    db = settings.DATABASES["default"]
    name = f"bk_{uuid.uuid4().hex[:12]}"
    params = {
        "host": db["HOST"] or "127.0.0.1",
        "port": db["PORT"] or 5432,
        "user": db["USER"],
        "password": db["PASSWORD"],
    }
    admin = psycopg2.connect(dbname="postgres", **params)
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            cursor.execute(f'CREATE DATABASE "{name}"')
        credentials = quote(params["user"]) + (f":{quote(params['password'])}" if params["password"] else "")
        yield f"postgres://{credentials}@{params['host']}:{params['port']}/{name}"
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def _environment(database_url: str, media_root: Path) -> dict:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DATABASE_", "DJANGO_", "SQLITE_"))}
    return env | {
        "DJANGO_SETTINGS_MODULE": "afterschool.settings",  # production settings: files on disk under MEDIA_ROOT
        "DATABASE_URL": database_url,
        "MEDIA_ROOT": str(media_root),
        "SECRET_KEY": "backup-test-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        "DEBUG": "false",
        "PYTHONPATH": str(BASE_DIR),
    }


def _run(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=180)


def _read_restored():
    """Run in the subprocess: print the snapshot, then check that new rows get new ids (the
    restore moved the id sequences past the restored rows)."""
    from enrollment.models import Guardian

    snapshot = _snapshot()
    highest = max(Guardian.objects.values_list("pk", flat=True))
    snapshot["new_id_is_free"] = Guardian.objects.create(name="新家长", mobile="13999999999").pk > highest
    print(json.dumps(snapshot, default=repr))


READ_RESTORED = (
    "import django; django.setup(); from tests.enrollment.test_backup import _read_restored; _read_restored()"
)


# -- tests ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_backup_and_restore_into_an_empty_database_keep_every_row_and_file(school_data, tmp_path, empty_database):
    source = _snapshot()
    archive = _backup(tmp_path)

    assert stat.S_IMODE(archive.stat().st_mode) == 0o600
    assert [path.name for path in tmp_path.iterdir()] == [archive.name]  # no partial file left
    with tarfile.open(archive, "r:gz") as tar:
        manifest = json.load(tar.extractfile("manifest.json"))
    assert manifest["rows"]["enrollment.student"] == 3
    assert manifest["rows"]["billing.payment"] == 2
    assert manifest["files"]["count"] == 3
    assert "0009_document_permissions" in manifest["migrations"]["enrollment"]
    assert all(len(entry["sha256"]) == 64 for entry in manifest["members"].values())

    media_root = tmp_path / "media"
    env = _environment(empty_database, media_root)
    restore = _run(env, "manage.py", "restore", str(archive))
    assert restore.returncode == 0, restore.stderr
    read = _run(env, "-c", READ_RESTORED)
    assert read.returncode == 0, read.stderr
    restored = json.loads(read.stdout)

    assert restored.pop("new_id_is_free") is True
    assert restored == _jsonable(source)
    # Spelled out: money stays Decimal to the fen, names stay Chinese, files stay byte for byte.
    assert restored["payments"] == [["Decimal", "120.00"], ["Decimal", "0.05"]]
    assert restored["ledger"] == [["Decimal", "1234.56"]]
    assert restored["charged"] == ["60.00"]
    assert restored["student"][0::2] == ["王小明", "王建国"]
    assert restored["document"] == PDF.decode()
    assert restored["notification"][1] == repr(Notification.objects.get().created_at)  # to the microsecond
    evidence = Application.objects.get().priority_evidence.name
    assert (media_root / evidence).read_bytes() == SCAN
    assert (media_root / "scans/2026/纸质协议-王小明.txt").read_text() == "家长签字：王建国"


@pytest.mark.django_db
def test_restore_refuses_a_database_that_is_not_empty(school_data, tmp_path):
    archive = _backup(tmp_path)
    before = _snapshot()

    with translation.override("en"), pytest.raises(CommandError, match="The database is not empty: .*--force"):
        call_command("restore", str(archive), stdout=io.StringIO())
    assert _snapshot() == before


@pytest.mark.django_db
def test_restore_with_force_replaces_what_the_database_and_the_media_hold(school_data, tmp_path):
    archive = _backup(tmp_path)
    before = _snapshot()
    Student.objects.filter(name="王小明").update(name="王小明（改）")
    Payment.objects.filter(amount=Decimal("0.05")).delete()
    StudentFactory(homeroom=Student.objects.first().homeroom)
    evidence = Application.objects.get().priority_evidence.name
    default_storage.delete(evidence)
    default_storage.save(evidence, ContentFile(b"changed"))
    default_storage.save("extra.txt", ContentFile(b"not in the archive"))

    call_command("restore", str(archive), "--force", stdout=io.StringIO())

    after = _snapshot()
    assert after.pop("media") == before.pop("media") | {"extra.txt": hashlib.sha256(b"not in the archive").hexdigest()}
    assert after == before


@pytest.mark.django_db
def test_a_damaged_or_foreign_archive_is_refused_before_anything_is_touched(school_data, tmp_path):
    (tmp_path / "good").mkdir()
    archive = _backup(tmp_path / "good")
    truncated = tmp_path / "truncated.tar.gz"
    truncated.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    not_an_archive = tmp_path / "notes.tar.gz"
    not_an_archive.write_text("这不是备份")
    tampered = _rewrite(
        archive,
        tmp_path / "tampered.tar.gz",
        lambda name, data: data.replace(b"120.00", b"999.00") if name.startswith("data/") else data,
    )
    before = _snapshot()

    with translation.override("en"):
        for path, message in [
            (truncated, "Cannot read the archive .*damaged or not a backup archive"),
            (not_an_archive, "Cannot read the archive .*damaged or not a backup archive"),
            (tampered, "The archive .* is damaged: data/.*billing.payment.* do not match the manifest"),
            (tmp_path / "missing.tar.gz", "The archive .*missing.tar.gz does not exist"),
        ]:
            with pytest.raises(CommandError, match=message):
                call_command("restore", str(path), "--force", stdout=io.StringIO())
    assert _snapshot() == before


@pytest.mark.django_db
def test_an_archive_of_a_newer_version_is_refused(school_data, tmp_path):
    archive = _backup(tmp_path)

    def future(name, data):
        if name != "manifest.json":
            return data
        manifest = json.loads(data)
        manifest["migrations"]["billing"].append("9999_future")
        return json.dumps(manifest).encode()

    newer = _rewrite(archive, tmp_path / "newer.tar.gz", future)

    with translation.override("en"), pytest.raises(CommandError, match="newer version.*billing.9999_future"):
        call_command("restore", str(newer), "--force", stdout=io.StringIO())


@pytest.mark.django_db
def test_backup_refuses_a_missing_folder_and_never_overwrites(school_data, tmp_path):
    with translation.override("en"):
        with pytest.raises(CommandError, match="The output folder .*nowhere does not exist"):
            call_command("backup", "--output", str(tmp_path / "nowhere" / "a.tar.gz"), stdout=io.StringIO())
        archive = _backup(tmp_path)
        with pytest.raises(CommandError, match="already exists"):
            call_command("backup", "--output", str(archive), stdout=io.StringIO())
    assert datetime.strptime(archive.name, "afterschool-%Y%m%d-%H%M.tar.gz")
