from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from . import notify, selectors, workflow
from .forms import (
    ActivationForm,
    ApplicationForm,
    AuthorisedPersonFormSet,
    LeaveForm,
    OneTimePickupForm,
    ReviewForm,
    SignForm,
    SurveyForm,
    WaiverRequestForm,
    WithdrawForm,
)
from .models import Application, ApplicationEvent, NoticeRead, Notification, ParentNotice, ServiceSlots
from .permissions import role_required
from .roles import Role


def _guardian(request):
    guardian = getattr(request.user, "guardian", None)
    if guardian is None:
        raise PermissionDenied
    return guardian


def _child(request, pk):
    """One of the logged-in guardian's children; any other child is a 404."""
    return get_object_or_404(selectors.student_list_for_guardian(user=request.user), pk=pk)


def _term(child):
    term = selectors.term_for_portal(school_ids=[child.school_id])
    if term is None:
        raise Http404(_("The school has not opened a term yet."))
    return term


def _form_errors(form, exc: ValidationError):
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc)


# -- guardian portal -------------------------------------------------------------------------------


@role_required(Role.GUARDIAN)
def portal(request):
    guardian = _guardian(request)
    school_ids = set(selectors.student_list_for_guardian(user=request.user).values_list("school_id", flat=True))
    term = selectors.term_for_portal(school_ids=school_ids) if school_ids else None
    children = selectors.portal_children(user=request.user, term=term)
    notice = ParentNotice.objects.filter(term=term, published=True).first() if term else None
    context = {
        "term": term,
        "children": children,
        "notice": notice,
        "notice_read": notice is not None and NoticeRead.objects.filter(notice=notice, guardian=guardian).exists(),
        "notifications": Notification.objects.filter(guardian=guardian).order_by("-created_at")[:5],
        "today": timezone.localdate(),
    }
    return render(request, "enrollment/portal.html", context)


@role_required(Role.GUARDIAN)
def portal_child(request, pk):
    """The child's page: guardians, pickup codes (with a one-time pickup person) and attendance."""
    from safety.models import IncidentAcknowledgement, RollCallEntry
    from safety.services import one_time_pickup_register, pickup_passes_for

    guardian, child = _guardian(request), _child(request, pk)
    term = selectors.term_for_portal(school_ids=[child.school_id])
    form = OneTimePickupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            one_time_pickup_register(student=child, guardian=guardian, **form.cleaned_data)
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(
                request, _("The one-time pickup code is below; send it to the person collecting your child.")
            )
            return redirect("enrollment:portal_child", child.pk)
    attendance = (
        RollCallEntry.objects.filter(student=child)
        .select_related("roll_call__session__group", "roll_call__session__activity")
        .order_by("-roll_call__session__date", "-roll_call__session__start")[:20]
    )
    context = {
        "child": child,
        "incidents": child.incidents.order_by("-occurred_at")[:10],
        # Each guardian acknowledges for themselves.
        "acknowledged": set(
            IncidentAcknowledgement.objects.filter(guardian=guardian, incident__students=child).values_list(
                "incident_id", flat=True
            )
        ),
        "guardian": guardian,
        "passes": pickup_passes_for(student=child, term=term) if term else [],
        "form": form,
        "attendance": attendance,
    }
    return render(request, "enrollment/portal_child.html", context)


@role_required(Role.GUARDIAN)
def notice(request, pk):
    guardian = _guardian(request)
    school_ids = set(selectors.student_list_for_guardian(user=request.user).values_list("school_id", flat=True))
    notice = get_object_or_404(ParentNotice, pk=pk, published=True, term__school_id__in=school_ids)
    workflow.notice_mark_read(notice=notice, guardian=guardian)
    standards = notice.term.fee_standards.order_by("item")
    return render(request, "enrollment/notice.html", {"notice": notice, "standards": standards})


@role_required(Role.GUARDIAN)
def survey(request, pk):
    guardian, child = _guardian(request), _child(request, pk)
    term = _term(child)
    existing = child.survey_responses.filter(term=term).prefetch_related("activities").first()
    initial = {}
    if existing:
        initial = {f: getattr(existing, f) for f in ("needs_service", *existing.SLOT_FIELDS)}
        initial["activities"] = list(existing.activities.all())
    form = SurveyForm(request.POST or None, initial=initial, school=child.school)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            workflow.survey_answer(
                term=term, student=child, guardian=guardian, needs_service=data["needs_service"],
                slots={f: data[f] for f in ServiceSlots.SLOT_FIELDS},
                activities=data["activities"],
            )  # fmt: skip
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("Thank you: your answer for %(child)s is saved.") % {"child": child.name})
            return redirect("enrollment:portal")
    return render(request, "enrollment/survey.html", {"form": form, "child": child, "term": term})


@role_required(Role.GUARDIAN)
def apply(request, pk):
    guardian, child = _guardian(request), _child(request, pk)
    term = _term(child)
    application = (
        Application.objects.filter(term=term, student=child).prefetch_related("choices", "authorised_persons").first()
    )
    if application is not None and not application.editable_by_guardian:
        return redirect("enrollment:application", application.pk)
    persons_initial = [
        {"name": p.name, "relation": p.relation, "mobile": p.mobile, "id_last4": p.id_last4}
        for p in (application.authorised_persons.all() if application else [])
    ]
    form = ApplicationForm(request.POST or None, request.FILES or None, instance=application, school=child.school)
    persons = AuthorisedPersonFormSet(request.POST or None, initial=persons_initial, prefix="persons")
    if request.method == "POST" and form.is_valid() and persons.is_valid():
        fields = {name: form.cleaned_data[name] for name in form.Meta.fields if name != "priority_evidence"}
        if form.cleaned_data.get("priority_evidence"):
            fields["priority_evidence"] = form.cleaned_data["priority_evidence"]
        people = [p for p in persons.cleaned_data if p and not p.get("DELETE")]
        try:
            saved = workflow.application_save(
                term=term, student=child, guardian=guardian, fields=fields, choices=form.cleaned_data["choices"],
                persons=people, actor=request.user,
            )  # fmt: skip
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("The application for %(child)s is submitted.") % {"child": child.name})
            return redirect("enrollment:application", saved.pk)
    context = {"form": form, "persons": persons, "child": child, "term": term, "application": application}
    return render(request, "enrollment/apply.html", context)


@role_required(Role.GUARDIAN)
def application_detail(request, pk):
    application = get_object_or_404(
        selectors.application_for_guardian(user=request.user, pk=pk).prefetch_related(
            "choices__activity",
            "authorised_persons",
            Prefetch("events", queryset=ApplicationEvent.objects.select_related("actor")),
        )
    )
    context = {
        "application": application,
        "signed": workflow.has_signed_agreement(application),
        "withdraw_form": WithdrawForm(initial={"effective": timezone.localdate()}),
    }
    return render(request, "enrollment/application.html", context)


@role_required(Role.GUARDIAN)
@require_POST
def application_withdraw(request, pk):
    application = get_object_or_404(selectors.application_for_guardian(user=request.user, pk=pk))
    form = WithdrawForm(request.POST)
    if form.is_valid():
        try:
            workflow.application_withdraw(
                application=application, actor=request.user, effective=form.cleaned_data["effective"],
                note=form.cleaned_data["note"],
            )  # fmt: skip
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("The application is withdrawn."))
    else:
        messages.error(request, _("Give the date from which your child leaves the service."))
    return redirect("enrollment:application", application.pk)


@role_required(Role.GUARDIAN)
def agreement(request, pk):
    guardian, child = _guardian(request), _child(request, pk)
    term = _term(child)
    signature = child.agreement_signatures.filter(term=term).select_related("text").first()
    text = signature.text if signature else workflow.agreement_current(term)
    form = SignForm(request.POST or None, initial={"shown_sha256": text.sha256() if text else ""})
    if request.method == "POST" and text is not None and signature is None and form.is_valid():
        data = form.cleaned_data
        try:
            workflow.agreement_sign(
                text=text, student=child, guardian=guardian, typed_name=data["typed_name"], consent=data["consent"],
                shown_sha256=data["shown_sha256"], ip=request.META.get("REMOTE_ADDR"),
                user_agent=request.META.get("HTTP_USER_AGENT", ""),
            )  # fmt: skip
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("Thank you: the agreement for %(child)s is signed.") % {"child": child.name})
            return redirect("enrollment:portal")
    context = {"form": form, "child": child, "term": term, "text": text, "signature": signature}
    return render(request, "enrollment/agreement.html", context)


@role_required(Role.GUARDIAN)
def leave(request, pk):
    guardian, child = _guardian(request), _child(request, pk)
    form = LeaveForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            workflow.leave_request_create(student=child, guardian=guardian, **form.cleaned_data)
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("The leave request is sent to the homeroom teacher."))
            return redirect("enrollment:leave", child.pk)
    requests = child.leave_requests.order_by("-start")[:20]
    return render(request, "enrollment/leave.html", {"form": form, "child": child, "requests": requests})


def activate(request):
    """Set a password with the invitation code the school handed out (also a reset)."""
    form = ActivationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            workflow.invitation_redeem(mobile=data["mobile"], code=data["code"], password=data["password1"])
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Your password is set. Log in with your mobile number."))
            return redirect("login")
    return render(request, "registration/activate.html", {"form": form})


# -- homeroom teacher --------------------------------------------------------------------------------


@role_required(Role.HOMEROOM_TEACHER)
def class_list(request):
    homerooms = list(selectors.homeroom_list_for_teacher(user=request.user))
    if len(homerooms) == 1:
        return class_detail(request, homerooms[0].pk)
    return render(request, "enrollment/class_list.html", {"homerooms": homerooms})


@role_required(Role.HOMEROOM_TEACHER)
def class_detail(request, pk):
    homeroom = get_object_or_404(selectors.homeroom_list_for_teacher(user=request.user), pk=pk)
    students = selectors.student_list_for_homeroom(homeroom=homeroom)
    pending = selectors.applications_pending_for_teacher(user=request.user).count()
    pending += selectors.leave_pending_for_teacher(user=request.user).count()
    context = {"homeroom": homeroom, "students": students, "pending": pending}
    return render(request, "enrollment/class_detail.html", context)


@role_required(Role.HOMEROOM_TEACHER)
def reviews(request):
    """Pending applications and leave requests of the teacher's own classes, decided in bulk."""
    applications = list(selectors.applications_pending_for_teacher(user=request.user))
    leave_requests = list(selectors.leave_pending_for_teacher(user=request.user))
    form = ReviewForm(
        request.POST or None,
        application_ids=[a.pk for a in applications],
        leave_ids=[r.pk for r in leave_requests],
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        approve = data["decision"] == "approve"
        chosen_apps = [a for a in applications if str(a.pk) in data["applications"]]
        chosen_leave = [r for r in leave_requests if str(r.pk) in data["leave"]]
        if not chosen_apps and not chosen_leave:
            form.add_error(None, _("Tick at least one application or leave request."))
        else:
            try:
                done = workflow.applications_review(
                    applications=chosen_apps, actor=request.user, approve=approve, note=data["note"]
                )
                done += workflow.leave_review(
                    requests=chosen_leave, teacher=request.user, approve=approve, note=data["note"]
                )
            except ValidationError as exc:
                form.add_error("note", exc)
            else:
                messages.success(
                    request,
                    ngettext("%(count)d request decided.", "%(count)d requests decided.", done) % {"count": done},
                )
                return redirect("enrollment:reviews")
    context = {"form": form, "applications": applications, "leave_requests": leave_requests}
    return render(request, "enrollment/reviews.html", context)


@role_required(Role.GUARDIAN)
@require_POST
def incident_acknowledge(request, pk, incident_pk):
    from safety.services import incident_acknowledge as acknowledge

    guardian, child = _guardian(request), _child(request, pk)
    incident = get_object_or_404(child.incidents.all(), pk=incident_pk)
    acknowledge(incident=incident, guardian=guardian)
    messages.success(request, _("Thank you: the school sees that you have read the incident report."))
    return redirect("enrollment:portal_child", child.pk)


@role_required(Role.GUARDIAN)
def bills(request, pk):
    """The child's statement for the term: charges with their inputs, payments, refunds, balance."""
    from billing.services import statement_for

    child = _child(request, pk)
    term = _term(child)
    return render(
        request,
        "enrollment/bills.html",
        {
            "child": child,
            "term": term,
            "statement": statement_for(student=child, term=term),
            "standards": term.fee_standards.order_by("item") if term else [],
        },
    )


@role_required(Role.GUARDIAN)
def waiver(request, pk):
    """困难减免: the guardian asks with evidence; the school decides."""
    from billing.models import Waiver
    from billing.services import waiver_request

    guardian, child = _guardian(request), _child(request, pk)
    term = _term(child)
    existing = Waiver.objects.filter(term=term, student=child).first()
    form = WaiverRequestForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            waiver_request(term=term, student=child, guardian=guardian, **form.cleaned_data)
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("The waiver request is sent to the school."))
            return redirect("enrollment:waiver", child.pk)
    return render(request, "enrollment/waiver.html", {"child": child, "term": term, "form": form, "existing": existing})


# -- inbox (guardians in the portal, staff in their own) ----------------------------------------

STAFF_ROLES = (
    Role.ADMIN, Role.FINANCE, Role.HOMEROOM_TEACHER, Role.SERVICE_TEACHER, Role.DUTY_LEADER, Role.GATE_GUARD,
)  # fmt: skip
INBOX_PAGE_SIZE = 30


def _inbox_urls(portal: bool) -> dict:
    prefix = "enrollment:portal_" if portal else "enrollment:"
    return {"portal": portal, "message_url": f"{prefix}message", "read_all_url": f"{prefix}inbox_read_all"}


def _inbox(request, *, portal: bool):
    # The unread count is the navigation's (enrollment.context_processors.workspaces).
    page = Paginator(notify.notification_list_for_user(user=request.user), INBOX_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(request, "enrollment/inbox.html", {"page": page, **_inbox_urls(portal)})


def _inbox_message(request, pk, *, portal: bool):
    # Someone else's message is a 404, like any object outside the user's scope.
    notification = get_object_or_404(notify.notification_list_for_user(user=request.user), pk=pk)
    notify.notification_mark_read(notification=notification)
    return render(request, "enrollment/inbox_message.html", {"notification": notification, **_inbox_urls(portal)})


def _inbox_read_all(request, *, portal: bool):
    count = notify.notifications_mark_all_read(user=request.user)
    if count:
        messages.success(
            request,
            ngettext("%(count)d message marked read.", "%(count)d messages marked read.", count) % {"count": count},
        )
    return redirect("enrollment:portal_inbox" if portal else "enrollment:inbox")


@role_required(Role.GUARDIAN)
def portal_inbox(request):
    return _inbox(request, portal=True)


@role_required(Role.GUARDIAN)
def portal_message(request, pk):
    return _inbox_message(request, pk, portal=True)


@role_required(Role.GUARDIAN)
@require_POST
def portal_inbox_read_all(request):
    return _inbox_read_all(request, portal=True)


@role_required(*STAFF_ROLES)
def inbox(request):
    return _inbox(request, portal=False)


@role_required(*STAFF_ROLES)
def inbox_message(request, pk):
    return _inbox_message(request, pk, portal=False)


@role_required(*STAFF_ROLES)
@require_POST
def inbox_read_all(request):
    return _inbox_read_all(request, portal=False)


def _published_disclosures(request):
    from .models import Document

    school_ids = set(selectors.student_list_for_guardian(user=request.user).values_list("school_id", flat=True))
    return Document.objects.filter(
        school_id__in=school_ids, kind=Document.Kind.DISCLOSURE, status=Document.Status.DONE
    ).select_related("school")


@role_required(Role.GUARDIAN)
def disclosures(request):
    """每月收支公示: the school's monthly income and expense disclosures, as PDFs."""
    documents = _published_disclosures(request).order_by("-params__month", "-pk")
    return render(request, "enrollment/disclosures.html", {"documents": documents})


@role_required(Role.GUARDIAN)
def disclosure_download(request, pk):
    from django.http import FileResponse

    document = get_object_or_404(_published_disclosures(request), pk=pk)
    return FileResponse(
        document.file.open("rb"), as_attachment=False, filename=f"{document.title}.pdf", content_type="application/pdf"
    )
