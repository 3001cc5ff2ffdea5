"""Services for taking part: invitations, survey, notice, applications and their review,
agreements, leave requests and withdrawal. Every step of an application is recorded and
the guardian is notified in the school's language."""

import secrets
from datetime import date, timedelta

from django.conf import settings
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from .models import (
    AgreementSignature,
    AgreementText,
    Application,
    ApplicationChoice,
    ApplicationEvent,
    AuthorisedPerson,
    Guardian,
    InvitationCode,
    LeaveRequest,
    NoticeRead,
    Notification,
    ParentNotice,
    Student,
    SurveyResponse,
    Term,
    User,
)
from .notify import notifications_create
from .roles import Role, has_role

S = Application.Status
# Which step may follow which, and who takes it.
TRANSITIONS = {
    S.SUBMITTED: {S.CLASS_APPROVED, S.REJECTED, S.WITHDRAWN},
    S.CLASS_APPROVED: {S.SCHOOL_APPROVED, S.REJECTED, S.WITHDRAWN},
    S.SCHOOL_APPROVED: {S.PLACED, S.WAITLISTED, S.WITHDRAWN},
    S.WAITLISTED: {S.PLACED, S.WITHDRAWN},
    S.PLACED: {S.WITHDRAWN},
    S.REJECTED: set(),
    S.WITHDRAWN: set(),
}
INVITATION_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: codes are read off paper


def notify_guardian(guardian: Guardian, *, kind: str, subject: str, body: str) -> Notification:
    """One message to ``guardian``, delivered after commit (``enrollment/notify.py``)."""
    (notification,) = notifications_create(
        notifications=[
            Notification(recipient_id=guardian.user_id, guardian=guardian, kind=kind, subject=subject, body=body)
        ]
    )
    return notification


# -- invitations ----------------------------------------------------------------------------------


@transaction.atomic
def invitation_issue(*, guardians, issued_by, now=None, valid_days: int = 30) -> list[tuple[Guardian, str]]:
    """New one-time codes for ``guardians``; their earlier unused codes stop working.

    Only the hashes are stored: the returned codes are shown once, to be printed or exported.
    """
    now = now or timezone.now()
    guardians = list(guardians)
    InvitationCode.objects.filter(guardian__in=guardians, used_at__isnull=True, expires_at__gt=now).update(
        expires_at=now
    )
    issued, rows = [], []
    for guardian in guardians:
        code = "".join(secrets.choice(INVITATION_ALPHABET) for _ in range(8))
        issued.append((guardian, code))
        rows.append(
            InvitationCode(
                guardian=guardian, code_hash=InvitationCode.hash(code), issued_by=issued_by,
                expires_at=now + timedelta(days=valid_days),
            )
        )  # fmt: skip
    InvitationCode.objects.bulk_create(rows)
    return issued


@transaction.atomic
def invitation_redeem(*, mobile: str, code: str, password: str, now=None) -> User:
    """Set the password of the guardian with ``mobile`` using a valid invitation code."""
    now = now or timezone.now()
    refusal = ValidationError(
        _("The mobile number and the code do not match a valid invitation. Ask the school for a new code.")
    )
    invitation = (
        InvitationCode.objects.select_for_update(of=("self",))
        .select_related("guardian__user")
        .filter(
            code_hash=InvitationCode.hash(code),
            guardian__mobile=mobile.strip(),
            used_at__isnull=True,
            expires_at__gt=now,
        )
        .first()
    )
    if invitation is None:
        raise refusal
    guardian = invitation.guardian
    user = guardian.user
    if user is None:
        # Another account (a teacher's, say) may already use the number as its user name.
        taken = User.objects.filter(username=guardian.mobile).exists()
        user = User(username=f"{guardian.mobile}-{guardian.pk}" if taken else guardian.mobile, first_name=guardian.name)
    validate_password(password, user)
    user.set_password(password)
    user.is_active = True
    user.save()
    if guardian.user_id is None:
        guardian.user = user
        guardian.save(update_fields=["user"])
    user.groups.add(Group.objects.get(name=Role.GUARDIAN))
    invitation.used_at = now
    invitation.save(update_fields=["used_at"])
    return user


# -- survey and notice ------------------------------------------------------------------------------


@transaction.atomic
def survey_answer(
    *, term: Term, student: Student, guardian: Guardian, needs_service: bool, slots: dict, activities
) -> SurveyResponse:
    if not term.survey_open:
        raise ValidationError(_("The needs survey for %(term)s is closed.") % {"term": term})
    response, _created = SurveyResponse.objects.update_or_create(
        term=term, student=student, defaults={"guardian": guardian, "needs_service": needs_service, **slots}
    )
    response.activities.set(activities if needs_service else [])
    return response


def notice_fill(*, term: Term) -> ParentNotice:
    """Write (or rewrite) the term's notice to parents from the template and the term's data."""
    from scheduling.models import Activity, ServiceSeason, ServiceSettings

    with translation.override(settings.LANGUAGE_CODE):
        context = {
            "term": term,
            "school": term.school,
            "seasons": ServiceSeason.objects.filter(school=term.school),
            "rules": ServiceSettings.objects.filter(school=term.school).first(),
            "activities": Activity.objects.filter(school=term.school).order_by("category", "name"),
        }
        body = render_to_string("enrollment/notice_template.txt", context).strip()
        title = _("Notice to parents on the after-school service, %(term)s") % {"term": term}
    notice, _created = ParentNotice.objects.update_or_create(term=term, defaults={"title": title, "body": body})
    return notice


def notice_mark_read(*, notice: ParentNotice, guardian: Guardian) -> NoticeRead:
    read, _created = NoticeRead.objects.get_or_create(notice=notice, guardian=guardian)
    return read


# -- applications ------------------------------------------------------------------------------------


def application_check(application: Application, choices, persons) -> None:
    """The rules an application must meet, wherever it is entered (portal or admin)."""
    from scheduling.services import settings_for

    errors = {}
    if any(activity.requires_insurance for activity in choices) and not (
        application.insurer.strip() and application.policy_number.strip()
    ):
        names = "、".join(a.name for a in choices if a.requires_insurance)
        errors["policy_number"] = _(
            "%(activities)s require accident insurance: give the insurer and the policy number."
        ) % {"activities": names}
    if application.pickup == Application.Pickup.ALONE:
        allowed_from = settings_for(application.term.school).home_alone_from_grade
        grade = application.student.homeroom.grade.number
        if allowed_from is None or grade < allowed_from:
            errors["pickup"] = _("The school does not let children of this grade go home alone.")
    if application.pickup == Application.Pickup.AUTHORISED and not persons:
        errors["pickup"] = _("Name at least one authorised person, or choose collection by a guardian.")
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def application_save(
    *, term: Term, student: Student, guardian: Guardian | None, fields: dict, choices: list, persons: list[dict],
    actor, today: date | None = None, paper: bool = False,
) -> Application:  # fmt: skip
    """Create the child's application for the term, or update it while it is still editable.

    One application per child and term: a second submission (a double click, a resubmitted
    form) updates the same row. Online applications are accepted only in the window.
    """
    today = today or timezone.localdate()
    if not paper and not (term.application_opens <= today <= term.application_closes):
        raise ValidationError(
            _("Applications for %(term)s are accepted from %(opens)s to %(closes)s.")
            % {
                "term": term,
                "opens": date_format(term.application_opens),
                "closes": date_format(term.application_closes),
            }
        )
    application = Application.objects.select_for_update().filter(term=term, student=student).first()
    created = application is None
    if created:
        application = Application(term=term, student=student)
    elif not application.editable_by_guardian and not paper:
        raise ValidationError(_("The application is already being reviewed and can no longer be changed."))
    application.guardian = guardian
    for name, value in fields.items():
        setattr(application, name, value)
    application_check(application, choices, persons)
    application.full_clean(exclude=["guardian"] if guardian is None else None)
    try:
        with transaction.atomic():
            application.save()
    except IntegrityError:
        # Two submissions raced past the lock on a row that did not exist yet: the other one won.
        raise ValidationError(_("This child already has an application for this term.")) from None
    application.choices.all().delete()
    ApplicationChoice.objects.bulk_create(
        ApplicationChoice(application=application, activity=activity, rank=rank)
        for rank, activity in enumerate(choices, 1)
    )
    application.authorised_persons.all().delete()
    for person in persons:
        AuthorisedPerson(application=application, **person).full_clean(exclude=["application"])
    AuthorisedPerson.objects.bulk_create(AuthorisedPerson(application=application, **person) for person in persons)
    if created:
        note = _("Paper application entered by the school.") if paper else ""
        ApplicationEvent.objects.create(application=application, status=S.SUBMITTED, actor=actor, note=note)
    return application


def _may_take(actor, application: Application, to: str) -> bool:
    if actor is None:
        return False
    if to in {S.CLASS_APPROVED} or (to == S.REJECTED and application.status == S.SUBMITTED):
        return (
            application.student.homeroom.teacher_id == actor.pk
            and has_role(actor, Role.HOMEROOM_TEACHER)
            or (has_role(actor, Role.ADMIN) or actor.is_superuser)
        )
    if to == S.WITHDRAWN and has_role(actor, Role.GUARDIAN):
        return application.student.guardian_links.filter(guardian__user=actor).exists()
    return has_role(actor, Role.ADMIN) or actor.is_superuser


STATUS_MESSAGES = {
    S.CLASS_APPROVED: _("The homeroom teacher approved the application for %(child)s; the school reviews it next."),
    S.SCHOOL_APPROVED: _("The school approved the application for %(child)s; the placement follows."),
    S.PLACED: _("%(child)s has a place in the after-school service: %(note)s"),
    S.WAITLISTED: _("%(child)s is on the waiting list: %(note)s"),
    S.REJECTED: _("The application for %(child)s was not accepted: %(note)s"),
    S.WITHDRAWN: _("%(child)s leaves the after-school service: %(note)s"),
}


@transaction.atomic
def application_transition(*, application: Application, to: str, actor, note: str = "") -> Application:
    """Move ``application`` to status ``to``: checked, recorded and told to the guardian."""
    application = (
        Application.objects.select_for_update(of=("self",))
        .select_related("student__homeroom", "term")
        .get(pk=application.pk)
    )
    if to not in TRANSITIONS[application.status]:
        raise ValidationError(
            _("An application that is “%(status)s” cannot become “%(to)s”.")
            % {"status": application.get_status_display(), "to": S(to).label}
        )
    if to == S.REJECTED and not note.strip():
        raise ValidationError(_("Give the reason for the rejection."))
    if not _may_take(actor, application, to):
        raise PermissionDenied
    application.status = to
    application.save(update_fields=["status", "updated_at"])
    ApplicationEvent.objects.create(application=application, status=to, actor=actor, note=note)
    with translation.override(settings.LANGUAGE_CODE):
        subject = _("Application for %(child)s: %(status)s") % {
            "child": application.student.name,
            "status": S(to).label,
        }
        body = STATUS_MESSAGES[to] % {"child": application.student.name, "note": note or "—"}
    notifications_create(
        notifications=(
            Notification(
                recipient_id=link.guardian.user_id,
                guardian=link.guardian,
                kind=f"enrollment.application.{to}",
                subject=subject,
                body=body,
            )
            for link in application.student.guardian_links.select_related("guardian")
        )
    )
    return application


def applications_review(*, applications, actor, approve: bool, note: str = "") -> int:
    """Approve or reject several applications at once, at the step the actor is entitled to."""
    count = 0
    for application in applications:
        if application.status == S.SUBMITTED:
            target = S.CLASS_APPROVED if approve else S.REJECTED
        elif application.status == S.CLASS_APPROVED:
            target = S.SCHOOL_APPROVED if approve else S.REJECTED
        else:
            continue
        application_transition(application=application, to=target, actor=actor, note=note)
        count += 1
    return count


def has_signed_agreement(application: Application) -> bool:
    return AgreementSignature.objects.filter(term_id=application.term_id, student_id=application.student_id).exists()


@transaction.atomic
def applications_place(*, applications, actor, max_groups: int | None = None):
    """Place school-approved applications through the scheduling placement proposal.

    Refuses children without a signed agreement for the term (voluntary participation: no
    placement without the guardian's signature). Returns (placed, waitlisted, refused names).
    """
    from scheduling.models import GroupMembership, WaitlistEntry
    from scheduling.placement import Candidate
    from scheduling.selectors import membership_during
    from scheduling.services import placement_apply

    applications = list(
        Application.objects.filter(
            pk__in=[a.pk for a in applications], status__in=[S.SCHOOL_APPROVED, S.WAITLISTED]
        ).select_related("student__homeroom__grade", "term")
    )
    signed = set(
        AgreementSignature.objects.filter(
            student__in=[a.student_id for a in applications], term__in={a.term_id for a in applications}
        ).values_list("term_id", "student_id")
    )
    ready = [a for a in applications if (a.term_id, a.student_id) in signed]
    refused = [a.student.name for a in applications if (a.term_id, a.student_id) not in signed]
    placed = waitlisted = 0
    for term_id in {a.term_id for a in ready}:
        batch = [a for a in ready if a.term_id == term_id]
        candidates = [
            Candidate(
                student_id=a.student_id, grade=a.student.homeroom.grade.number, homeroom=a.student.homeroom.number,
                submitted_at=a.submitted_at, priority=a.priority,
            )
            for a in batch
        ]  # fmt: skip
        placement_apply(term=batch[0].term, candidates=candidates, max_groups=max_groups)
        in_group = dict(
            GroupMembership.objects.filter(
                membership_during(timezone.localdate()),
                group__term_id=term_id,
                student__in=[a.student_id for a in batch],
            ).values_list("student_id", "group__name")
        )
        waiting = dict(WaitlistEntry.objects.filter(term_id=term_id).values_list("student_id", "position"))
        for application in batch:
            if application.student_id in in_group:
                note = _("group %(group)s (to be confirmed by the school)") % {
                    "group": in_group[application.student_id]
                }
                application_transition(application=application, to=S.PLACED, actor=actor, note=note)
                placed += 1
            elif application.status != S.WAITLISTED:
                note = _("position %(position)s") % {"position": waiting.get(application.student_id, "—")}
                application_transition(application=application, to=S.WAITLISTED, actor=actor, note=note)
                waitlisted += 1
    return placed, waitlisted, refused


@transaction.atomic
def application_withdraw(*, application: Application, actor, effective: date, note: str = "") -> Application:
    """Withdraw with an effective date: the child leaves every group of the term from that day."""
    from scheduling.services import memberships_end

    if effective < application.term.start or effective > application.term.end + timedelta(days=1):
        raise ValidationError(_("The leaving date must lie within the term."))
    if effective < timezone.localdate() and not (has_role(actor, Role.ADMIN) or actor.is_superuser):
        # Days already served are settled as served; only the school may record an earlier date.
        raise ValidationError(_("The leaving date cannot be in the past; ask the school if it should be."))
    text = _("from %(date)s") % {"date": date_format(effective)} + (f"（{note}）" if note else "")
    application = application_transition(application=application, to=S.WITHDRAWN, actor=actor, note=text)
    application.withdrawn_on = effective
    application.save(update_fields=["withdrawn_on"])
    memberships_end(term=application.term, student=application.student, on=effective)
    return application


# -- agreement -----------------------------------------------------------------------------------------


def agreement_current(term: Term) -> AgreementText | None:
    return AgreementText.objects.filter(term=term).order_by("-version").first()


@transaction.atomic
def agreement_text_save(*, term: Term, title: str, body: str, current: AgreementText | None = None) -> AgreementText:
    """Save the agreement text. A text that anyone has signed is never changed: the edit
    becomes the next version, and the signatures keep pointing at what was signed."""
    if current is not None and current.pk and not current.signatures.exists():
        current.title, current.body = title, body
        current.full_clean()
        current.save()
        return current
    latest = AgreementText.objects.select_for_update().filter(term=term).order_by("-version").first()
    text = AgreementText(term=term, version=(latest.version + 1) if latest else 1, title=title, body=body)
    text.full_clean()
    text.save()
    return text


@transaction.atomic
def agreement_sign(
    *, text: AgreementText, student: Student, guardian: Guardian, typed_name: str, consent: bool, shown_sha256: str,
    ip: str | None, user_agent: str,
) -> AgreementSignature:  # fmt: skip
    if not consent:
        raise ValidationError({"consent": _("Tick the box to agree.")})
    if typed_name.strip() != guardian.name:
        raise ValidationError(
            {"typed_name": _("Type your full name exactly as the school has it: %(name)s.") % {"name": guardian.name}}
        )
    latest = agreement_current(text.term)
    if latest is None or latest.pk != text.pk or text.sha256() != shown_sha256:
        raise ValidationError(_("The agreement text has changed since the page was opened. Please read it again."))
    if AgreementSignature.objects.filter(term=text.term, student=student).exists():
        raise ValidationError(_("The agreement for this child and term is already signed."))
    signature = AgreementSignature(
        term=text.term, text=text, student=student, guardian=guardian, signed_name=typed_name.strip(),
        ip_address=ip, user_agent=user_agent[:300], text_sha256=text.sha256(),
    )  # fmt: skip
    try:
        with transaction.atomic():
            signature.save()
    except IntegrityError:
        raise ValidationError(_("The agreement for this child and term is already signed.")) from None
    return signature


# -- leave --------------------------------------------------------------------------------------------


def leave_request_create(*, student: Student, guardian: Guardian, start: date, end: date, reason: str) -> LeaveRequest:
    """Ask for leave; sending the same request again (a double tap) returns the first one."""
    pending = LeaveRequest.objects.filter(
        student=student, start=start, end=end, status=LeaveRequest.Status.PENDING
    ).first()
    if pending is not None:
        return pending
    request = LeaveRequest(student=student, guardian=guardian, start=start, end=end, reason=reason)
    request.full_clean()
    request.save()
    return request


@transaction.atomic
def leave_review(*, requests, teacher, approve: bool, note: str = "") -> int:
    """The homeroom teacher decides pending leave requests of their own class."""
    count = 0
    for leave in requests:
        if leave.status != LeaveRequest.Status.PENDING:
            continue
        if leave.student.homeroom.teacher_id != teacher.pk:
            raise PermissionDenied
        if not approve and not note.strip():
            raise ValidationError(_("Give the reason for the rejection."))
        leave.status = LeaveRequest.Status.APPROVED if approve else LeaveRequest.Status.REJECTED
        leave.decided_by, leave.decided_at, leave.decision_note = teacher, timezone.now(), note
        leave.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
        with translation.override(settings.LANGUAGE_CODE):
            subject = _("Leave request for %(child)s: %(status)s") % {
                "child": leave.student.name,
                "status": leave.get_status_display(),
            }
            body = _("%(start)s – %(end)s, %(reason)s. %(note)s") % {
                "start": date_format(leave.start), "end": date_format(leave.end), "reason": leave.reason, "note": note,
            }  # fmt: skip
        if leave.guardian_id:
            notify_guardian(leave.guardian, kind="enrollment.leave", subject=subject, body=body)
        count += 1
    return count
