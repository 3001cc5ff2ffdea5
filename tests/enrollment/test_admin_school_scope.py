"""The admin site shows the admin and finance of a school their own school only.

Two schools with one of everything each: 甲校 (the personas' school) and 乙校. Every name of
乙校's rows starts with "乙校", so a page that leaks any of them is found by a substring.
"""

from datetime import date, time, timedelta
from decimal import Decimal
from io import BytesIO

import pytest
from django.contrib import admin
from django.core.files.base import ContentFile
from django.forms import BooleanField
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from afterschool.admin_scoping import SchoolScoped
from billing.models import (
    BillingRun,
    ChargeLine,
    DutyShift,
    FeeStandard,
    LedgerEntry,
    Payment,
    PerformanceEvent,
    Refund,
    SubsidyRates,
    Waiver,
)
from enrollment.models import (
    AgreementSignature,
    AgreementText,
    Application,
    Document,
    DocumentBatch,
    InvitationCode,
    LeaveRequest,
    Notification,
    ParentNotice,
    StaffProfile,
    SurveyResponse,
    User,
)
from enrollment.roles import Role
from safety.models import (
    AbsenceFollowUp,
    ActivityRecord,
    CareRecord,
    ContactAttempt,
    GateVisit,
    Handover,
    Incident,
    PatrolRecord,
    Release,
    RollCall,
    RollCallEntry,
)
from scheduling.models import (
    Closure,
    DutyDay,
    GradeDismissal,
    GroupMembership,
    MakeupDayTimetable,
    ServiceSeason,
    ServiceSettings,
    Session,
    WaitlistEntry,
)
from tests.enrollment.factories import (
    GradeFactory,
    GuardianFactory,
    HomeroomFactory,
    SchoolFactory,
    StaffProfileFactory,
    StudentFactory,
    StudentGuardianFactory,
    TermFactory,
    UserFactory,
)
from tests.scheduling.factories import ActivityFactory, RoomFactory, ServiceGroupFactory, SlotFactory

pytestmark = pytest.mark.django_db

OTHER = "乙校"


def school_world(school, prefix: str, *, number: int, grade: int = 4) -> dict:
    """One of every school-owned row of ``school``, each named with ``prefix``; keyed by model label."""
    today, now = timezone.localdate(), timezone.now()
    teacher = StaffProfileFactory(
        school=school,
        name=f"{prefix}老师{number}",
        user=UserFactory(username=f"{prefix}t{number}", first_name=f"{prefix}老师{number}"),
    ).user
    term = TermFactory(
        school=school, name=f"{prefix}学期{number}", start=today - timedelta(days=20), end=today + timedelta(days=100),
        application_opens=today - timedelta(days=10), application_closes=today + timedelta(days=10),
    )  # fmt: skip
    homeroom = HomeroomFactory(grade=GradeFactory(school=school, number=grade), number=9, teacher=teacher)
    student = StudentFactory(homeroom=homeroom, name=f"{prefix}学生{number}", student_no=f"{prefix}{number:04d}")
    parent = UserFactory(username=f"{prefix}p{number}", first_name=f"{prefix}家长{number}", roles=[Role.GUARDIAN])
    guardian = StudentGuardianFactory(
        student=student, guardian=GuardianFactory(user=parent, name=f"{prefix}家长{number}")
    ).guardian

    application = Application.objects.create(
        term=term, student=student, guardian=guardian, emergency_name=f"{prefix}外婆", emergency_mobile="13700000000"
    )
    notice = ParentNotice.objects.create(term=term, title=f"{prefix}告家长书{number}", body="……", published=True)
    text = AgreementText.objects.create(term=term, version=1, title=f"{prefix}安全责任书{number}", body="……")
    signature = AgreementSignature.objects.create(
        term=term, text=text, student=student, guardian=guardian, signed_name=f"{prefix}家长{number}",
        text_sha256=text.sha256(),
    )  # fmt: skip
    survey = SurveyResponse.objects.create(term=term, student=student, guardian=guardian, needs_service=True)
    leave = LeaveRequest.objects.create(student=student, guardian=guardian, start=today, end=today, reason="病假")
    code = InvitationCode.objects.create(
        guardian=guardian, code_hash=f"{number:x}".rjust(64, "0"), expires_at=now + timedelta(days=30)
    )
    message = Notification.objects.create(guardian=guardian, kind="test", subject=f"{prefix}通知{number}", body="…")
    staff_message = Notification.objects.create(
        recipient=teacher, kind="test", subject=f"{prefix}通知{number}", body="…"
    )
    document = Document.objects.create(
        school=school, kind=Document.Kind.DISCLOSURE, title=f"{prefix}收支公示{number}", status=Document.Status.DONE,
        params={"month": "2026-10"},
    )  # fmt: skip
    document.file.save("disclosure.pdf", ContentFile(b"%PDF-1.4 test"))
    batch = DocumentBatch.objects.create(
        school=school, kind=Document.Kind.FEE_NOTICE, label=f"{prefix}缴费通知{number}"
    )

    room = RoomFactory(school=school, name=f"{prefix}教室{number}")
    activity = ActivityFactory(school=school, name=f"{prefix}活动{number}", teacher=teacher)
    group = ServiceGroupFactory(term=term, name=f"{prefix}服务班{number}", teacher=teacher)
    group.grades.add(homeroom.grade)
    slot = SlotFactory(group=group, weekday=today.weekday(), teacher=teacher, room=room, activity=activity)
    session = Session.objects.create(
        slot=slot, group=group, date=today, start=slot.start, end=slot.end, activity=activity, room=room,
        teacher=teacher,
    )  # fmt: skip
    GroupMembership.objects.create(group=group, student=student)
    closure = Closure.objects.create(
        school=school, kind=Closure.Kind.WEATHER, start=today, end=today, reason=f"{prefix}台风", created_by=teacher
    )
    closure.grades.add(homeroom.grade)
    makeup = MakeupDayTimetable.objects.create(school=school, date=date(2026, 9, 20 + number), weekday=0)
    service_settings, _created = ServiceSettings.objects.get_or_create(
        school=school, defaults={"work_end_time": time(17, 30)}
    )
    season = ServiceSeason.objects.create(
        school=school, name=f"{prefix}夏季{number}", start_month=5, start_day=1, end_month=9, end_day=30,
        end_time=time(18, 30),
    )  # fmt: skip
    dismissal = GradeDismissal.objects.create(grade=homeroom.grade, end_time=time(17, 50))
    waitlist = WaitlistEntry.objects.create(term=term, student=student, position=1)
    duty_day = DutyDay.objects.create(school=school, date=today - timedelta(days=number), leader=teacher)
    duty_day.admin_staff.add(teacher)

    standard = FeeStandard.objects.create(term=term, item="after_school", mode="monthly_half", amount=Decimal("120"))
    waiver = Waiver.objects.create(term=term, student=student, category=Waiver.Category.MINIMUM_LIVING)
    run = BillingRun.objects.create(term=term, month=today.replace(day=1))
    line = ChargeLine.objects.create(
        term=term, student=student, standard=standard, month=today.replace(day=1), kind="charge", fee=Decimal("120"),
        workdays=20, participation_days=15, waiver_percent=Decimal("0"), amount=Decimal("120"), run=run,
    )  # fmt: skip
    payment = Payment.objects.create(
        school=school, term=term, student=student, amount=Decimal("120"), method="cash",
        receipt_no=f"{prefix}R{number}", paid_at=now, received_by=teacher,
    )  # fmt: skip
    refund = Refund.objects.create(
        school=school, term=term, student=student, amount=Decimal("10"), receipt_no=f"{prefix}T{number}",
        reason="结余退还", refunded_at=now, refunded_by=teacher,
    )  # fmt: skip
    ledger = LedgerEntry.objects.create(
        school=school, date=today, kind="income", category="fees", amount=Decimal("120"),
        voucher_no=f"{prefix}V{number}", description=f"{prefix}收费",
    )  # fmt: skip
    rates, _created = SubsidyRates.objects.get_or_create(school=school)
    shift = DutyShift.objects.create(school=school, teacher=teacher, date=today, kind="safety_zone")
    event = PerformanceEvent.objects.create(
        school=school, teacher=teacher, date=today, kind="early_leave", description=f"{prefix}早退"
    )

    roll_call = RollCall.objects.create(session=session, taken_by=teacher)
    entry = RollCallEntry.objects.create(roll_call=roll_call, student=student, status="absent")
    follow_up = AbsenceFollowUp.objects.create(entry=entry, note=f"{prefix}电话")
    release = Release.objects.create(
        group=group, date=today, student=student, kind="guardian", released_at=now, released_by=teacher
    )
    contact = ContactAttempt.objects.create(group=group, date=today, student=student, by=teacher, note=f"{prefix}…")
    handover = Handover.objects.create(homeroom=homeroom, date=today, handed_by=teacher, handed_at=now, count=1)
    care = CareRecord.objects.create(group=group, date=today, text=f"{prefix}……", author=teacher)
    activity_record = ActivityRecord.objects.create(
        group=group, week_of=today - timedelta(days=today.weekday()), activity=activity, text="……", author=teacher
    )
    patrol = PatrolRecord.objects.create(school=school, leader=teacher, at=now, observations=f"{prefix}……")
    incident = Incident.objects.create(
        school=school, kind="injury", severity=1, occurred_at=now, group=group, description=f"{prefix}摔倒",
        actions="处理", reported_by=teacher,
    )  # fmt: skip
    incident.students.add(student)
    visit = GateVisit.objects.create(
        school=school, visitor=f"{prefix}访客", purpose="送东西", in_at=now, recorded_by=teacher
    )

    rows = [
        school, term, homeroom.grade, homeroom, student, guardian, parent, teacher.staff_profile, application, text,
        signature, notice, survey, leave, code, message, document, batch, room, activity, group, session, closure,
        makeup, service_settings, season, dismissal, waitlist, duty_day, standard, waiver, run, line, payment, refund,
        ledger, rates, shift, event, roll_call, follow_up, release, contact, handover, care, activity_record, patrol,
        incident, visit,
    ]  # fmt: skip
    world = {row._meta.label_lower: row for row in rows}
    world["staff_message"], world["teacher"] = staff_message, teacher
    return world


@pytest.fixture
def own(school, admin_user, finance):
    return school_world(school, "甲校", number=1)


@pytest.fixture
def other(db):
    return school_world(SchoolFactory(name=OTHER), OTHER, number=2)


def scoped_models():
    """The models whose admin is limited to the user's school, with their admin."""
    return [
        (model, model_admin)
        for model, model_admin in admin.site._registry.items()
        if isinstance(model_admin, SchoolScoped)
    ]


def test_every_admin_of_a_school_owned_model_is_scoped():
    unscoped = {model._meta.label_lower for model in admin.site._registry} - {
        model._meta.label_lower for model, _admin in scoped_models()
    }
    # Roles, the national holiday notices and the log-in lockouts belong to no school.
    assert unscoped == {
        "auth.group", "scheduling.holidaynotice", "axes.accessattempt", "axes.accesslog", "axes.accessfailurelog",
    }  # fmt: skip


@pytest.mark.parametrize("persona", ["admin_user", "finance"])
def test_lists_and_pages_show_only_the_users_school(client, own, other, persona, request):
    client.force_login(request.getfixturevalue(persona))
    problems = []
    for model, _model_admin in scoped_models():
        label, info = model._meta.label_lower, (model._meta.app_label, model._meta.model_name)
        response = client.get(reverse("admin:{}_{}_changelist".format(*info)))
        if response.status_code == 403:
            continue  # the role does not read this model at all
        listed = set(response.context["cl"].queryset.values_list("pk", flat=True))
        if own[label].pk not in listed:
            problems.append(f"{label}: own row missing from the list")
        if other[label].pk in listed:
            problems.append(f"{label}: the other school's row is listed")
        if OTHER in response.content.decode():
            problems.append(f"{label}: the list page names the other school's rows (filters?)")

        response = client.get(reverse("admin:{}_{}_change".format(*info), args=[own[label].pk]))
        if response.status_code != 200 or OTHER in response.content.decode():
            problems.append(f"{label}: own change page {response.status_code} or offers the other school's rows")

        # Another school's row "doesn't exist": the admin's redirect to the index, with its message.
        for page in ("change", "history"):
            url = reverse(f"admin:{info[0]}_{info[1]}_{page}", args=[other[label].pk])
            response = client.get(url, follow=True)
            html = response.content.decode()
            if response.redirect_chain[-1:] != [(reverse("admin:index"), 302)] and response.status_code != 404:
                problems.append(f"{label}: the other school's {page} page answers {response.status_code}")
            elif response.status_code == 200 and "不存在" not in html:
                problems.append(f"{label}: the other school's {page} page redirects without saying why")
            if OTHER in html:
                problems.append(f"{label}: the other school's {page} page shows its data")

    assert not problems, "\n".join(problems)


def test_the_add_forms_offer_only_the_users_school(client, own, other, admin_user):
    """Every foreign-key and many-to-many choice of every add form and its inlines."""
    client.force_login(admin_user)
    problems = []
    for model, _model_admin in scoped_models():
        info = (model._meta.app_label, model._meta.model_name)
        response = client.get(reverse("admin:{}_{}_add".format(*info)))
        if response.status_code == 403:
            continue
        forms = [("", response.context["adminform"].form)]
        for inline in response.context["inline_admin_formsets"]:
            forms.append((f"{inline.formset.prefix}-", inline.formset.empty_form))
        for prefix, form in forms:
            for name, field in form.fields.items():
                queryset = getattr(field, "queryset", None)
                if queryset is None or queryset.model._meta.label_lower not in other:
                    continue
                foreign = [other[queryset.model._meta.label_lower]]
                if queryset.model is User:
                    foreign.append(other["teacher"])  # the other school's staff as well as its guardians
                if queryset.filter(pk__in=[row.pk for row in foreign]).exists():
                    problems.append(f"{model._meta.label_lower} {prefix}{name}: offers the other school's row")
        if OTHER in response.content.decode():
            problems.append(f"{model._meta.label_lower}: the add page names the other school's rows")

    assert not problems, "\n".join(problems)


def test_teacher_choices_are_the_schools_staff(client, own, other, admin_user):
    client.force_login(admin_user)
    form = client.get(reverse("admin:scheduling_servicegroup_add")).context["adminform"].form
    teachers = set(form.fields["teacher"].queryset)
    assert own["teacher"] in teachers and admin_user in teachers
    assert own["enrollment.user"] not in teachers  # a guardian's log-in is no teacher
    assert other["teacher"] not in teachers

    url = reverse("admin:autocomplete")
    found = client.get(url, {"app_label": "enrollment", "model_name": "homeroom", "field_name": "teacher", "term": ""})
    names = {row["text"] for row in found.json()["results"]}
    assert str(own["teacher"]) in names and str(own["enrollment.user"]) not in names
    assert not any(OTHER in name for name in names)


@pytest.mark.parametrize(
    ("app_label", "model_name", "field_name"),
    [
        ("billing", "payment", "student"),
        ("enrollment", "application", "guardian"),
        ("enrollment", "student", "homeroom"),
        ("enrollment", "applicationchoice", "activity"),
        ("scheduling", "timetableslot", "room"),
        ("scheduling", "activity", "teacher"),
    ],
)
def test_autocomplete_finds_only_the_users_school(
    client, own, other, finance, admin_user, app_label, model_name, field_name
):
    client.force_login(admin_user)
    params = {"app_label": app_label, "model_name": model_name, "field_name": field_name, "term": ""}
    response = client.get(reverse("admin:autocomplete"), params)

    assert response.status_code == 200
    texts = [row["text"] for row in response.json()["results"]]
    assert texts and not any(OTHER in text for text in texts)
    ids = {int(row["id"]) for row in response.json()["results"]}
    related = {
        "student": "enrollment.student", "guardian": "enrollment.guardian", "homeroom": "enrollment.homeroom",
        "activity": "scheduling.activity", "room": "scheduling.room", "teacher": "teacher",
    }[field_name]  # fmt: skip
    assert own[related].pk in ids and other[related].pk not in ids


def test_a_forged_id_of_another_school_is_an_invalid_choice(client, own, other, admin_user):
    client.force_login(admin_user)
    data = {
        "term": other["enrollment.term"].pk, "student": other["enrollment.student"].pk, "position": 1,
    }  # fmt: skip

    response = client.post(reverse("admin:scheduling_waitlistentry_add"), data)

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert set(errors) == {"term", "student"}
    assert (
        not WaitlistEntry.objects.filter(term=other["enrollment.term"], position=1)
        .exclude(pk=other["scheduling.waitlistentry"].pk)
        .exists()
    )


@pytest.mark.parametrize("persona", ["admin_user", "finance"])
def test_pages_of_another_schools_term_are_not_found(client, own, other, persona, request):
    client.force_login(request.getfixturevalue(persona))
    term, mine = other["enrollment.term"].pk, own["enrollment.term"].pk
    for name in ("enrollment_survey_totals", "scheduling_calendar", "billing_fees_by_class", "billing_arrears"):
        assert client.get(reverse(f"admin:{name}", args=[mine])).status_code == 200, name
        assert client.get(reverse(f"admin:{name}", args=[term])).status_code == 404, name
    assert (
        client.get(reverse("admin:enrollment_document_download", args=[other["enrollment.document"].pk])).status_code
        == 404
    )

    calendar = client.get(reverse("admin:scheduling_calendar", args=[mine])).content.decode()
    assert OTHER not in calendar  # the term switcher lists the school's terms


@pytest.mark.parametrize(
    ("kind", "label"), [("group", "scheduling.servicegroup"), ("room", "scheduling.room"), ("teacher", "teacher")]
)
def test_week_grid_of_another_schools_group_room_or_teacher_is_not_found(client, own, other, admin_user, kind, label):
    client.force_login(admin_user)
    url = reverse("admin:scheduling_week")

    mine = client.get(url, {kind: own[label].pk})
    assert mine.status_code == 200 and OTHER not in mine.content.decode()  # the choices too
    assert client.get(url, {kind: other[label].pk}).status_code == 404


def test_history_of_another_schools_child_is_not_found(client, own, other, admin_user):
    """django-simple-history would fall back to the history rows of a child it cannot find."""
    client.force_login(admin_user)
    for label in ("enrollment.student", "enrollment.guardian"):
        row = other[label]
        info = (row._meta.app_label, row._meta.model_name)
        version = row.history.first().history_id
        assert client.get(reverse("admin:{}_{}_history".format(*info), args=[row.pk])).status_code == 404
        url = reverse("admin:{}_{}_simple_history".format(*info), args=[row.pk, version])
        assert client.get(url).status_code == 404
        assert client.post(url, {"name": "改名"}).status_code == 404
        own_row = own[label]
        own_url = reverse(
            "admin:{}_{}_simple_history".format(*info), args=[own_row.pk, own_row.history.first().history_id]
        )
        assert client.get(own_url).status_code == 200


def test_the_roster_export_holds_only_the_users_school(client, own, other, finance):
    client.force_login(finance)
    url = reverse("admin:enrollment_student_export")
    form = client.get(url).context["form"]
    xlsx = next(str(value) for value, label in form.fields["format"].choices if str(label).lower() == "xlsx")
    fields = {name: "on" for name in form.fields if name.startswith("rosterresource_")}

    response = client.post(url, {"format": xlsx, **fields})

    rows = list(load_workbook(BytesIO(response.content)).active.values)
    assert [row[1] for row in rows[1:]] == [own["enrollment.student"].name]


@pytest.mark.parametrize("model_name", ["waiver", "chargeline", "payment", "refund", "ledgerentry"])
def test_billing_exports_hold_only_the_users_school(client, own, other, finance, model_name):
    client.force_login(finance)
    url = reverse(f"admin:billing_{model_name}_export")
    form = client.get(url).context["form"]
    csv = next(str(value) for value, label in form.fields["format"].choices if str(label).lower() == "csv")
    columns = {name: "on" for name, field in form.fields.items() if isinstance(field, BooleanField)}

    response = client.post(url, {"format": csv, **columns})

    text = response.content.decode("utf-8-sig")
    assert response.status_code == 200 and "甲校" in text and OTHER not in text


def test_the_roster_import_goes_into_the_users_school_only(client, own, other, admin_user):
    client.force_login(admin_user)
    form = client.get(reverse("admin:enrollment_student_import")).context["form"]

    assert list(form.fields["school"].queryset) == [own["enrollment.school"]]
    assert form["school"].value() == own["enrollment.school"].pk


def test_invitation_codes_list_only_the_users_schools_children(client, own, other, admin_user):
    """A guardian with children at both schools: the first school's list names its own child only."""
    guardian = own["enrollment.guardian"]
    StudentGuardianFactory(student=other["enrollment.student"], guardian=guardian, is_primary=False)
    client.force_login(admin_user)

    change = client.get(reverse("admin:enrollment_guardian_change", args=[guardian.pk])).content.decode()
    response = client.post(
        reverse("admin:enrollment_guardian_changelist"),
        {"action": "issue_codes_printable", "_selected_action": [guardian.pk]},
    )

    assert own["enrollment.student"].name in change and OTHER not in change  # the inline of children
    html = response.content.decode()
    assert own["enrollment.student"].name in html and OTHER not in html


def test_an_account_added_by_the_school_admin_is_the_schools_staff(client, own, admin_user):
    client.force_login(admin_user)
    data = {
        "username": "new_teacher", "usable_password": "true", "password1": "Sch00l-pass-123",
        "password2": "Sch00l-pass-123",
    }  # fmt: skip

    response = client.post(reverse("admin:enrollment_user_add"), data, follow=True)

    profile = StaffProfile.objects.get(user__username="new_teacher")
    assert profile.school == own["enrollment.school"] and profile.name == "new_teacher"
    assert response.redirect_chain[-1][0] == reverse("admin:enrollment_user_change", args=[profile.user_id])
    assert response.status_code == 200


def test_the_it_superuser_still_sees_every_school(client, own, other):
    client.force_login(UserFactory(username="it", is_staff=True, is_superuser=True))

    response = client.get(reverse("admin:enrollment_student_changelist"))

    assert set(response.context["cl"].queryset) == {own["enrollment.student"], other["enrollment.student"]}


def test_finance_cannot_mark_students_as_left(client, own, finance):
    client.force_login(finance)
    student = own["enrollment.student"]

    client.post(
        reverse("admin:enrollment_student_changelist"), {"action": "deactivate", "_selected_action": [student.pk]}
    )

    student.refresh_from_db()
    assert student.active is True


def test_scoped_lists_run_the_same_queries_whatever_the_rows(
    client, school, own, admin_user, django_assert_max_num_queries
):
    """Another school's rows cost nothing, and a second row of everything of one's own adds no query:
    the school's filter, the filters' choices and the staff lookup are not per row."""
    client.force_login(admin_user)
    urls = [
        reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist") for model, _a in scoped_models()
    ]

    def counts():
        found = {}
        for url in urls:
            with django_assert_max_num_queries(25) as captured:
                assert client.get(url).status_code == 200, url
            found[url] = len(captured)
        return found

    one = counts()
    school_world(SchoolFactory(name=OTHER), OTHER, number=2)
    assert counts() == one

    school_world(school, "甲校", number=3, grade=5)
    two = counts()
    # The duty roster checks each term of the school once (not each day): a second term, more queries.
    duty_roster = reverse("admin:scheduling_dutyday_changelist")
    assert two.pop(duty_roster) > one.pop(duty_roster)
    assert two == one
