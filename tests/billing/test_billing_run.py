import math
from datetime import date
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse

from billing.models import ChargeLine, FeeStandard, Waiver
from billing.services import billing_run
from enrollment.models import Application
from safety.models import RollCallEntry
from scheduling.models import GroupMembership
from tests.billing.conftest import child as _child

pytestmark = pytest.mark.django_db
D = Decimal


def _amounts(term):
    return {line.student_id: line.amount for line in ChargeLine.objects.filter(term=term)}


def test_the_half_month_rule_from_roll_call(setup):
    full, half, late_counts, none = (
        _child(setup, 11),
        _child(setup, 10),
        _child(setup, 11, status="late"),
        _child(setup, 0),
    )

    run = billing_run(term=setup["term"], year=2026, month=9)

    assert _amounts(setup["term"]) == {full.pk: D("120.00"), half.pk: D("60.00"), late_counts.pk: D("120.00")}
    assert none.pk not in _amounts(setup["term"])  # no service, no fee
    line = ChargeLine.objects.get(student=half)
    assert (line.workdays, line.participation_days, line.fee, line.waiver_percent) == (22, 10, D("120.00"), D("0"))
    assert (run.charges, run.adjustments) == (3, 0)


def test_running_a_month_again_changes_nothing_and_a_correction_becomes_an_adjustment(setup):
    child = _child(setup, 11)
    billing_run(term=setup["term"], year=2026, month=9)
    second = billing_run(term=setup["term"], year=2026, month=9)
    assert (second.charges, second.adjustments) == (0, 0) and ChargeLine.objects.count() == 1

    # A roll call is corrected: one of the 11 days was in fact an absence → fewer than half.
    first_present = RollCallEntry.objects.filter(student=child, status="present").order_by("pk").first()
    RollCallEntry.objects.filter(pk=first_present.pk).update(status="absent")
    third = billing_run(term=setup["term"], year=2026, month=9)

    lines = list(ChargeLine.objects.filter(student=child).order_by("created_at").values_list("kind", "amount"))
    assert lines == [("charge", D("120.00")), ("adjustment", D("-60.00"))] and (third.adjustments) == 1
    assert sum(amount for _kind, amount in lines) == D("60.00")


def test_waivers_apply_from_their_effective_date(setup):
    full, halved = _child(setup, 22), _child(setup, 22)
    Waiver.objects.create(
        term=setup["term"],
        student=full,
        category="dibao",
        status="approved",
        percent=D("100"),
        effective_from=date(2026, 9, 1),
    )
    Waiver.objects.create(
        term=setup["term"],
        student=halved,
        category="orphan",
        status="approved",
        percent=D("50"),
        effective_from=date(2026, 9, 15),
    )
    Waiver.objects.create(
        term=setup["term"], student=_child(setup, 22), category="other", status="requested", percent=D("50")
    )

    billing_run(term=setup["term"], year=2026, month=9)

    amounts = _amounts(setup["term"])
    assert amounts[full.pk] == D("0.00") and amounts[halved.pk] == D("60.00")
    assert sorted(amounts.values()) == [D("0.00"), D("60.00"), D("120.00")]
    # A line of 0.00 keeps the fully waived month on record: the disclosure counts what waivers took off.
    waived = dict(ChargeLine.objects.values_list("student_id", "waived"))
    assert (waived[full.pk], waived[halved.pk]) == (D("120.00"), D("60.00"))


def test_a_child_who_left_before_the_month_is_not_charged_and_a_late_withdrawal_is_adjusted(setup):
    child = _child(setup, 11)
    billing_run(term=setup["term"], year=2026, month=9)
    GroupMembership.objects.filter(student=child).update(left_on=date(2026, 9, 1))  # recorded late, from day one

    billing_run(term=setup["term"], year=2026, month=9)

    assert list(ChargeLine.objects.filter(student=child).values_list("amount", flat=True).order_by("created_at")) == [
        D("120.00"),
        D("-120.00"),
    ]


@pytest.mark.parametrize("children", [5, 40])
def test_the_run_reads_with_a_fixed_number_of_queries(setup, children, django_assert_max_num_queries):
    for index in range(children):
        _child(setup, 11 if index % 2 else 10)

    with django_assert_max_num_queries(200) as captured:
        billing_run(term=setup["term"], year=2026, month=9)

    inserts = [q for q in captured.captured_queries if q["sql"].startswith("INSERT")]
    fields = [f for f in ChargeLine._meta.concrete_fields if not f.primary_key]
    batch = connection.ops.bulk_batch_size(fields, [None] * children)
    assert len(inserts) == 2 + math.ceil(children / batch)  # the run, the lines in bulk, the ledger entry
    assert len(captured) - len(inserts) == READS
    assert ChargeLine.objects.count() == children


# Reads, locks, the savepoint and the run's update: the same for 5 and for 40 children.
READS = 11


def test_the_command_and_an_unknown_year(setup):
    _child(setup, 11)
    out = StringIO()
    call_command("billing_run", "--term", str(setup["term"].pk), "--month", "2026-09", stdout=out)
    assert "1 new charges" in out.getvalue()
    with pytest.raises(CommandError, match="2027"):
        call_command("billing_run", "--term", str(setup["term"].pk), "--month", "2027-01", stdout=StringIO())
    with pytest.raises(CommandError, match="2026-10"):
        call_command("billing_run", "--term", str(setup["term"].pk), "--month", "10/2026", stdout=StringIO())


def test_finance_runs_a_month_in_the_admin_and_nobody_edits_lines(client, finance, setup):
    _child(setup, 11)
    client.force_login(finance)

    response = client.post(
        "/admin/billing/billingrun/add/", {"term": setup["term"].pk, "month": "2026-09-01"}, follow=True
    )

    assert "1 个新收费" in response.content.decode()
    line = ChargeLine.objects.get()
    assert client.get(f"/admin/billing/chargeline/{line.pk}/change/").status_code == 200  # read-only view
    assert client.post(f"/admin/billing/chargeline/{line.pk}/change/", {"amount": "1.00"}).status_code == 403


@pytest.mark.parametrize("persona", ["guardian", "homeroom_teacher", "service_teacher"])
def test_teachers_and_guardians_cannot_open_billing(client, request, persona):
    client.force_login(request.getfixturevalue(persona))
    assert client.get("/admin/billing/chargeline/").status_code == 403


def test_the_months_ledger_totals_feed_the_disclosure(client, setup, finance):
    from billing.models import LedgerEntry
    from billing.services import ledger_totals

    full, waived = _child(setup, 22), _child(setup, 22)
    Waiver.objects.create(
        term=setup["term"],
        student=waived,
        category="dibao",
        status="approved",
        percent=D("50"),
        effective_from=date(2026, 9, 1),
    )
    billing_run(term=setup["term"], year=2026, month=9)
    school = setup["term"].school
    LedgerEntry.objects.create(
        school=school,
        date=date(2026, 9, 30),
        kind="expense",
        category="teacher_pay",
        amount=D("100.00"),
        voucher_no="PZ-001",
        description="9月课后服务劳务费",
    )
    LedgerEntry.objects.create(
        school=school,
        date=date(2026, 8, 31),
        kind="income",
        category="subsidy",
        amount=D("50.00"),
        voucher_no="PZ-000",
        description="上月结转补助",
    )

    totals = ledger_totals(school=school, first=date(2026, 9, 1), last=date(2026, 9, 30))

    assert (totals.opening, totals.total_income, totals.total_expenses, totals.waived) == (
        D("50.00"),
        D("180.00"),
        D("100.00"),
        D("60.00"),
    )
    assert totals.closing == D("130.00") and full.pk
    client.force_login(finance)
    page = client.get(reverse("admin:billing_ledger_month"), {"month": "2026-09"})
    assert page.context["totals"].closing == D("130.00")
    assert client.get(reverse("admin:billing_ledger_month"), {"month": "2026-13"}).status_code == 200


def test_a_child_withdrawn_mid_month_pays_for_the_month_used(setup):
    child = _child(setup, 15)
    billing_run(term=setup["term"], year=2026, month=9)
    Application.objects.filter(student=child).update(status="withdrawn", withdrawn_on=date(2026, 9, 22))
    GroupMembership.objects.filter(student=child).update(left_on=date(2026, 9, 22))

    again = billing_run(term=setup["term"], year=2026, month=9)
    october = billing_run(term=setup["term"], year=2026, month=10)

    assert (again.charges, again.adjustments) == (0, 0) and _amounts(setup["term"])[child.pk] == D("120.00")
    assert (october.charges, october.adjustments) == (0, 0)


def test_a_flat_term_fee_is_charged_once_in_the_first_month_a_child_is_billed(setup):
    flat = FeeStandard.objects.create(term=setup["term"], item="lunch", mode="term_flat", amount=D("300.00"))
    child = _child(setup, 11, slot_midday=True)
    _child(setup, 11)  # no lunch care chosen: no lunch fee
    billing_run(term=setup["term"], year=2026, month=9)
    billing_run(term=setup["term"], year=2026, month=10)
    late = _child(setup, 0, slot_midday=True)  # placed in October
    billing_run(term=setup["term"], year=2026, month=10)

    lines = ChargeLine.objects.filter(standard=flat)
    assert sorted((line.student_id, str(line.month), line.amount) for line in lines) == sorted(
        [(child.pk, "2026-09-01", D("300.00")), (late.pk, "2026-10-01", D("300.00"))]
    )


def test_an_approved_waiver_needs_its_decision_details(setup):
    from django.core.exceptions import ValidationError

    waiver = Waiver(term=setup["term"], student=_child(setup, 1), category="dibao", status="approved", percent=D("100"))
    with pytest.raises(ValidationError, match="effective|生效"):
        waiver.full_clean()


def test_a_bad_month_is_a_message_not_a_failure(client, finance, setup):
    client.force_login(finance)
    response = client.post(
        "/admin/billing/billingrun/add/", {"term": setup["term"].pk, "month": "2025-01-01"}, follow=True
    )
    assert response.status_code == 200 and "不在" in response.content.decode()


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="row locks are a PostgreSQL matter; SQLite serialises writers"
)
def test_two_runs_of_the_same_month_at_once_charge_once(setup):
    import threading

    from django.db import connections

    for attended in (11, 10, 22):
        _child(setup, attended)
    barrier, errors = threading.Barrier(2), []

    def run():
        try:
            barrier.wait()
            billing_run(term=setup["term"], year=2026, month=9)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == [] and ChargeLine.objects.count() == 3
    assert sum(ChargeLine.objects.values_list("amount", flat=True)) == D("300.00")
