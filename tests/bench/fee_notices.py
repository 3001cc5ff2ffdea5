"""Fee notices for a grade, timed: the batch task (eager, as `make run` does it) against WeasyPrint
rendering the same HTML directly.

    DATABASE_URL=sqlite:////tmp/bench.sqlite3 .venv/bin/python -m tests.bench.fee_notices --students 200

Builds its own school in the database it is given (use a scratch one), then prints one JSON line.
Peak memory: run it under `/usr/bin/time -v` and read "Maximum resident set size".
"""

import argparse
import json
import os
import sys
import tempfile
import time
from datetime import date
from decimal import Decimal


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser()
    parser.add_argument("--students", type=int, default=200)
    parser.add_argument("--batch-only", action="store_true", help="skip the direct WeasyPrint run (memory)")
    args = parser.parse_args(argv)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "afterschool.settings")
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz")
    os.environ.setdefault("MEDIA_ROOT", tempfile.mkdtemp(prefix="bench-media-"))
    os.environ.pop("CELERY_BROKER_URL", None)  # eager, in this process
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from billing.models import BillingRun, ChargeLine, FeeStandard
    from enrollment.documents import document_batch_request, render_html
    from enrollment.models import Document, Grade, Homeroom, School, Student, Term

    school, _ = School.objects.get_or_create(name="基准测试小学", defaults={"phone": "0771-1234567"})
    term, _ = Term.objects.get_or_create(
        school=school,
        name="2026年秋季学期",
        defaults={
            "start": date(2026, 9, 1),
            "end": date(2027, 1, 22),
            "application_opens": date(2026, 8, 20),
            "application_closes": date(2026, 8, 30),
        },
    )
    grade, _ = Grade.objects.get_or_create(school=school, number=3)
    standard, _ = FeeStandard.objects.get_or_create(
        term=term, item="after_school", defaults={"mode": "monthly_half", "amount": Decimal("120.00")}
    )
    run = BillingRun.objects.create(term=term, month=date(2026, 10, 1))
    students = []
    for index in range(args.students):
        homeroom, _ = Homeroom.objects.get_or_create(grade=grade, number=index // 45 + 1)
        students.append(
            Student(
                school=school,
                homeroom=homeroom,
                student_no=f"B{run.pk:03d}{index:05d}",
                name=f"学生{index}号",
                gender="F",
            )
        )
    students = Student.objects.bulk_create(students)
    ChargeLine.objects.bulk_create(
        ChargeLine(
            term=term, student=s, standard=standard, month=date(2026, month, 1), kind="charge", fee=Decimal("120.00"),
            workdays=22, participation_days=15, waiver_percent=Decimal("0"), amount=Decimal("120.00"), run=run,
        )
        for s in students
        for month in (9, 10)
    )  # fmt: skip

    items = [(s, f"缴费通知单 {s.name}", {"term": term.pk}) for s in students]
    started = time.perf_counter()
    from django.db import transaction

    with transaction.atomic():
        batch = document_batch_request(kind="fee_notice", school=school, label="bench", items=items)
    task_seconds = time.perf_counter() - started
    batch.refresh_from_db()
    documents = list(Document.objects.filter(batch=batch))
    assert batch.status == "done" and all(d.status == "done" for d in documents), batch.error
    pages = sum(d.pages for d in documents)

    result = {
        "students": args.students,
        "pages": pages,
        "batch_seconds": round(task_seconds, 2),
        "batch_pages_per_second": round(pages / task_seconds, 2),
    }
    if args.batch_only:
        print(json.dumps(result))
        return result

    # The same HTML, straight through WeasyPrint: the floor for this work.
    from django.conf import settings
    from weasyprint import HTML

    html = [render_html(d) for d in documents]
    started = time.perf_counter()
    for text in html:
        HTML(string=text, base_url=str(settings.BASE_DIR / "static")).write_pdf()
    direct_seconds = time.perf_counter() - started

    result |= {
        "weasyprint_seconds": round(direct_seconds, 2),
        "weasyprint_pages_per_second": round(pages / direct_seconds, 2),
        "ratio": round(task_seconds / direct_seconds, 3),
    }
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
