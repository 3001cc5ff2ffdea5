"""`make bench`: a school of 3,000 students and 70 groups on the configured database, measured.

SQLite by default (a fresh file, bench.sqlite3); PostgreSQL when DATABASE_URL says so (give it a
scratch database: the bench writes its schools into it). Writes bench-results.json, a list of
{"name", "value", "unit"}, and prints it as a table.
"""

import gc
import json
import os
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "bench-results.json"


def _setup():
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.bench.settings"
    if not os.environ.get("DATABASE_URL"):
        # The product's own SQLite settings (WAL, synchronous=NORMAL), on a fresh file.
        path = ROOT / "bench.sqlite3"
        for leftover in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            leftover.unlink(missing_ok=True)
        os.environ["SQLITE_PATH"] = str(path)
    import tempfile

    os.environ.setdefault("MEDIA_ROOT", tempfile.mkdtemp(prefix="bench-media-"))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _timed(fn, repeat=1):
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return times


def billing(big, results):
    """The month's run against the floor: inserting the same number of charge rows in bulk."""
    from django.db import transaction

    from billing.models import BillingRun, ChargeLine
    from billing.services import billing_run

    [seconds] = _timed(lambda: billing_run(term=big.term, year=2026, month=10))
    lines = list(ChargeLine.objects.filter(term=big.term, month="2026-10-01"))

    def floor():
        with transaction.atomic():
            run = BillingRun.objects.create(term=big.term, month="2026-10-01")
            copies = [ChargeLine(**{**_fields(line), "run": run}) for line in lines]
            ChargeLine.objects.bulk_create(copies)
            transaction.set_rollback(True)

    floor_seconds = min(_timed(floor, repeat=3))
    results += [
        (f"billing run, one month ({len(lines)} charge lines)", seconds, "s"),
        ("bulk insert of the same charge lines", floor_seconds, "s"),
        ("billing run / bulk insert", seconds / floor_seconds, "ratio"),
    ]


def _fields(line):
    return {
        f.attname: getattr(line, f.attname)
        for f in line._meta.concrete_fields
        if not f.primary_key and f.attname not in ("run_id", "created_at")
    }


def roll_call(big, results):
    """Saving a 45-student roll call through the page, against an empty logged-in request.

    The two are timed in turns (a save, then an empty request; 5 pairs to warm up, then 50), so
    both see the machine in the same state; each save changes every child's state.
    """
    from django.test import Client

    from safety.models import RollCall
    from safety.services import session_student_ids

    client = Client()
    client.force_login(big.teacher)
    session = big.session
    students = session_student_ids(session)
    url = f"/teacher/sessions/{session.pk}/roll-call/"
    saves, empty = [], []
    for i in range(55):
        status = "present" if i % 2 else "late"
        version = RollCall.objects.filter(session=session).values_list("version", flat=True).first() or 0
        data = {f"s{pk}": status for pk in students} | {"version": version, "reason": "基准测试：补录"}
        body = urlencode(data)  # as the phone's browser posts the form (no file field: not multipart)
        started = time.perf_counter()
        response = client.post(url, body, content_type="application/x-www-form-urlencoded")
        saved = time.perf_counter() - started
        assert response.status_code == 302, (response.status_code, response.content[:300])
        # The browser shows "saved" on the next page, which empties the message cookie; without
        # that, 50 unread messages would pile up in the cookie and be signed on every save.
        client.cookies.pop("messages", None)
        [floor] = _timed(lambda: client.get("/bench/empty/"))
        if i >= 5:
            saves.append(saved)
            empty.append(floor)
    save_ms, empty_ms = statistics.median(saves) * 1000, statistics.median(empty) * 1000
    results += [
        (f"roll call save, {len(students)} students (median of 50)", save_ms, "ms"),
        ("empty logged-in request (median of 50)", empty_ms, "ms"),
        ("roll call save / empty request", save_ms / empty_ms, "ratio"),
    ]


def pdf(big, results, count=21):
    """Fee notices through the document task, against bare WeasyPrint on the same HTML."""
    from django.conf import settings
    from django.contrib.contenttypes.models import ContentType
    from weasyprint import HTML

    from enrollment.documents import document_render, render_html
    from enrollment.models import Document, Student

    children = list(Student.objects.filter(school=big.school).order_by("pk")[:count])
    student_type = ContentType.objects.get_for_model(Student)
    documents = [
        Document.objects.create(
            kind="fee_notice", school=big.school, title=c.name, params={"term": big.term.pk},
            subject_type=student_type, subject_id=c.pk,
        )
        for c in children
    ]  # fmt: skip
    document_render(document_id=documents.pop().pk)  # warm: templates, fonts (both sides are timed warm)
    HTML(string="<p>预热</p>").write_pdf()
    [task_seconds] = _timed(lambda: [document_render(document_id=d.pk) for d in documents])
    done = list(Document.objects.filter(pk__in=[d.pk for d in documents], status="done"))
    pages = sum(d.pages for d in done)
    html = [render_html(d) for d in done]
    base = str(settings.BASE_DIR / "static")
    [bare_seconds] = _timed(lambda: [HTML(string=h, base_url=base).write_pdf() for h in html])
    results += [
        (f"fee notice PDF through the task ({pages} pages)", task_seconds / pages, "s/page"),
        ("bare WeasyPrint on the same HTML", bare_seconds / pages, "s/page"),
        ("PDF task / bare WeasyPrint", task_seconds / bare_seconds, "ratio"),
    ]


def export(big, results):
    from afterschool.export_formats import SafeXLSX
    from billing.models import ChargeLine
    from billing.resources import ChargeLineResource

    def run():
        dataset = ChargeLineResource().export(ChargeLine.objects.filter(term=big.term))
        SafeXLSX().export_data(dataset)

    [seconds] = _timed(run)
    rows = ChargeLine.objects.filter(term=big.term).count()
    results.append((f"the term's charge export to xlsx ({rows} rows)", seconds, "s"))


def queries(small, big, results):
    """Queries per page for the ten busiest pages, with 10 and with 1,000 rows behind them."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    def pages(s):
        return [
            ("roll call (teacher)", s.teacher, f"/teacher/sessions/{s.session.pk}/roll-call/"),
            ("teacher's day (teacher)", s.teacher, "/teacher/today/"),
            ("duty board (duty leader)", s.duty_leader, "/duty/"),
            ("class list (homeroom teacher)", s.homeroom_teacher, "/teacher/class/"),
            ("guardian inbox", s.guardian, "/portal/inbox/"),
            ("admin: students", s.admin, "/admin/enrollment/student/"),
            ("admin: payments", s.finance, "/admin/billing/payment/"),
            ("admin: charge lines", s.finance, "/admin/billing/chargeline/"),
            ("admin: documents", s.finance, "/admin/enrollment/document/"),
            ("admin: arrears", s.finance, f"/admin/billing/payment/arrears/{s.term.pk}/"),
        ]

    for (name, small_user, small_url), (_name, big_user, big_url) in zip(pages(small), pages(big), strict=True):
        counts = []
        for user, url in ((small_user, small_url), (big_user, big_url)):
            client = Client()
            client.force_login(user)
            client.get(url)  # warm caches (content types, sessions)
            with CaptureQueriesContext(connection) as captured:
                response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)
            counts.append(len(captured))
        results += [(f"queries: {name}, 10 rows", counts[0], "queries"),
                    (f"queries: {name}, 1000 rows", counts[1], "queries")]  # fmt: skip


def main():
    _setup()
    from django.db import connection

    from billing.services import billing_run
    from tests.bench.school import build_school

    started = time.perf_counter()
    small = build_school(name="基准小学（小）", students=10, groups=1, extra_rows=10)
    big = build_school(name="基准小学", students=3000, groups=70, extra_rows=1000)
    billing_run(term=small.term, year=2026, month=10)
    built = time.perf_counter() - started
    results = [("database", connection.vendor, ""), ("building the two schools", built, "s")]
    # The schools were built in this process: keep their objects out of the garbage
    # collector's way, as a server process (which never holds them) would be.
    gc.collect()
    gc.freeze()
    billing(big, results)
    roll_call(big, results)
    pdf(big, results)
    export(big, results)
    queries(small, big, results)
    rows = [{"name": n, "value": round(v, 4) if isinstance(v, float) else v, "unit": u} for n, v, u in results]
    RESULTS.write_text(json.dumps(rows, ensure_ascii=False, indent=1))
    width = max(len(r["name"]) for r in rows)
    for r in rows:
        print(f"{r['name']:<{width}}  {r['value']!s:>10} {r['unit']}")
    print(f"written to {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    sys.exit(main())
