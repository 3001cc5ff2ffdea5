import threading
from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.urls import reverse
from django.utils import translation

from billing.models import BillingRun, ChargeLine, FeeStandard, Payment
from billing.services import arrears, payment_post, refund_post, settlement_list, statement_for
from tests.enrollment.factories import StudentFactory, TermFactory, UserFactory

D = Decimal


@pytest.fixture
def term(school):
    return TermFactory(school=school, start=date(2026, 9, 1), end=date(2027, 1, 22))


def _charge(term, student, amount):
    standard, _ = FeeStandard.objects.get_or_create(
        term=term, item="after_school", defaults={"mode": "monthly_half", "amount": D("120")}
    )
    run = BillingRun.objects.create(term=term, month=date(2026, 9, 1))
    return ChargeLine.objects.create(
        term=term,
        student=student,
        standard=standard,
        month=date(2026, 9, 1),
        kind="charge",
        fee=D("120"),
        workdays=22,
        participation_days=11,
        waiver_percent=D("0"),
        amount=D(amount),
        run=run,
    )


@pytest.mark.django_db
def test_receipt_numbers_are_consecutive_per_school_year_across_payments_and_refunds(term, student_a, finance):
    first = payment_post(term=term, student=student_a, amount=D("120.00"), method="cash", received_by=finance)
    refund = refund_post(term=term, student=student_a, amount=D("60.00"), reason="半月退费", refunded_by=finance)
    second = payment_post(term=term, student=student_a, amount="50.5", method="transfer", received_by=finance)
    assert [first.receipt_no, refund.receipt_no, second.receipt_no] == ["2026-000001", "2026-000002", "2026-000003"]
    assert second.amount == D("50.50")


@pytest.mark.django_db
def test_bad_amounts_are_refused_and_use_no_number(term, student_a, finance):
    with translation.override("zh-hans"), pytest.raises(ValidationError, match="必须大于"):
        payment_post(term=term, student=student_a, amount=D("0"), method="cash", received_by=finance)
    with pytest.raises(TypeError):
        payment_post(term=term, student=student_a, amount=12.5, method="cash", received_by=finance)
    assert (
        payment_post(term=term, student=student_a, amount=D("1"), method="cash", received_by=finance).receipt_no
        == "2026-000001"
    )


@pytest.mark.django_db
def test_statement_and_arrears_add_up_to_the_fen(term, student_a, student_b, finance):
    _charge(term, student_a, "120.00")
    _charge(term, student_b, "60.00")
    payment_post(term=term, student=student_a, amount=D("100.00"), method="cash", received_by=finance)
    payment_post(term=term, student=student_b, amount=D("60.00"), method="online", received_by=finance)

    statement = statement_for(student=student_a, term=term)
    rows = arrears(term=term)

    assert (statement.charged, statement.paid, statement.balance) == (D("120.00"), D("100.00"), D("20.00"))
    assert [(row[0], row[4]) for row in rows] == [(student_a, D("20.00"))]


@pytest.mark.django_db
def test_the_guardian_sees_only_their_own_childs_bills(client, term, guardian, student_a, student_b, finance):
    _charge(term, student_a, "120.00")
    payment_post(term=term, student=student_a, amount=D("120.00"), method="cash", received_by=finance)
    client.force_login(guardian)
    with translation.override("zh-hans"):
        page = client.get(reverse("enrollment:bills", args=[student_a.pk]))
    assert page.context["statement"].balance == D("0.00") and "2026-000001" in page.content.decode()
    assert client.get(reverse("enrollment:bills", args=[student_b.pk])).status_code == 404


@pytest.mark.django_db
def test_finance_posts_a_payment_in_the_admin_and_cannot_edit_it(client, term, student_a, finance):
    client.force_login(finance)
    client.post(
        "/admin/billing/payment/add/", {"term": term.pk, "student": student_a.pk, "amount": "120.00", "method": "cash"}
    )
    payment = Payment.objects.get()
    assert payment.receipt_no == "2026-000001" and payment.received_by == finance
    assert client.post(f"/admin/billing/payment/{payment.pk}/change/", {"amount": "1"}).status_code == 403
    _charge(term, StudentFactory(homeroom=student_a.homeroom), "60.00")
    assert "60.00" in client.get(reverse("admin:billing_arrears", args=[term.pk])).content.decode()


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="row locks are a PostgreSQL matter; SQLite serialises writers"
)
def test_two_concurrent_payments_get_distinct_consecutive_receipt_numbers(school):
    from django.db import connections

    term = TermFactory(school=school, start=date(2026, 9, 1), end=date(2027, 1, 22))
    cashier = UserFactory(username="cashier")
    students = [StudentFactory() for _ in range(2)]
    barrier, numbers, errors = threading.Barrier(2), [], []

    def post(student):
        try:
            barrier.wait()
            numbers.append(
                payment_post(term=term, student=student, amount=D("120"), method="cash", received_by=cashier).receipt_no
            )
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=post, args=(s,)) for s in students]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == [] and sorted(numbers) == ["2026-000001", "2026-000002"]


@pytest.mark.django_db
def test_the_months_charge_export_adds_up_to_the_ledgers_fee_income(client, term, finance, homeroom_a):
    from io import BytesIO

    from openpyxl import load_workbook

    from billing.models import LedgerEntry
    from billing.services import billing_run
    from enrollment.models import Application
    from safety.models import RollCall, RollCallEntry
    from scheduling.calendar import HolidayCalendar
    from scheduling.models import GroupMembership
    from tests.scheduling.factories import ServiceGroupFactory, SlotFactory, sessions_on

    FeeStandard.objects.create(term=term, item="after_school", mode="monthly_half", amount=D("120.00"))
    group = ServiceGroupFactory(term=term)
    slot = SlotFactory(group=group)
    days = HolidayCalendar().workdays(date(2026, 9, 1), date(2026, 9, 30))
    sessions = sessions_on(slot, days, teacher=finance)
    calls = RollCall.objects.bulk_create(RollCall(session=s, taken_by=finance) for s in sessions)
    students = []
    for attended in (22, 10, 11, 3):
        student = StudentFactory(homeroom=homeroom_a)
        Application.objects.create(
            term=term, student=student, status="placed", emergency_name="外婆", emergency_mobile="13700000000"
        )
        GroupMembership.objects.create(group=group, student=student)
        RollCallEntry.objects.bulk_create(
            RollCallEntry(roll_call=c, student=student, status="present" if i < attended else "absent")
            for i, c in enumerate(calls)
        )
        students.append(student)
    billing_run(term=term, year=2026, month=9)
    # A correction: the child with 11 days had one absence entered as present → an adjustment.
    first = RollCallEntry.objects.filter(student=students[2], status="present").order_by("pk").first()
    RollCallEntry.objects.filter(pk=first.pk).update(status="absent")
    billing_run(term=term, year=2026, month=9)

    client.force_login(finance)
    form = client.get("/admin/billing/chargeline/export/").context["form"]
    xlsx = next(str(v) for v, label in form.fields["format"].choices if str(label).lower() == "xlsx")
    fields = {name: "on" for name in form.fields if name.startswith("chargelineresource_")}
    response = client.post("/admin/billing/chargeline/export/", {"format": xlsx, **fields})
    sheet = load_workbook(BytesIO(response.content)).active
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    amounts = [row[-1] for row in rows]

    assert all(isinstance(a, (int, float)) for a in amounts), [(type(a), a) for a in amounts]  # numeric cells
    exported = sum(D(str(a)) for a in amounts)
    ledger = sum(LedgerEntry.objects.filter(category="fees", date__month=9).values_list("amount", flat=True))
    assert exported == ledger == D("300.00")  # 120 + 60 + 120 − 60 (adjusted) + 60


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["guardian", "homeroom_teacher", "service_teacher", "gate_guard"])
@pytest.mark.parametrize("model", ["chargeline", "payment", "refund", "waiver", "ledgerentry"])
def test_every_export_is_403_for_guardians_and_teachers(client, request, persona, model):
    client.force_login(request.getfixturevalue(persona))
    assert client.get(f"/admin/billing/{model}/export/").status_code == 403


@pytest.mark.django_db
def test_a_guardian_asks_for_a_waiver_with_evidence_and_only_for_their_child(
    client, guardian, student_a, student_b, school
):
    from datetime import timedelta

    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.utils import timezone

    from billing.models import Waiver

    today = timezone.localdate()
    TermFactory(school=school, start=today - timedelta(days=10), end=today + timedelta(days=90))
    client.force_login(guardian)
    url = reverse("enrollment:waiver", args=[student_a.pk])

    with translation.override("zh-hans"):
        refused = client.post(url, {"category": "dibao"})
    assert "请上传证明材料" in refused.content.decode() and not Waiver.objects.exists()

    client.post(url, {"category": "dibao", "evidence": SimpleUploadedFile("低保证.pdf", b"%PDF-1.4")})
    waiver = Waiver.objects.get()
    assert (waiver.student, waiver.status, waiver.requested_by) == (student_a, "requested", guardian.guardian)
    assert "低保证" not in waiver.evidence.name
    assert client.get(reverse("enrollment:waiver", args=[student_b.pk])).status_code == 404
    bad = client.post(url, {"category": "dibao", "evidence": SimpleUploadedFile("x.exe", b"MZ")})
    assert bad.status_code == 200 and Waiver.objects.get().evidence.name.endswith(".pdf")


@pytest.mark.django_db
def test_a_bank_statement_is_previewed_then_posted_once(client, term, student_a, student_b, finance):
    from django.core.files.storage import storages
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(finance)
    url = reverse("admin:billing_statement_import", args=[term.pk])
    good = f'学号,金额,流水号\n{student_a.student_no},120.00,B001\n{student_b.student_no},"1,060.5",B002\n'.encode()
    bad = f"学号,金额,流水号\n{student_a.student_no},120.00,B001\n999999,60,B003\n".encode()

    with translation.override("zh-hans"):
        preview = client.post(url, {"statement": SimpleUploadedFile("bank.csv", bad)})
    assert "没有学号为 999999 的学生" in preview.content.decode() and not preview.context["ready"]
    assert not Payment.objects.exists()
    stored = storages["import_export"]
    kept = stored.listdir("django-import-export")[1] if stored.exists("django-import-export") else []
    assert not preview.context["token"] and kept == []  # a refused file (children's data) is not kept

    preview = client.post(url, {"statement": SimpleUploadedFile("bank.csv", good)})
    assert preview.context["ready"] and not Payment.objects.exists()  # a preview posts nothing
    client.post(url, {"token": preview.context["token"]})
    assert sorted(Payment.objects.values_list("reference", "amount")) == [("B001", D("120.00")), ("B002", D("1060.50"))]

    again = client.post(url, {"statement": SimpleUploadedFile("bank.csv", good)})
    assert not again.context["ready"] and Payment.objects.count() == 2  # already imported references are refused
    assert client.post(url, {"token": "forged"}).status_code == 403


@pytest.mark.django_db
def test_two_schools_number_their_receipts_separately_and_see_only_their_own(client, term, student_a, finance):
    from tests.enrollment.factories import HomeroomFactory, SchoolFactory, StaffProfileFactory

    other = SchoolFactory(name="别的学校")
    other_term = TermFactory(school=other, start=date(2026, 9, 1), end=date(2027, 1, 22))
    other_child = StudentFactory(homeroom=HomeroomFactory(grade__school=other))
    other_finance = UserFactory(username="other_finance", roles=["财务"], is_staff=True)
    StaffProfileFactory(user=other_finance, school=other)

    mine = payment_post(term=term, student=student_a, amount=D("1"), method="cash", received_by=finance)
    theirs = payment_post(term=other_term, student=other_child, amount=D("1"), method="cash", received_by=other_finance)
    assert mine.receipt_no == theirs.receipt_no == "2026-000001"
    with pytest.raises(ValidationError):
        payment_post(term=term, student=other_child, amount=D("1"), method="cash", received_by=finance)

    client.force_login(other_finance)
    assert list(client.get("/admin/billing/payment/").context["cl"].result_list) == [theirs]
    assert client.get(reverse("admin:billing_arrears", args=[term.pk])).status_code == 404


@pytest.mark.django_db
def test_arrears_refunds_due_and_fees_by_class_download_as_numeric_excel(client, term, student_a, student_b, finance):
    from io import BytesIO

    from openpyxl import load_workbook

    _charge(term, student_a, "120.00")
    _charge(term, student_b, "60.00")
    payment_post(term=term, student=student_b, amount=D("100.00"), method="cash", received_by=finance)
    client.force_login(finance)

    def sheet(url):
        response = client.get(url, {"format": "xlsx"})
        return list(load_workbook(BytesIO(response.content)).active.iter_rows(values_only=True))

    arrears_rows = sheet(reverse("admin:billing_arrears", args=[term.pk]))
    refunds_rows = sheet(reverse("admin:billing_settlement", args=[term.pk]))
    by_class = sheet(reverse("admin:billing_fees_by_class", args=[term.pk]))

    assert arrears_rows[1][0] == student_a.student_no and arrears_rows[1][-1] == 120
    assert refunds_rows[1][0] == student_b.student_no and refunds_rows[1][-1] == 40
    assert by_class[1:] == [(3, 1, "2026-09", 1, 120), (3, 2, "2026-09", 1, 60)]


@pytest.mark.django_db
def test_finance_refunds_a_balance_from_the_settlement_list_once(client, term, student_b, finance, admin_user):
    from billing.models import Refund

    _charge(term, student_b, "60.00")
    payment_post(term=term, student=student_b, amount=D("100.00"), method="cash", received_by=finance)
    url = reverse("admin:billing_settlement", args=[term.pk])
    client.force_login(admin_user)
    assert 'name="student"' not in client.get(url).content.decode()  # the admin reads, finance pays
    assert client.post(url, {"student": student_b.pk}).status_code == 403

    client.force_login(finance)
    page = client.post(url, {"student": student_b.pk}, follow=True)
    again = client.post(url, {"student": student_b.pk}, follow=True)

    refund = Refund.objects.get(student=student_b)
    assert refund.amount == D("40.00") and refund.receipt_no.endswith("000002")
    assert "40.00" in page.content.decode() and refund.receipt_no in page.content.decode()
    assert "不再" in again.content.decode() and Refund.objects.count() == 1
    assert settlement_list(term=term) == []


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="row locks are a PostgreSQL matter; SQLite serialises writers"
)
def test_two_clicks_on_refund_the_balance_pay_it_once(school, finance):
    from django.core.exceptions import ValidationError
    from django.db import connections

    from billing.models import Refund
    from billing.services import settlement_refund

    term = TermFactory(school=school, start=date(2026, 9, 1), end=date(2027, 1, 22))
    student = StudentFactory(school=school)
    _charge(term, student, "60.00")
    payment_post(term=term, student=student, amount=D("100.00"), method="cash", received_by=finance)
    barrier, refused, errors = threading.Barrier(2), [], []

    def click():
        try:
            barrier.wait()
            settlement_refund(term=term, student=student, refunded_by=finance)
        except ValidationError:
            refused.append(1)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=click) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == [] and refused == [1]
    assert list(Refund.objects.values_list("amount", flat=True)) == [D("40.00")]
