"""Permission matrix: every URL pattern in the URLconf × every persona, against a table of the
expected answer to a GET.

The expectations come from the product rules (SPEC.md "Who uses it": a user only ever sees the
students, classes and groups that belong to them; README: the admin site is open to the admin and
finance roles only) and from each view's code, not from recording what the views return today.

How a URL is covered:

* ``EXPECTED``: one row per pattern outside the generic admin rule, with a concrete URL built from
  the objects of the ``world`` fixture and one answer per persona.
* ``ADMIN_MODEL_RIGHTS``: every model registered in the admin site gets its changelist, add,
  history, delete, change and bare-object (redirect) URLs checked by one rule:
  anonymous → 302 to the admin log-in; any logged-in user outside the admin and finance roles → 403;
  the admin and finance → 200 where the rights listed for the model allow it, else 403.

A pattern in neither (a new view, a newly registered model) fails every test of this module with
its key; so does a row whose pattern no longer exists.

Answers are written as the status code, or for a redirect as ``"302 <path>"`` of its target. A
redirect to a log-in page must carry ``next=`` back to the page asked for.
"""

from datetime import date, time, timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.core.files.base import ContentFile
from django.urls import URLResolver, get_resolver, resolve, reverse
from django.utils import timezone

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
    SurveyResponse,
)
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
    HolidayNotice,
    MakeupDayTimetable,
    ServiceSeason,
    ServiceSettings,
    Session,
    WaitlistEntry,
)
from tests.scheduling.factories import ActivityFactory, RoomFactory, ServiceGroupFactory, SlotFactory

pytestmark = pytest.mark.django_db

PERSONAS = (
    "anonymous",
    "guardian",
    "other_guardian",
    "homeroom_teacher",
    "other_homeroom_teacher",
    "service_teacher",
    "duty_leader",
    "finance",
    "gate_guard",
    "admin_user",
)
ADMIN_SITE_PERSONAS = {"finance", "admin_user"}

LOGIN = "302 /login/"
ADMIN_LOGIN = "302 /admin/login/"


# -- enumerating the URLconf --------------------------------------------------------------------


def url_patterns(patterns=None, prefix="", namespaces=()):
    """(key, pattern) for every leaf pattern, through every include. The key is the namespaced
    name and the full route, e.g. ``enrollment:bills portal/children/<int:pk>/bills/``."""
    if patterns is None:
        patterns = get_resolver().url_patterns
    for entry in patterns:
        if isinstance(entry, URLResolver):
            inner = (*namespaces, entry.namespace) if entry.namespace else namespaces
            yield from url_patterns(entry.url_patterns, prefix + str(entry.pattern), inner)
        else:
            name = ":".join((*namespaces, entry.name or "<unnamed>"))
            yield f"{name} {prefix}{entry.pattern}", entry


# -- the explicit table ---------------------------------------------------------------------------


def row(url, *answers):
    """A URL and its answers, one per persona in the order of PERSONAS."""
    return url, dict(zip(PERSONAS, answers, strict=True))


def admin_row(url, *, finance, admin_user, anonymous=ADMIN_LOGIN):
    """An admin-site page: anonymous to the admin log-in, every role but the two of the site 403."""
    return row(url, anonymous, 403, 403, 403, 403, 403, 403, finance, 403, admin_user)


HOME = "302 /"
PORTAL, CLASS, TODAY, DUTY, GATE, ADMIN = (
    f"302 {path}" for path in ("/portal/", "/teacher/class/", "/teacher/today/", "/duty/", "/gate/", "/admin/")
)

# fmt: off
EXPECTED = {
    # Answers in the order of PERSONAS:
    #       anon   guard  other  homer  o.hom  serv   duty   fin    gate   admin

    # -- project ------------------------------------------------------------------------------------
    # The start page takes each role to its workspace (enrollment/workspaces.py).
    "home ": row(
        "/",
        LOGIN, PORTAL, PORTAL, CLASS, CLASS, TODAY, DUTY, ADMIN, GATE, ADMIN),
    # Logged-in users are sent on to the start page (redirect_authenticated_user).
    "login login/": row(
        "/login/",
        200,   HOME,  HOME,  HOME,  HOME,  HOME,  HOME,  HOME,  HOME,  HOME),
    # Log-out is POST only (Django 5).
    "logout logout/": row(
        "/logout/",
        405,   405,   405,   405,   405,   405,   405,   405,   405,   405),
    # The language switcher changes nothing on GET and goes back to the start page.
    "set_language i18n/setlang/": row(
        "/i18n/setlang/",
        HOME,  HOME,  HOME,  HOME,  HOME,  HOME,  HOME,  HOME,  HOME,  HOME),
    # Uploaded files are children's data: only the admin-site roles; everyone else 404, even
    # anonymous (afterschool/views.py protected_media).
    "protected_media media/<path:path>": row(
        "/media/{media_path}",
        404,   404,   404,   404,   404,   404,   404,   200,   404,   200),
    # Public: activation with the invitation code.
    "enrollment:activate activate/": row(
        "/activate/",
        200,   200,   200,   200,   200,   200,   200,   200,   200,   200),

    # -- guardian portal: the guardian role only; another family's child is a 404 -----------------------
    "enrollment:portal portal/": row(
        "/portal/",
        LOGIN, 200,   200,   403,   403,   403,   403,   403,   403,   403),
    "enrollment:portal_child portal/children/<int:pk>/": row(
        "/portal/children/{student_a}/",
        LOGIN, 200,   404,   403,   403,   403,   403,   403,   403,   403),
    "enrollment:survey portal/children/<int:pk>/survey/": row(
        "/portal/children/{student_a}/survey/",
        LOGIN, 200,   404,   403,   403,   403,   403,   403,   403,   403),
    "enrollment:apply portal/children/<int:pk>/apply/": row(
        "/portal/children/{student_a}/apply/",
        LOGIN, 200,   404,   403,   403,   403,   403,   403,   403,   403),
    "enrollment:agreement portal/children/<int:pk>/agreement/": row(
        "/portal/children/{student_a}/agreement/",
        LOGIN, 200,   404,   403,   403,   403,   403,   403,   403,   403),
    "enrollment:leave portal/children/<int:pk>/leave/": row(
        "/portal/children/{student_a}/leave/",
        LOGIN, 200,   404,   403,   403,   403,   403,   403,   403,   403),
    "enrollment:bills portal/children/<int:pk>/bills/": row(
        "/portal/children/{student_a}/bills/",
        LOGIN, 200,   404,   403,   403,   403,   403,   403,   403,   403),
    "enrollment:waiver portal/children/<int:pk>/waiver/": row(
        "/portal/children/{student_a}/waiver/",
        LOGIN, 200,   404,   403,   403,   403,   403,   403,   403,   403),
    # POST only: a GET is refused before the child is looked up, so both guardians get 405.
    "enrollment:incident_acknowledge portal/children/<int:pk>/incidents/<int:incident_pk>/acknowledge/": row(
        "/portal/children/{student_a}/incidents/{incident}/acknowledge/",
        LOGIN, 405,   405,   403,   403,   403,   403,   403,   403,   403),
    "enrollment:application portal/applications/<int:pk>/": row(
        "/portal/applications/{application}/",
        LOGIN, 200,   404,   403,   403,   403,   403,   403,   403,   403),
    "enrollment:application_withdraw portal/applications/<int:pk>/withdraw/": row(
        "/portal/applications/{application}/withdraw/",
        LOGIN, 405,   405,   403,   403,   403,   403,   403,   403,   403),
    # The notice to parents and the monthly disclosures are the school's, for every family of it.
    "enrollment:notice portal/notices/<int:pk>/": row(
        "/portal/notices/{notice}/",
        LOGIN, 200,   200,   403,   403,   403,   403,   403,   403,   403),
    "enrollment:disclosures portal/disclosures/": row(
        "/portal/disclosures/",
        LOGIN, 200,   200,   403,   403,   403,   403,   403,   403,   403),
    "enrollment:disclosure_download portal/disclosures/<int:pk>/": row(
        "/portal/disclosures/{disclosure}/",
        LOGIN, 200,   200,   403,   403,   403,   403,   403,   403,   403),
    "enrollment:portal_inbox portal/inbox/": row(
        "/portal/inbox/",
        LOGIN, 200,   200,   403,   403,   403,   403,   403,   403,   403),
    "enrollment:portal_inbox_read_all portal/inbox/read/": row(
        "/portal/inbox/read/",
        LOGIN, 405,   405,   403,   403,   403,   403,   403,   403,   403),
    # A message to guardian A: someone else's message is a 404.
    "enrollment:portal_message portal/inbox/<int:pk>/": row(
        "/portal/inbox/{guardian_message}/",
        LOGIN, 200,   404,   403,   403,   403,   403,   403,   403,   403),

    # -- staff inbox: every staff role, own messages only ------------------------------------------------
    "enrollment:inbox inbox/": row(
        "/inbox/",
        LOGIN, 403,   403,   200,   200,   200,   200,   200,   200,   200),
    "enrollment:inbox_read_all inbox/read/": row(
        "/inbox/read/",
        LOGIN, 403,   403,   405,   405,   405,   405,   405,   405,   405),
    # A message to homeroom teacher A.
    "enrollment:message inbox/<int:pk>/": row(
        "/inbox/{staff_message}/",
        LOGIN, 403,   403,   200,   404,   404,   404,   404,   404,   404),

    # -- homeroom teacher: own class only ----------------------------------------------------------------
    "enrollment:class_list teacher/class/": row(
        "/teacher/class/",
        LOGIN, 403,   403,   200,   200,   403,   403,   403,   403,   403),
    "enrollment:class_detail teacher/class/<int:pk>/": row(
        "/teacher/class/{homeroom_a}/",
        LOGIN, 403,   403,   200,   404,   403,   403,   403,   403,   403),
    "enrollment:reviews teacher/reviews/": row(
        "/teacher/reviews/",
        LOGIN, 403,   403,   200,   200,   403,   403,   403,   403,   403),
    "safety:follow_ups teacher/follow-ups/": row(
        "/teacher/follow-ups/",
        LOGIN, 403,   403,   200,   200,   403,   403,   403,   403,   403),
    "safety:handover teacher/handover/": row(
        "/teacher/handover/",
        LOGIN, 403,   403,   200,   200,   403,   403,   403,   403,   403),

    # -- the teachers' day: the session is service_teacher's group's; the school admin may step in ---------
    "safety:teacher_today teacher/today/": row(
        "/teacher/today/",
        LOGIN, 403,   403,   200,   200,   200,   403,   403,   403,   403),
    "safety:roll_call teacher/sessions/<int:pk>/roll-call/": row(
        "/teacher/sessions/{session}/roll-call/",
        LOGIN, 403,   403,   404,   404,   200,   403,   403,   403,   200),
    "safety:dismissal teacher/sessions/<int:pk>/dismissal/": row(
        "/teacher/sessions/{session}/dismissal/",
        LOGIN, 403,   403,   404,   404,   200,   403,   403,   403,   200),
    "safety:records teacher/records/": row(
        "/teacher/records/",
        LOGIN, 403,   403,   200,   200,   200,   403,   403,   403,   403),

    # -- duty leader, incidents, gate --------------------------------------------------------------------
    "safety:duty_board duty/": row(
        "/duty/",
        LOGIN, 403,   403,   403,   403,   403,   200,   403,   403,   200),
    "safety:patrol duty/patrol/": row(
        "/duty/patrol/",
        LOGIN, 403,   403,   403,   403,   403,   200,   403,   403,   403),
    "safety:incident_new incidents/new/": row(
        "/incidents/new/",
        LOGIN, 403,   403,   200,   200,   200,   200,   403,   403,   200),
    # Reported by service_teacher about student_a: teachers see the incidents they reported and
    # those of their own class's children; the duty leader and the admin see the school's.
    "safety:incident incidents/<int:pk>/": row(
        "/incidents/{incident}/",
        LOGIN, 403,   403,   200,   404,   200,   200,   403,   403,   200),
    "safety:gate gate/": row(
        "/gate/",
        LOGIN, 403,   403,   403,   403,   403,   403,   403,   200,   403),

    # -- admin site: pages of the site itself ------------------------------------------------------------
    "admin:index admin/": admin_row("/admin/", finance=200, admin_user=200),
    # The log-in form is not guarded; the admin-site roles are sent on to the index.
    "admin:login admin/login/": row(
        "/admin/login/",
        200,   200,   200,   200,   200,   200,   200,   ADMIN, 200,   ADMIN),
    # Log-out is POST only; anonymous is sent to the index (and from there to the log-in).
    "admin:logout admin/logout/": admin_row("/admin/logout/", finance=405, admin_user=405, anonymous=ADMIN),
    "admin:password_change admin/password_change/": admin_row(
        "/admin/password_change/", finance=200, admin_user=200),
    "admin:password_change_done admin/password_change/done/": admin_row(
        "/admin/password_change/done/", finance=200, admin_user=200),
    # Finding the child on the payment form: both roles may view students.
    "admin:autocomplete admin/autocomplete/": admin_row(
        "/admin/autocomplete/?term=&app_label=billing&model_name=payment&field_name=student",
        finance=200, admin_user=200),
    "admin:jsi18n admin/jsi18n/": admin_row("/admin/jsi18n/", finance=200, admin_user=200),
    # No model has a page on the site.
    "admin:view_on_site admin/r/<path:content_type_id>/<path:object_id>/": admin_row(
        "/admin/r/{student_type}/{student_a}/", finance=404, admin_user=404),
    "admin:app_list admin/^(?P<app_label>auth|axes|enrollment|scheduling|billing|safety)/$": admin_row(
        "/admin/billing/", finance=200, admin_user=200),
    "admin:<unnamed> admin/(?P<url>.*)$": admin_row("/admin/no-such-page/", finance=404, admin_user=404),

    # -- admin site: the model admins' own pages ---------------------------------------------------------
    # Accounts are the school admin's (change permission on users), not finance's.
    "admin:auth_user_password_change admin/enrollment/user/<id>/password/": admin_row(
        "/admin/enrollment/user/{guardian_user}/password/", finance=403, admin_user=200),
    # Roster import: add permission on students (IMPORT_EXPORT_IMPORT_PERMISSION_CODE = "add").
    "admin:enrollment_student_roster_template admin/enrollment/student/roster-template/": admin_row(
        "/admin/enrollment/student/roster-template/", finance=403, admin_user=200),
    "admin:enrollment_student_import admin/enrollment/student/import/": admin_row(
        "/admin/enrollment/student/import/", finance=403, admin_user=200),
    # POST only.
    "admin:enrollment_student_process_import admin/enrollment/student/process_import/": admin_row(
        "/admin/enrollment/student/process_import/", finance=405, admin_user=405),
    # Exports: view permission (IMPORT_EXPORT_EXPORT_PERMISSION_CODE = "view").
    "admin:enrollment_student_export admin/enrollment/student/export/": admin_row(
        "/admin/enrollment/student/export/", finance=200, admin_user=200),
    # One entry of a child's or a guardian's history: whoever may view the record.
    "admin:enrollment_student_simple_history admin/enrollment/student/^([^/]+)/history/([^/]+)/$": admin_row(
        "/admin/enrollment/student/{student_a}/history/{student_history}/", finance=200, admin_user=200),
    "admin:enrollment_guardian_simple_history admin/enrollment/guardian/^([^/]+)/history/([^/]+)/$": admin_row(
        "/admin/enrollment/guardian/{guardian_a}/history/{guardian_history}/", finance=200, admin_user=200),
    "admin:enrollment_survey_totals admin/enrollment/surveyresponse/totals/<int:term_id>/": admin_row(
        "/admin/enrollment/surveyresponse/totals/{term}/", finance=200, admin_user=200),
    "admin:enrollment_document_download admin/enrollment/document/<int:pk>/download/": admin_row(
        "/admin/enrollment/document/{disclosure}/download/", finance=200, admin_user=200),
    "admin:scheduling_week admin/scheduling/servicegroup/week/": admin_row(
        "/admin/scheduling/servicegroup/week/", finance=200, admin_user=200),
    "admin:scheduling_calendar admin/scheduling/servicegroup/calendar/<int:term_id>/": admin_row(
        "/admin/scheduling/servicegroup/calendar/{term}/", finance=200, admin_user=200),
    "admin:billing_waiver_export admin/billing/waiver/export/": admin_row(
        "/admin/billing/waiver/export/", finance=200, admin_user=200),
    "admin:billing_fees_by_class admin/billing/chargeline/by-class/<int:term_id>/": admin_row(
        "/admin/billing/chargeline/by-class/{term}/", finance=200, admin_user=200),
    "admin:billing_chargeline_export admin/billing/chargeline/export/": admin_row(
        "/admin/billing/chargeline/export/", finance=200, admin_user=200),
    "admin:billing_arrears admin/billing/payment/arrears/<int:term_id>/": admin_row(
        "/admin/billing/payment/arrears/{term}/", finance=200, admin_user=200),
    "admin:billing_settlement admin/billing/payment/settlement/<int:term_id>/": admin_row(
        "/admin/billing/payment/settlement/{term}/", finance=200, admin_user=200),
    # Importing a bank statement posts payments: finance only (the admin reads payments).
    "admin:billing_statement_import admin/billing/payment/statement/<int:term_id>/": admin_row(
        "/admin/billing/payment/statement/{term}/", finance=200, admin_user=403),
    "admin:billing_payment_export admin/billing/payment/export/": admin_row(
        "/admin/billing/payment/export/", finance=200, admin_user=200),
    "admin:billing_refund_export admin/billing/refund/export/": admin_row(
        "/admin/billing/refund/export/", finance=200, admin_user=200),
    "admin:billing_ledger_month admin/billing/ledgerentry/month/": admin_row(
        "/admin/billing/ledgerentry/month/", finance=200, admin_user=200),
    "admin:billing_ledgerentry_export admin/billing/ledgerentry/export/": admin_row(
        "/admin/billing/ledgerentry/export/", finance=200, admin_user=200),
    "admin:billing_subsidy_payroll admin/billing/dutyshift/payroll/": admin_row(
        "/admin/billing/dutyshift/payroll/", finance=200, admin_user=200),
}
# fmt: on


# -- the admin-site rule --------------------------------------------------------------------------

# What the admin (管理员) and finance (财务) may do with each registered model in the admin site:
# v view, a add, c change, d delete. From README "who / where / does" and SPEC "Who uses it", with
# the product's standing rules: children's records, signatures, issued documents, sessions, charge
# lines, payments, refunds and the ledger are never edited or deleted; safety records are written
# in the teachers' pages and only read here; finance keeps fees, waivers, billing runs, payments,
# refunds and the ledger, and reads the rest it needs for them.
# fmt: off
ADMIN_MODEL_RIGHTS = {
    #                                    admin    finance
    "auth.group":                       ("v",    ""),     # the roles; given to users on the user page
    "axes.accessattempt":               ("",     ""),     # log-in lockouts: IT (superuser) only
    "axes.accesslog":                   ("",     ""),
    "axes.accessfailurelog":            ("",     ""),
    "enrollment.user":                  ("vac",  ""),     # staff accounts; deactivated, never deleted
    "enrollment.school":                ("vac",  "v"),
    "enrollment.term":                  ("vacd", "v"),    # set-up mistakes; a term in use is kept by PROTECT
    "enrollment.grade":                 ("vacd", "v"),    # (applications, groups, fees; students)
    "enrollment.homeroom":              ("vacd", "v"),
    "enrollment.student":               ("vac",  "v"),    # children are made inactive, never deleted
    "enrollment.guardian":              ("vac",  "v"),
    "enrollment.staffprofile":          ("vacd", ""),
    "enrollment.application":           ("vac",  "v"),    # paper applications; review and placement
    "enrollment.agreementtext":         ("vac",  ""),
    "enrollment.agreementsignature":    ("vac",  "v"),    # paper agreements; a signature never changes
    "enrollment.parentnotice":          ("vac",  ""),
    "enrollment.surveyresponse":        ("vac",  "v"),
    "enrollment.leaverequest":          ("vac",  ""),
    "enrollment.invitationcode":        ("vc",   ""),     # issued from the guardian list, not added here
    "enrollment.notification":          ("vc",   ""),
    "enrollment.document":              ("v",    "v"),    # made by the tasks, kept once issued
    "enrollment.documentbatch":         ("v",    "v"),
    "scheduling.holidaynotice":         ("vac",  "v"),
    "scheduling.closure":               ("va",   "v"),    # an announced closure is not edited; add a new one
    "scheduling.makeupdaytimetable":    ("vacd", ""),
    "scheduling.servicesettings":       ("vac",  ""),
    "scheduling.serviceseason":         ("vacd", ""),
    "scheduling.gradedismissal":        ("vacd", ""),
    "scheduling.room":                  ("vac",  ""),
    "scheduling.activity":              ("vac",  ""),
    "scheduling.servicegroup":          ("vac",  "v"),
    "scheduling.session":               ("v",    "v"),    # generated from the timetable
    "scheduling.waitlistentry":         ("vacd", ""),
    "scheduling.dutyday":               ("vac",  ""),
    "billing.feestandard":              ("vac",  "vac"),
    "billing.waiver":                   ("vac",  "vac"),
    "billing.chargeline":               ("v",    "v"),    # written by the billing run only
    "billing.billingrun":               ("va",   "va"),
    "billing.payment":                  ("v",    "va"),   # posted once by finance, never edited
    "billing.refund":                   ("v",    "va"),
    "billing.ledgerentry":              ("v",    "va"),
    "billing.subsidyrates":             ("vac",  "v"),
    "billing.dutyshift":                ("vac",  "v"),
    "billing.performanceevent":         ("vac",  "v"),
    "safety.rollcall":                  ("v",    ""),     # the admin site shows safety records read-only
    "safety.absencefollowup":           ("v",    ""),
    "safety.release":                   ("v",    ""),
    "safety.contactattempt":            ("v",    ""),
    "safety.handover":                  ("v",    ""),
    "safety.carerecord":                ("v",    ""),
    "safety.activityrecord":            ("v",    ""),
    "safety.patrolrecord":              ("v",    ""),
    "safety.incident":                  ("v",    ""),
    "safety.gatevisit":                 ("v",    ""),
}
# fmt: on

# The URL names a ModelAdmin adds for its model, with the right each needs.
ADMIN_MODEL_PAGES = {
    "changelist": ("", "v"),
    "add": ("add/", "a"),
    "history": ("<path:object_id>/history/", "v"),
    "delete": ("<path:object_id>/delete/", "d"),
    "change": ("<path:object_id>/change/", "v"),  # view-only rights see the page read-only
}


def admin_model_rows(world) -> tuple[dict, list[str]]:
    """The rows of the admin-site rule, one per page of each registered model."""
    rows, problems = {}, []
    for model in admin.site._registry:
        opts = model._meta
        label = opts.label_lower
        if label not in ADMIN_MODEL_RIGHTS:
            problems.append(f"{label}: registered in the admin site but missing from ADMIN_MODEL_RIGHTS")
            continue
        obj = world["admin_objects"].get(label)
        if obj is None:
            problems.append(f"{label}: no object of this model in the world fixture")
            continue
        prefix = f"admin/{opts.app_label}/{opts.model_name}/"
        for page, (route, right) in ADMIN_MODEL_PAGES.items():
            name = f"admin:{opts.app_label}_{opts.model_name}_{page}"
            args = [] if page in ("changelist", "add") else [obj.pk]
            rows[f"{name} {prefix}{route}"] = (reverse(name, args=args), _admin_answers(label, right))
        # <object_id>/ alone redirects to the change page, for whoever may enter the site.
        change_url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
        rows[f"admin:<unnamed> {prefix}<path:object_id>/"] = (
            change_url.removesuffix("change/"),
            _admin_answers(label, None, redirect=change_url),
        )
    return rows, problems


def _admin_answers(label, right, redirect=None):
    answers = {persona: 403 for persona in PERSONAS}
    answers["anonymous"] = ADMIN_LOGIN
    for persona, rights in zip(("admin_user", "finance"), ADMIN_MODEL_RIGHTS[label], strict=True):
        if redirect:
            answers[persona] = f"302 {redirect}"
        else:
            answers[persona] = 200 if right in rights else 403
    return answers


# -- the world: one object of everything, for the URLs with arguments ---------------------------------


@pytest.fixture
def world(
    settings, tmp_path, school, open_term, homeroom_a, student_a, student_b, guardian, other_guardian,
    homeroom_teacher, other_homeroom_teacher, service_teacher, duty_leader, finance, gate_guard, admin_user,
):  # fmt: skip
    today, now = timezone.localdate(), timezone.now()
    term = open_term
    guardian_a = guardian.guardian

    # Uploaded files are read from MEDIA_ROOT by the protected download view.
    settings.MEDIA_ROOT = str(tmp_path)
    (tmp_path / "evidence").mkdir()
    (tmp_path / "evidence" / "scan.pdf").write_bytes(b"%PDF-1.4 test")

    # enrollment
    application = Application.objects.create(
        term=term, student=student_a, guardian=guardian_a, emergency_name="外婆", emergency_mobile="13700000000"
    )
    notice = ParentNotice.objects.create(term=term, title="告家长书", body="……", published=True)
    text = AgreementText.objects.create(term=term, version=1, title="安全责任书", body="……")
    signature = AgreementSignature.objects.create(
        term=term, text=text, student=student_a, guardian=guardian_a, signed_name="王建国", text_sha256=text.sha256()
    )
    survey = SurveyResponse.objects.create(term=term, student=student_a, guardian=guardian_a, needs_service=True)
    leave = LeaveRequest.objects.create(student=student_a, guardian=guardian_a, start=today, end=today, reason="病假")
    code = InvitationCode.objects.create(guardian=guardian_a, code_hash="x" * 64, expires_at=now + timedelta(days=30))
    guardian_message = Notification.objects.create(guardian=guardian_a, kind="test", subject="给家长", body="……")
    staff_message = Notification.objects.create(recipient=homeroom_teacher, kind="test", subject="给老师", body="……")
    disclosure = Document.objects.create(
        school=school, kind=Document.Kind.DISCLOSURE, title="2026-10 收支公示", status=Document.Status.DONE,
        params={"month": "2026-10"},
    )  # fmt: skip
    disclosure.file.save("disclosure.pdf", ContentFile(b"%PDF-1.4 test"))
    batch = DocumentBatch.objects.create(school=school, kind=Document.Kind.FEE_NOTICE, label="缴费通知 三年级")

    # scheduling: today's session of service_teacher's group, with student A in it
    room, activity = RoomFactory(school=school), ActivityFactory(school=school)
    group = ServiceGroupFactory(term=term, teacher=service_teacher)
    slot = SlotFactory(group=group, weekday=today.weekday(), teacher=service_teacher, room=room, activity=activity)
    session = Session.objects.create(
        slot=slot, group=group, date=today, start=slot.start, end=slot.end, activity=activity, room=room,
        teacher=service_teacher,
    )  # fmt: skip
    GroupMembership.objects.create(group=group, student=student_a)
    holiday_notice = HolidayNotice.objects.create(year=2026, title="2026年部分节假日安排")
    closure = Closure.objects.create(
        school=school, kind=Closure.Kind.WEATHER, start=today, end=today, reason="台风", created_by=admin_user
    )
    makeup = MakeupDayTimetable.objects.create(school=school, date=date(2026, 9, 28), weekday=0)
    service_settings = ServiceSettings.objects.create(school=school, work_end_time=time(17, 30))
    season = ServiceSeason.objects.create(
        school=school, name="夏季", start_month=5, start_day=1, end_month=9, end_day=30, end_time=time(18, 30)
    )
    dismissal = GradeDismissal.objects.create(grade=homeroom_a.grade, end_time=time(17, 50))
    waitlist = WaitlistEntry.objects.create(term=term, student=student_b, position=1)
    duty_day = DutyDay.objects.create(school=school, date=today, leader=duty_leader)

    # billing
    standard = FeeStandard.objects.create(term=term, item="after_school", mode="monthly_half", amount=Decimal("120"))
    waiver = Waiver.objects.create(term=term, student=student_a, category=Waiver.Category.MINIMUM_LIVING)
    run = BillingRun.objects.create(term=term, month=today.replace(day=1))
    line = ChargeLine.objects.create(
        term=term, student=student_a, standard=standard, month=today.replace(day=1), kind="charge",
        fee=Decimal("120"), workdays=20, participation_days=15, waiver_percent=Decimal("0"), amount=Decimal("120"),
        run=run,
    )  # fmt: skip
    payment = Payment.objects.create(
        school=school, term=term, student=student_a, amount=Decimal("120"), method="cash", receipt_no="R0001",
        paid_at=now, received_by=finance,
    )  # fmt: skip
    refund = Refund.objects.create(
        school=school, term=term, student=student_a, amount=Decimal("10"), receipt_no="T0001", reason="结余退还",
        refunded_at=now, refunded_by=finance,
    )  # fmt: skip
    ledger = LedgerEntry.objects.create(
        school=school, date=today, kind="income", category="fees", amount=Decimal("120"), voucher_no="V0001",
        description="收费",
    )  # fmt: skip
    rates = SubsidyRates.objects.create(school=school)
    shift = DutyShift.objects.create(school=school, teacher=service_teacher, date=today, kind="safety_zone")
    event = PerformanceEvent.objects.create(
        school=school, teacher=service_teacher, date=today, kind="early_leave", description="早退"
    )

    # safety
    roll_call = RollCall.objects.create(session=session, taken_by=service_teacher)
    entry = RollCallEntry.objects.create(roll_call=roll_call, student=student_a, status="absent")
    follow_up = AbsenceFollowUp.objects.create(entry=entry)
    release = Release.objects.create(
        group=group, date=today, student=student_a, kind="guardian", released_at=now, released_by=service_teacher
    )
    contact = ContactAttempt.objects.create(group=group, date=today, student=student_a, by=service_teacher, note="…")
    handover = Handover.objects.create(
        homeroom=homeroom_a, date=today, handed_by=homeroom_teacher, handed_at=now, count=1
    )
    care = CareRecord.objects.create(group=group, date=today, text="……", author=service_teacher)
    activity_record = ActivityRecord.objects.create(
        group=group, week_of=today - timedelta(days=today.weekday()), activity=activity, text="……",
        author=service_teacher,
    )  # fmt: skip
    patrol = PatrolRecord.objects.create(school=school, leader=duty_leader, at=now, observations="……")
    incident = Incident.objects.create(
        school=school, kind="injury", severity=1, occurred_at=now, group=group, description="摔倒",
        actions="处理", reported_by=service_teacher,
    )  # fmt: skip
    incident.students.add(student_a)
    visit = GateVisit.objects.create(school=school, visitor="访客", purpose="送东西", in_at=now, recorded_by=gate_guard)

    # axes
    axes_row = {"user_agent": "test", "http_accept": "*/*", "path_info": "/login/", "username": "x"}
    attempt = AccessAttempt.objects.create(**axes_row, get_data="", post_data="", failures_since_start=1)
    access_log = AccessLog.objects.create(**axes_row)
    failure_log = AccessFailureLog.objects.create(**axes_row)

    objects = [
        Group.objects.get(name="管理员"), attempt, access_log, failure_log, guardian, school, term, homeroom_a.grade,
        homeroom_a, student_a, guardian_a, homeroom_teacher.staff_profile, application, text, signature, notice,
        survey, leave, code, guardian_message, disclosure, batch, holiday_notice, closure, makeup, service_settings,
        season, dismissal, room, activity, group, session, waitlist, duty_day, standard, waiver, line, run, payment,
        refund, ledger, rates, shift, event, roll_call, follow_up, release, contact, handover, care, activity_record,
        patrol, incident, visit,
    ]  # fmt: skip
    return {
        "admin_objects": {obj._meta.label_lower: obj for obj in objects},
        "student_a": student_a.pk,
        "student_type": ContentType.objects.get_for_model(student_a).pk,
        "student_history": student_a.history.first().history_id,
        "guardian_a": guardian_a.pk,
        "guardian_history": guardian_a.history.first().history_id,
        "guardian_user": guardian.pk,
        "application": application.pk,
        "notice": notice.pk,
        "disclosure": disclosure.pk,
        "guardian_message": guardian_message.pk,
        "staff_message": staff_message.pk,
        "homeroom_a": homeroom_a.pk,
        "session": session.pk,
        "incident": incident.pk,
        "term": term.pk,
        "media_path": "evidence/scan.pdf",
    }


def matrix(world) -> tuple[dict, dict, list[str]]:
    """(urls by key, answers by key, problems): the table and the rule applied to the URLconf."""
    rows, problems = admin_model_rows(world)
    for key, (url, answers) in EXPECTED.items():
        if key in rows:
            problems.append(f"{key}: both in EXPECTED and covered by the admin-site rule")
        rows[key] = (url.format(**world), answers)
    patterns = dict(url_patterns())
    problems += [f"{key}: no entry in EXPECTED and no rule covers it" for key in patterns if key not in rows]
    problems += [f"{key}: in the table but not in the URLconf any more" for key in rows if key not in patterns]
    urls = {key: url for key, (url, _answers) in rows.items() if key in patterns}
    answers = {key: answers for key, (_url, answers) in rows.items() if key in patterns}
    return urls, answers, problems


def outcome(response, url):
    """The status, or for a redirect "302 <path of the target>"; a log-in redirect must send the
    user back to ``url``."""
    if response.status_code not in (301, 302):
        return response.status_code
    target = urlsplit(response["Location"])
    if target.path in ("/login/", "/admin/login/"):
        back = parse_qs(target.query).get("next", [""])[0]
        if back != url:
            return f"{response.status_code} {target.path} (next={back!r})"
    return f"{response.status_code} {target.path}"


# -- tests -------------------------------------------------------------------------------------------


def test_every_url_pattern_has_an_expectation(world):
    _urls, _answers, problems = matrix(world)

    assert not problems, "URL patterns without an expectation:\n" + "\n".join(problems)


def test_each_concrete_url_opens_the_pattern_it_stands_for(world):
    patterns = dict(url_patterns())
    urls, _answers, _problems = matrix(world)
    wrong = []
    for key, url in urls.items():
        match = resolve(urlsplit(url).path)
        if match.func is not patterns[key].callback:
            wrong.append(f"{key}: {url} opens {match.view_name} ({match.route})")

    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("persona", PERSONAS)
def test_permission_matrix(client, world, persona, request):
    if persona != "anonymous":
        client.force_login(request.getfixturevalue(persona))
    client.raise_request_exception = False  # a crashing view is a 500 in the diff, not the end of the run
    urls, answers, problems = matrix(world)

    actual, expected = {}, {}
    for key, url in sorted(urls.items()):
        response = client.get(url)
        actual[key] = outcome(response, url)
        if response.streaming:
            # Read to the end through the test client's wrapper; closing a streaming response by
            # hand would send request_finished and close the test's PostgreSQL connection.
            b"".join(response.streaming_content)
        expected[key] = answers[key][persona]

    mismatches = [
        f"  {key}\n      GET {urls[key]}: expected {expected[key]}, got {actual[key]}"
        for key in actual
        if actual[key] != expected[key]
    ]
    report = "\n".join(problems + mismatches)
    assert actual == expected and not problems, f"{persona}: {len(mismatches)} of {len(actual)} URLs differ\n{report}"
