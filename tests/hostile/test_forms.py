"""Hostile input to every form of the portal, the teachers' pages, the gate and the log-in.

Each form is described once (``Form``: its address, the persona logged in, one valid body and
a hypothesis strategy per field) and attacked twice:

- ``test_random_posts``: hypothesis-generated bodies, every field valid, missing, hostile (SQL,
  script, spreadsheet formulas, 10,000 characters, NUL, RTL override, emoji, full-width digits,
  huge and negative numbers, impossible dates) or random text, several values for one field,
  extra fields, and the ids of another family's child or another teacher's records;
- ``test_one_hostile_field_at_a_time``: the valid body with each field in turn replaced by each
  value of ``SWEEP``, so that every field's hostile value reaches the code behind the form.

``post_and_check`` (tests/hostile/hostile.py) asserts for every post: no server error; no row
written when the input is refused; nothing stored that PostgreSQL would refuse (NUL, more
characters than the column holds); another family's rows unchanged. Each post is rolled back,
so the next one starts from the same database.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from billing.models import Waiver
from enrollment import workflow
from enrollment.models import Application, Guardian, LeaveRequest, Notification
from safety.models import Attendance, Incident, PickupPass
from tests import clock
from tests.enrollment.factories import PASSWORD, GuardianFactory, StudentGuardianFactory
from tests.hostile.hostile import SETTINGS, SWEEP, describe, form_data, ids_of, junk, post_and_check
from tests.scheduling.factories import ServiceGroupFactory

pytestmark = pytest.mark.django_db

TODAY = clock.TODAY  # the frozen day of tests/conftest.py, known at import time
AXES_TABLES = {"axes_accessattempt", "axes_accessattemptexpiration", "axes_accessfailurelog", "axes_accesslog"}

names = st.sampled_from(["王建国", "李四", "张阿姨", "外婆"])
mobiles = st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True)
on = st.just("on")
# Dates near today (the ones that can be accepted) and anywhere in four centuries.
days = st.one_of(
    st.integers(-40, 120).map(lambda n: (TODAY + timedelta(days=n)).isoformat()),
    st.dates(min_value=date(1900, 1, 1), max_value=date(2300, 1, 1)).map(date.isoformat),
)
moments = st.one_of(
    st.integers(-3, 3).map(lambda n: f"{(TODAY + timedelta(days=n)).isoformat()}T16:30"),
    st.datetimes(min_value=datetime(1900, 1, 1)).map(lambda d: d.strftime("%Y-%m-%dT%H:%M")),
)
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 40
uploads = st.tuples(
    st.sampled_from(
        [
            "证明.pdf",
            "photo.JPG",
            "scan.png",
            "evil.php",
            "x.pdf.exe",
            "../../../etc/passwd.pdf",
            "a" * 300 + ".pdf",
            "\u202efdp.exe",
            "no_extension",
            ".pdf",
            "=cmd|' -c calc'!A0.pdf",
        ]
    ),
    st.one_of(st.binary(max_size=2048), st.sampled_from([b"%PDF-1.4\n%%EOF", PNG, b"MZ\x90\x00", b""])),
)
# Where a page takes a record in its address: own, another family's, none, absurd.
TARGETS = ["own", "other", "missing", "huge"]


@dataclass
class Form:
    """One form: where it is, one valid body and what each field may hold."""

    urls: dict  # target ("own", "other", …) → address
    valid: dict  # a body the page accepts (None: a page that only ignores posts)
    fields: dict  # field → hypothesis strategy of valid values
    files: dict = field(default_factory=dict)  # file field → a function making a valid upload
    may_write: set = field(default_factory=set)  # tables a refused post may still change
    unchanged: object = None  # callable: rows that must never change (another family's)
    headers: dict = field(default_factory=dict)
    accepts_valid: bool = True


def by_target(name, own, other):
    return {
        "own": reverse(name, args=[own]),
        "other": reverse(name, args=[other]),
        "missing": reverse(name, args=[987654]),
        "huge": reverse(name, args=[10**30]),
    }


# -- the forms -----------------------------------------------------------------------------------


@pytest.fixture
def survey(client, guardian, other_guardian, term, clubs, student_a, student_b):
    client.force_login(guardian)
    return Form(
        urls=by_target("enrollment:survey", student_a.pk, student_b.pk),
        valid={"needs_service": "True", "slot_after_school": "on", "activities": str(clubs[0].pk)},
        fields={
            "needs_service": st.sampled_from(["True", "False"]),
            "slot_early": on,
            "slot_after_school": on,
            "slot_saturday": on,
            "activities": ids_of(*(c.pk for c in clubs)),
        },
    )


@pytest.fixture
def apply(client, guardian, other_guardian, term, clubs, student_a, student_b, family_b_application, settings):
    settings.UPLOAD_MAX_BYTES = 1024  # generated files fall on both sides of the limit
    client.force_login(guardian)
    club_ids = ids_of(*(c.pk for c in clubs))
    return Form(
        urls=by_target("enrollment:apply", student_a.pk, student_b.pk),
        valid={
            "slot_after_school": "on",
            "pickup": "authorised",
            "emergency_name": "外婆",
            "emergency_mobile": "13700000000",
            "health_notes": "哮喘",
            "allergies": "花生",
            "insurer": "平安保险",
            "policy_number": "P-2026-001",
            "priority": "9",
            "choice_1": str(clubs[0].pk),
            "choice_2": str(clubs[1].pk),
            "persons-TOTAL_FORMS": "1",
            "persons-INITIAL_FORMS": "0",
            "persons-MIN_NUM_FORMS": "0",
            "persons-MAX_NUM_FORMS": "4",
            "persons-0-name": "李四",
            "persons-0-relation": "舅舅",
            "persons-0-mobile": "13700000002",
            "persons-0-id_last4": "123X",
        },
        fields={
            "slot_after_school": on,
            "slot_evening": on,
            "pickup": st.sampled_from(["guardian", "authorised", "alone"]),
            "emergency_name": names,
            "emergency_mobile": mobiles,
            "health_notes": junk,
            "allergies": junk,
            "insurer": st.just("平安保险"),
            "policy_number": st.just("P-2026-001"),
            "priority": st.sampled_from(["1", "4", "9"]),
            "choice_1": club_ids,
            "choice_2": club_ids,
            "choice_3": club_ids,
            "persons-TOTAL_FORMS": st.sampled_from(["0", "1", "2", "5"]),
            "persons-INITIAL_FORMS": st.just("0"),
            "persons-MIN_NUM_FORMS": st.just("0"),
            "persons-MAX_NUM_FORMS": st.just("4"),
            "persons-0-name": names,
            "persons-0-relation": st.just("舅舅"),
            "persons-0-mobile": mobiles,
            "persons-0-id_last4": st.sampled_from(["123X", "0000"]),
            "persons-1-name": names,
            "persons-1-mobile": mobiles,
        },
        files={"priority_evidence": lambda: SimpleUploadedFile("低保证明.pdf", b"%PDF-1.4\n%%EOF")},
        unchanged=lambda: list(Application.objects.filter(pk=family_b_application.pk).values()),
    )


@pytest.fixture
def agreement(client, guardian, other_guardian, term, student_a, student_b):
    client.force_login(guardian)
    sha = workflow.agreement_current(term).sha256()
    return Form(
        urls=by_target("enrollment:agreement", student_a.pk, student_b.pk),
        valid={"typed_name": "王建国", "consent": "on", "shown_sha256": sha},
        fields={"typed_name": st.just("王建国"), "consent": on, "shown_sha256": st.sampled_from([sha, "0" * 64])},
        headers={"HTTP_USER_AGENT": "Mozilla/5.0 " + "长" * 400},
    )


@pytest.fixture
def leave(client, guardian, other_guardian, term, student_a, student_b):
    client.force_login(guardian)
    return Form(
        urls=by_target("enrollment:leave", student_a.pk, student_b.pk),
        valid={"start": TODAY.isoformat(), "end": (TODAY + timedelta(days=2)).isoformat(), "reason": "看牙"},
        fields={"start": days, "end": days, "reason": names},
    )


@pytest.fixture
def one_time_pickup(client, guardian, other_guardian, term, student_a, student_b):
    client.force_login(guardian)
    client.get(reverse("enrollment:portal_child", args=[student_a.pk]))  # makes the guardians' own codes
    return Form(
        urls=by_target("enrollment:portal_child", student_a.pk, student_b.pk),
        valid={"name": "张阿姨", "mobile": "13700000003", "day": (TODAY + timedelta(days=1)).isoformat()},
        fields={"name": names, "mobile": mobiles, "day": days},
        unchanged=lambda: list(PickupPass.objects.filter(student=student_b).values()),
    )


@pytest.fixture
def waiver(client, guardian, other_guardian, term, student_a, student_b, settings):
    settings.UPLOAD_MAX_BYTES = 1024
    client.force_login(guardian)
    return Form(
        urls=by_target("enrollment:waiver", student_a.pk, student_b.pk),
        valid={"category": "dibao"},
        fields={"category": st.sampled_from(Waiver.Category.values)},
        files={"evidence": lambda: SimpleUploadedFile("证明.pdf", b"%PDF-1.4\n%%EOF")},
    )


@pytest.fixture
def withdraw(client, guardian, other_guardian, term, family_a_application, family_b_application):
    client.force_login(guardian)
    return Form(
        urls=by_target("enrollment:application_withdraw", family_a_application.pk, family_b_application.pk),
        valid={"effective": (TODAY + timedelta(days=3)).isoformat(), "note": "搬家"},
        fields={"effective": days, "note": names},
        unchanged=lambda: list(Application.objects.filter(pk=family_b_application.pk).values()),
    )


@pytest.fixture
def inbox(client, guardian, other_guardian, messages_for):
    """Mark all read; opening one message is a page that also answers POST, by anyone's id."""
    client.force_login(guardian)
    mine, theirs = messages_for
    return Form(
        urls={
            "own": reverse("enrollment:portal_inbox_read_all"),
            "message": reverse("enrollment:portal_message", args=[mine[0].pk]),
            "other": reverse("enrollment:portal_message", args=[theirs.pk]),
            "huge": reverse("enrollment:portal_message", args=[10**30]),
        },
        valid={},
        fields={"page": junk},
        unchanged=lambda: list(Notification.objects.filter(pk=theirs.pk).values_list("read_at")),
    )


@pytest.fixture
def incident_acknowledgement(client, guardian, other_guardian, student_a, student_b, incident):
    client.force_login(guardian)

    def url(child, pk):
        return reverse("enrollment:incident_acknowledge", args=[child, pk])

    return Form(
        urls={
            "own": url(student_a.pk, incident.pk),
            "other": url(student_b.pk, incident.pk),
            "missing": url(student_a.pk, 987654),
            "huge": url(student_a.pk, 10**30),
        },
        valid={},
        fields={"incident": ids_of(incident.pk)},
    )


@pytest.fixture
def reviews(client, homeroom_teacher, family_a_application, family_b_application, leave_requests, homeroom_b):
    client.force_login(homeroom_teacher)
    mine, theirs = leave_requests
    return Form(
        urls={"own": reverse("enrollment:reviews")},
        valid={"decision": "reject", "note": "名额已满", "applications": str(family_a_application.pk)},
        fields={
            "decision": st.sampled_from(["approve", "reject"]),
            "note": names,
            "applications": ids_of(family_a_application.pk, family_b_application.pk),
            "leave": ids_of(mine.pk, theirs.pk),
        },
        unchanged=lambda: (
            list(Application.objects.filter(pk=family_b_application.pk).values()),
            list(LeaveRequest.objects.filter(pk=theirs.pk).values()),
        ),
    )


@pytest.fixture
def class_pages(client, homeroom_teacher, homeroom_a, homeroom_b, student_a, guardian):
    """Pages that only show: a post changes nothing (and the staff inbox's mark-read)."""
    client.force_login(homeroom_teacher)
    return Form(
        urls={
            "own": reverse("enrollment:class_list"),
            "class": reverse("enrollment:class_detail", args=[homeroom_a.pk]),
            "other": reverse("enrollment:class_detail", args=[homeroom_b.pk]),
            "inbox": reverse("enrollment:inbox_read_all"),
        },
        valid={"student": str(student_a.pk)},
        fields={"student": ids_of(student_a.pk)},
        accepts_valid=False,
    )


@pytest.fixture
def roll_call_form(client, service_teacher, session, members, student_b):
    client.force_login(service_teacher)
    states = st.sampled_from(Attendance.values)
    fields = {f"s{student.pk}": states for student in members}
    fields[f"s{student_b.pk}"] = states  # a child of another group
    fields |= {"version": ids_of(0, 1, 2), "reason": names}
    return Form(
        urls={"own": reverse("safety:roll_call", args=[session.pk])},
        valid={**{f"s{s.pk}": "present" for s in members}, "version": "0", "reason": "补记"},
        fields=fields,
    )


@pytest.fixture
def roll_call_correction(client, service_teacher, session, roll_call, members):
    """The same page once a roll call exists: corrections, stale versions, reasons."""
    client.force_login(service_teacher)
    states = st.sampled_from(Attendance.values)
    return Form(
        urls={"own": reverse("safety:roll_call", args=[session.pk])},
        valid={**{f"s{s.pk}": "late" for s in members}, "version": "1", "reason": "家长来电"},
        fields={**{f"s{s.pk}": states for s in members}, "version": ids_of(0, 1, 2), "reason": names},
    )


@pytest.fixture
def dismissal(client, service_teacher, session, roll_call, members, student_b, placed_application):
    client.force_login(service_teacher)
    codes = list(PickupPass.objects.filter(student__in=members).values_list("code", flat=True))
    return Form(
        urls={"own": reverse("safety:dismissal", args=[session.pk])},
        valid={"action": "bus", "student": str(members[0].pk), "pickup_point": "东门", "note": "妈妈在路上"},
        fields={
            "action": st.sampled_from(["release", "contact", "close", "alone", "bus", "gate", ""]),
            "student": ids_of(*(s.pk for s in members), student_b.pk),
            "code": st.sampled_from(codes),
            "note": names,
            "pickup_point": st.just("东门"),
        },
    )


@pytest.fixture
def contact_attempt(client, service_teacher, session, roll_call, members):
    client.force_login(service_teacher)
    return Form(
        urls={"own": reverse("safety:dismissal", args=[session.pk])},
        valid={"action": "contact", "student": str(members[0].pk), "note": "妈妈在路上，18:10 到"},
        fields={"action": st.just("contact"), "student": ids_of(*(s.pk for s in members)), "note": names},
    )


@pytest.fixture
def follow_ups(client, homeroom_teacher, follow_up):
    client.force_login(homeroom_teacher)
    return Form(
        urls={"own": reverse("safety:follow_ups")},
        valid={"follow_up": str(follow_up.pk), "note": "家长说孩子发烧在家"},
        fields={"follow_up": ids_of(follow_up.pk), "note": names},
    )


@pytest.fixture
def handover(client, homeroom_teacher, homeroom_a, homeroom_b, members):
    client.force_login(homeroom_teacher)
    return Form(
        urls={"own": reverse("safety:handover")},
        valid={"homeroom": str(homeroom_a.pk), "note": "全部交接"},
        fields={"homeroom": ids_of(homeroom_a.pk, homeroom_b.pk), "note": names},
    )


@pytest.fixture
def care_record(client, service_teacher, session):
    client.force_login(service_teacher)
    foreign = ServiceGroupFactory(term=session.group.term, name="别的组")
    return Form(
        urls={"own": reverse("safety:records")},
        valid={"care": "1", "group": str(session.group.pk), "text": "作业完成良好"},
        fields={"care": st.just("1"), "group": ids_of(session.group.pk, foreign.pk), "text": names},
    )


@pytest.fixture
def activity_record(client, service_teacher, session):
    client.force_login(service_teacher)
    return Form(
        urls={"own": reverse("safety:records")},
        valid={"activity": str(session.activity.pk), "group": str(session.group.pk), "text": "练习了开合跳"},
        fields={
            "activity": ids_of(session.activity.pk),
            "group": ids_of(session.group.pk),
            "text": names,
        },
    )


@pytest.fixture
def incident_report(client, service_teacher, session, members, student_b):
    client.force_login(service_teacher)
    return Form(
        urls={"own": reverse("safety:incident_new")},
        valid={
            "kind": "injury",
            "severity": "1",
            "occurred_at": f"{TODAY.isoformat()}T16:30",
            "group": str(session.group.pk),
            "students": str(members[0].pk),
            "description": "跑步摔倒，膝盖擦伤",
            "actions": "已消毒包扎",
        },
        fields={
            "kind": st.sampled_from(Incident.Kind.values),
            "severity": st.sampled_from(["1", "2", "3"]),
            "occurred_at": moments,
            "group": ids_of(session.group.pk),
            "students": ids_of(*(s.pk for s in members), student_b.pk),
            "description": names,
            "actions": names,
            "guardians_notified_at": moments,
        },
    )


@pytest.fixture
def incident_close(client, service_teacher, incident):
    client.force_login(service_teacher)
    Incident.objects.filter(pk=incident.pk).update(guardians_notified_at=timezone.now())
    return Form(
        urls=by_target("safety:incident", incident.pk, 987653),
        valid={"follow_up": "家长已知悉，次日复查"},
        fields={"notified": on, "follow_up": names},
    )


@pytest.fixture
def patrol(client, duty_leader, session):
    client.force_login(duty_leader)
    return Form(
        urls={"own": reverse("safety:patrol"), "board": reverse("safety:duty_board")},
        valid={"group": str(session.group.pk), "observations": "秩序良好"},
        fields={"group": ids_of(session.group.pk), "observations": names},
    )


@pytest.fixture
def gate(client, gate_guard):
    client.force_login(gate_guard)
    return Form(
        urls={"own": reverse("safety:gate")},
        valid={"visitor": "快递员", "id_last4": "123X", "purpose": "送文件", "host": "王老师"},
        fields={
            "visitor": names,
            "id_last4": st.sampled_from(["123X", "0000"]),
            "purpose": st.just("送文件"),
            "host": names,
            "out": ids_of(1, 2),
        },
    )


@pytest.fixture
def activation(client, admin_user, student_a, guardian):
    """A code for 赵敏, a guardian of student_a without an account yet; posted anonymously."""
    family = GuardianFactory(name="赵敏", mobile="13955556666")
    StudentGuardianFactory(student=student_a, guardian=family, is_primary=False)
    [(_guardian, code)] = workflow.invitation_issue(guardians=[family], issued_by=admin_user)
    password = "Zx9-long-enough-pass"
    return Form(
        urls={"own": reverse("enrollment:activate")},
        valid={"mobile": "13955556666", "code": code, "password1": password, "password2": password},
        fields={
            "mobile": st.sampled_from(["13955556666", "13911112222"]),
            "code": st.sampled_from([code, code.lower()]),
            "password1": st.just(password),
            "password2": st.just(password),
        },
        unchanged=lambda: list(Guardian.objects.filter(pk=guardian.guardian.pk).values()),
    )


@pytest.fixture
def login(client, guardian):
    return Form(
        urls={"own": reverse("login")},
        valid={"username": "13911112222", "password": PASSWORD},
        fields={"username": st.sampled_from(["13911112222", "guardian_a"]), "password": st.sampled_from([PASSWORD])},
        # A wrong password is counted by django-axes: that row is the lock-out working, not a leak.
        may_write=AXES_TABLES,
    )


# -- finance in the admin site (billing has no pages of its own) -------------------------------


@pytest.fixture
def finance_term(term, finance, student_a, student_b):
    return term


def _money_fields(term, student_a, student_b):
    return {
        "term": ids_of(term.pk),
        "student": ids_of(student_a.pk, student_b.pk),
        "amount": st.sampled_from(["120.00", "0.01", "1060.5", "9999999999.99"]),
    }


@pytest.fixture
def payment(client, finance, finance_term, student_a, student_b):
    client.force_login(finance)
    return Form(
        urls={"own": reverse("admin:billing_payment_add")},
        valid={"term": str(finance_term.pk), "student": str(student_a.pk), "amount": "120.00", "method": "cash"},
        fields={
            **_money_fields(finance_term, student_a, student_b),
            "method": st.sampled_from(["cash", "transfer", "online"]),
            "reference": st.just("B2026-001"),
        },
    )


@pytest.fixture
def refund(client, finance, finance_term, student_a, student_b):
    client.force_login(finance)
    return Form(
        urls={"own": reverse("admin:billing_refund_add")},
        valid={"term": str(finance_term.pk), "student": str(student_a.pk), "amount": "10.00", "reason": "多缴"},
        fields={**_money_fields(finance_term, student_a, student_b), "reason": names},
    )


@pytest.fixture
def settlement_refund(client, finance, finance_term, student_a, student_b):
    """结余退还: student_a paid 120.00 and was charged nothing, so 120.00 is due back."""
    from billing.services import payment_post

    payment_post(term=finance_term, student=student_a, amount="120.00", method="cash", received_by=finance)
    client.force_login(finance)
    return Form(
        urls=by_target("admin:billing_settlement", finance_term.pk, 987654),
        valid={"student": str(student_a.pk)},
        fields={"student": ids_of(student_a.pk, student_b.pk)},
    )


@pytest.fixture
def waiver_decision(client, finance, finance_term, student_a, student_b):
    client.force_login(finance)
    return Form(
        urls={"own": reverse("admin:billing_waiver_add")},
        valid={
            "term": str(finance_term.pk),
            "student": str(student_a.pk),
            "category": "dibao",
            "status": "approved",
            "percent": "50",
            "effective_from": TODAY.isoformat(),
            "meeting_date": TODAY.isoformat(),
            "approver": "校长办公会",
        },
        fields={
            "term": ids_of(finance_term.pk),
            "student": ids_of(student_a.pk, student_b.pk),
            "category": st.sampled_from(Waiver.Category.values),
            "status": st.sampled_from(Waiver.Status.values),
            "percent": st.sampled_from(["0", "50", "100", "33.3333"]),
            "effective_from": days,
            "meeting_date": days,
            "approver": names,
        },
    )


@pytest.fixture
def billing_run_form(client, finance, finance_term):
    client.force_login(finance)
    month = TODAY.replace(day=1)
    return Form(
        urls={"own": reverse("admin:billing_billingrun_add")},
        valid={"term": str(finance_term.pk), "month": month.isoformat()},
        fields={"term": ids_of(finance_term.pk), "month": days},
    )


FORMS = [
    "survey",
    "apply",
    "agreement",
    "leave",
    "one_time_pickup",
    "waiver",
    "withdraw",
    "inbox",
    "incident_acknowledgement",
    "reviews",
    "class_pages",
    "roll_call_form",
    "roll_call_correction",
    "dismissal",
    "contact_attempt",
    "follow_ups",
    "handover",
    "care_record",
    "activity_record",
    "incident_report",
    "incident_close",
    "patrol",
    "gate",
    "activation",
    "login",
    "payment",
    "refund",
    "settlement_refund",
    "waiver_decision",
    "billing_run_form",
]


def _post(client, form, url, body, *, target="own", files=None):
    return post_and_check(
        client,
        url,
        body,
        files=files,
        may_write=form.may_write,
        unchanged=form.unchanged,
        # Another family's record, or one that does not exist, is a 404 and nothing else (a body
        # carrying a NUL character is turned away before any lookup: 400).
        expect_status=({404, 400} if _has_nul(body) else {404}) if target in ("other", "missing", "huge") else None,
        **form.headers,
    )


def _has_nul(body) -> bool:
    values = body.values() if isinstance(body, dict) else []
    return any("\x00" in str(v) for value in values for v in (value if isinstance(value, list) else [value]))


def _upload(spec):
    name, content = spec
    return SimpleUploadedFile(name, content)


@pytest.mark.parametrize("name", FORMS)
@SETTINGS
@given(data=st.data())
def test_random_posts(client, request, name, data):
    form = request.getfixturevalue(name)
    # Half the examples go to the persona's own page, the rest to any of the form's addresses.
    target = data.draw(st.one_of(st.just("own"), st.sampled_from(sorted(form.urls))), label="target")
    body = data.draw(form_data(form.fields), label="body")
    files = {key: _upload(data.draw(uploads, label=key)) for key in form.files if data.draw(st.booleans())}
    _post(client, form, form.urls[target], body, target=target, files=files)


@pytest.mark.parametrize("name", FORMS)
def test_one_hostile_field_at_a_time(client, request, name):
    form = request.getfixturevalue(name)
    url = form.urls["own"]

    def valid_files(without=None):
        return {key: make() for key, make in form.files.items() if key != without}

    status, refused = _post(client, form, url, dict(form.valid), files=valid_files())
    assert refused != form.accepts_valid, f"the valid body was {'refused' if refused else 'accepted'} ({status})"
    problems = []  # every failing field and value, not only the first
    for key in sorted(set(form.valid) | set(form.fields) | set(form.files)):
        for value in SWEEP:
            body = {k: v for k, v in form.valid.items() if k != key}
            if value is not None:
                body[key] = value
            try:
                _post(client, form, url, body, files=valid_files(without=key))
            except AssertionError as exc:
                problems.append(f"field {key!r} = {describe(value)}: {exc}")
    assert not problems, f"{len(problems)} failing posts:\n\n" + "\n\n".join(problems)
