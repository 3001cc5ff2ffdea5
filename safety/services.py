"""Roll call, absence follow-up and release at dismissal."""

import secrets
from collections import defaultdict
from datetime import datetime

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from afterschool.history import history_copy
from enrollment.models import Application, AuthorisedPerson, Notification, Student, StudentGuardian
from enrollment.notify import notifications_create
from enrollment.roles import Role, has_role
from enrollment.selectors import students_on_leave
from scheduling.models import Session
from scheduling.selectors import member_ids_on, members_on, memberships_on

from .models import (
    ON_SITE,
    AbsenceFollowUp,
    Attendance,
    CareRecord,
    ContactAttempt,
    DayClosing,
    Handover,
    Incident,
    IncidentAcknowledgement,
    PickupPass,
    Release,
    RollCall,
    RollCallEntry,
)


def _text(value: str, model, field: str) -> str:
    """Free text for ``model.field``, stripped, refused with a message when it does not fit."""
    value = (value or "").strip()
    limit = model._meta.get_field(field).max_length
    if limit and len(value) > limit:
        raise ValidationError(
            _("%(field)s is too long: at most %(limit)s characters.")
            % {"field": model._meta.get_field(field).verbose_name, "limit": limit}
        )
    return value


def session_students(session) -> list[Student]:
    """The students of the session's group on the session's date (not those who joined later or left)."""
    return list(
        members_on(session.group_id, session.date)
        .select_related("homeroom__grade")
        .order_by("homeroom__grade__number", "homeroom__number", "student_no")
    )


def may_take_roll_call(user, session) -> bool:
    return session.teacher_id == user.pk or session.group.teacher_id == user.pk or has_role(user, Role.ADMIN)


def session_ended(session, now=None) -> bool:
    now = now or timezone.now()
    end = timezone.make_aware(datetime.combine(session.date, session.end))
    return now >= end


def initial_statuses(session, students) -> dict[int, str]:
    """What the roll-call page starts from: the saved roll call, else approved leave as excused
    and everyone else present (the teacher taps only the exceptions)."""
    saved = {}
    if hasattr(session, "roll_call"):
        saved = dict(session.roll_call.entries.values_list("student_id", "status"))
    on_leave = students_on_leave(day=session.date)
    return {s.pk: saved.get(s.pk) or (Attendance.EXCUSED if s.pk in on_leave else Attendance.PRESENT) for s in students}


def session_student_ids(session) -> set[int]:
    """The ids of ``session_students``: all a save needs (no names, classes or ordering)."""
    return member_ids_on(session.group_id, session.date)


@transaction.atomic
def roll_call_save(
    *, session, teacher, statuses: dict[int, str], version: int | None, reason: str = "", now=None, student_ids=None
) -> RollCall:
    """Save the whole class's roll call in one go.

    ``version`` is the roll call's version the page was built from: if another save came in
    between, nothing is written and a conflict message asks to reload (nobody's taps are
    overwritten unseen). After the session's end a change needs a reason, kept in the history.
    New unexplained absences notify the homeroom teacher and the guardians at once and open a
    follow-up.
    """
    now = now or timezone.now()
    if not may_take_roll_call(teacher, session):
        raise PermissionDenied
    ids = session_student_ids(session) if student_ids is None else set(student_ids)
    if set(statuses) != ids:
        raise ValidationError(_("The class list has changed; please reload the page."))
    if not set(statuses.values()) <= set(Attendance.values):
        raise ValidationError(_("Unknown attendance state."))
    conflict = _("Someone else saved this roll call meanwhile; please reload the page and check.")

    roll_call = _roll_call_locked(session)
    if roll_call is None:
        if version not in (None, 0):
            raise ValidationError(conflict, code="conflict")
        try:
            with transaction.atomic():
                roll_call = RollCall.objects.create(session=session, taken_by=teacher, version=1)
        except IntegrityError:  # another teacher's first save got in at the same moment
            raise ValidationError(conflict, code="conflict") from None
        _entries_create(roll_call, {pk: statuses[pk] for pk in sorted(ids)}, teacher)
        previous = {}
    else:
        if version != roll_call.version:
            raise ValidationError(conflict, code="conflict")
        existing = {student: (pk, status) for pk, student, status in _sql(ENTRIES_READ, [roll_call.pk])}
        previous = {student: status for student, (_pk, status) in existing.items()}
        changed = {
            pk: statuses[student]
            for student, (pk, status) in existing.items()
            if statuses.get(student, status) != status
        }
        if changed and session_ended(session, now) and not reason.strip():
            raise ValidationError(_("The session has ended: give a reason for changing the roll call."))
        if len(reason.strip()) > 100:  # kept in the history's change reason
            raise ValidationError(_("The reason is too long: at most 100 characters."))
        if changed:
            # One UPDATE per new state (at most six) and the history copied by the database in one
            # INSERT … SELECT.
            by_status = defaultdict(list)
            for pk, status in changed.items():
                by_status[status].append(pk)
            for status, pks in by_status.items():
                _sql(ENTRIES_UPDATE % ", ".join(["%s"] * len(pks)), [status, *pks])
            history_copy(RollCallEntry, changed, user=teacher, reason=reason.strip() or None)
        missing = {pk: statuses[pk] for pk in sorted(ids - set(existing))}
        if missing:
            _entries_create(roll_call, missing, teacher)
        roll_call.version += 1
        _sql(VERSION_UPDATE, [roll_call.version, connection.ops.adapt_datetimefield_value(now), roll_call.pk])
    if session.roll_call_at is None:
        session.roll_call_at = now
        session.save(update_fields=["roll_call_at"])

    absent_now = {pk for pk, status in statuses.items() if status == Attendance.ABSENT}
    # An absence corrected to another state closes its follow-up; a new absence opens one (or
    # reopens the one it had) and is reported once per session, however often it is toggled.
    if Attendance.ABSENT in previous.values():  # only an absence has a follow-up open
        AbsenceFollowUp.objects.filter(entry__roll_call=roll_call, closed_at__isnull=True).exclude(
            entry__student_id__in=absent_now
        ).update(closed_at=now, closed_by=teacher, note=_("Roll call corrected."))
    newly_absent = [pk for pk in absent_now if previous.get(pk) != Attendance.ABSENT]
    if newly_absent:
        _report_absences(roll_call, session, newly_absent, now=now)
    return roll_call


# The correction of a roll call is the busiest write of the day (every group at 16:00, and again
# when children are fetched early): its statements are written out, so that a save costs a few
# milliseconds rather than the ORM's building of each one (`make bench` measures the page).
_ROLL_CALLS, _ENTRIES = (connection.ops.quote_name(m._meta.db_table) for m in (RollCall, RollCallEntry))
ROLL_CALL_READ = f"SELECT id, taken_by_id, version FROM {_ROLL_CALLS} WHERE session_id = %s"
ENTRIES_READ = f"SELECT id, student_id, status FROM {_ENTRIES} WHERE roll_call_id = %s"
ENTRIES_UPDATE = f"UPDATE {_ENTRIES} SET status = %%s WHERE id IN (%s)"
VERSION_UPDATE = f"UPDATE {_ROLL_CALLS} SET version = %s, updated_at = %s WHERE id = %s"


def _sql(statement: str, params: list):
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.fetchall() if cursor.description else cursor.rowcount


def _roll_call_locked(session) -> RollCall | None:
    """The session's roll call, locked until the transaction ends (on PostgreSQL the row; SQLite's
    BEGIN IMMEDIATE holds the whole database already). Its times are left to load on use."""
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    rows = _sql(ROLL_CALL_READ + lock, [session.pk])
    if not rows:
        return None
    [(pk, taken_by, version)] = rows
    roll_call = RollCall.from_db(
        connection.alias, ["id", "session_id", "taken_by_id", "version"], [pk, session.pk, taken_by, version]
    )
    roll_call.session = session
    return roll_call


def _entries_create(roll_call, statuses: dict[int, str], teacher) -> None:
    entries = RollCallEntry.objects.bulk_create(
        [RollCallEntry(roll_call=roll_call, student_id=pk, status=status) for pk, status in statuses.items()]
    )
    pks = [e.pk for e in entries]
    if None in pks:  # a database that does not return the new ids
        pks = roll_call.entries.filter(student_id__in=statuses).values_list("pk", flat=True)
    history_copy(RollCallEntry, pks, user=teacher, history_type="+")


def _to_guardian(link, kind: str, subject: str, body: str) -> Notification:
    """A message to a child's guardian (to their account, if they have one, and their inbox)."""
    return Notification(
        recipient_id=link.guardian.user_id, guardian=link.guardian, kind=kind, subject=subject, body=body
    )


def _report_absences(roll_call, session, student_ids, now):
    entries = list(roll_call.entries.filter(student_id__in=student_ids).select_related("student__homeroom"))
    had_follow_up = set(AbsenceFollowUp.objects.filter(entry__in=entries).values_list("entry_id", flat=True))
    AbsenceFollowUp.objects.filter(entry_id__in=had_follow_up).update(closed_at=None, closed_by=None, note="")
    AbsenceFollowUp.objects.bulk_create([AbsenceFollowUp(entry=e) for e in entries if e.pk not in had_follow_up])
    entries = [e for e in entries if e.pk not in had_follow_up]  # already reported once for this session
    links = StudentGuardian.objects.filter(student_id__in=student_ids).select_related("guardian")
    notices = []
    with translation.override(settings.LANGUAGE_CODE):
        for entry in entries:
            student = entry.student
            subject = _("%(child)s is absent from after-school service") % {"child": student.name}
            body = _(
                "%(child)s did not come to %(group)s (%(activity)s, %(start)s) on %(date)s and no leave was asked for. "
                "Please contact the school at once."
            ) % {
                "child": student.name, "group": session.group.name, "activity": session.activity.name,
                "start": session.start.strftime("%H:%M"), "date": session.date.strftime("%Y-%m-%d"),
            }  # fmt: skip
            if student.homeroom.teacher_id:
                notices.append(
                    Notification(
                        recipient_id=student.homeroom.teacher_id, kind="safety.absence", subject=subject, body=body
                    )
                )
            notices += [
                _to_guardian(link, "safety.absence", subject, body) for link in links if link.student_id == student.pk
            ]
    notifications_create(notifications=notices)


@transaction.atomic
def follow_up_close(*, follow_up: AbsenceFollowUp, teacher, note: str, now=None) -> AbsenceFollowUp:
    if follow_up.entry.student.homeroom.teacher_id != teacher.pk and not has_role(teacher, Role.ADMIN):
        raise PermissionDenied
    if not note.strip():
        raise ValidationError(_("Write down what happened."))
    note = _text(note, AbsenceFollowUp, "note")
    follow_up.closed_at, follow_up.closed_by, follow_up.note = now or timezone.now(), teacher, note
    follow_up.save(update_fields=["closed_at", "closed_by", "note"])
    return follow_up


# -- release at dismissal ---------------------------------------------------------------------------


def _new_code(taken: set[str]) -> str:
    while True:
        code = f"{secrets.randbelow(10**6):06d}"
        if code not in taken:
            taken.add(code)
            return code


@transaction.atomic
def pickup_passes_for(*, student, term) -> list[PickupPass]:
    """The child's pickup codes: one per guardian and per authorised person of the term's
    application (made the first time they are asked for), and one-time ones still valid."""

    passes = list(PickupPass.objects.filter(student=student))
    taken = {p.code for p in passes}
    have_guardians = {p.guardian_id for p in passes if p.guardian_id}
    have_persons = {p.authorised_person_id for p in passes if p.authorised_person_id}
    new = []
    for link in StudentGuardian.objects.filter(student=student).select_related("guardian"):
        if link.guardian_id not in have_guardians:
            new.append(
                PickupPass(student=student, kind=PickupPass.Kind.GUARDIAN, name=link.guardian.name,
                           mobile=link.guardian.mobile, guardian=link.guardian, code=_new_code(taken))
            )  # fmt: skip
    persons = AuthorisedPerson.objects.filter(application__student=student, application__term=term)
    for person in persons:
        if person.pk not in have_persons:
            new.append(
                PickupPass(student=student, kind=PickupPass.Kind.AUTHORISED, name=f"{person.name}（{person.relation}）",
                           mobile=person.mobile, authorised_person=person, code=_new_code(taken))
            )  # fmt: skip
    PickupPass.objects.bulk_create(new)
    today_ = timezone.localdate()
    return [
        p
        for p in passes + new
        if p.kind != PickupPass.Kind.ONE_TIME or (p.valid_on is not None and p.valid_on >= today_)
    ]


def one_time_pickup_register(*, student, guardian, name: str, mobile: str, day) -> PickupPass:
    """A guardian names someone who collects the child once, on ``day``; the code goes to them."""
    if day < timezone.localdate():
        raise ValidationError(_("Choose today or a later day."))
    taken = set(PickupPass.objects.filter(student=student).values_list("code", flat=True))
    pass_ = PickupPass(
        student=student, kind=PickupPass.Kind.ONE_TIME, name=name.strip(), mobile=mobile.strip(), valid_on=day,
        guardian=guardian, code=_new_code(taken),
    )  # fmt: skip
    pass_.full_clean()
    pass_.save()
    return pass_


def _on_site(session):
    """The children counted present (present, late or unwell) in the session's roll call."""
    return Student.objects.filter(
        roll_call_entries__roll_call__session=session, roll_call_entries__status__in=ON_SITE
    ).select_related("homeroom__grade")


def on_site_students(session) -> list:
    """The children on site, in class order."""
    return list(_on_site(session).order_by("homeroom__grade__number", "homeroom__number", "student_no"))


def waiting_count(session) -> int:
    """How many of the session's children on site are not released yet."""
    return _on_site(session).count() - Release.objects.filter(group=session.group, date=session.date).count()


def on_site_student(session, student_id) -> Student | None:
    """One child of ``on_site_students`` (None if not on site): a release reads one row, not 45."""
    return None if student_id is None else _on_site(session).filter(pk=student_id).first()


@transaction.atomic
def release_record(
    *, session, student, teacher, code: str = "", kind: str = "", pickup_point: str = "", now=None
) -> Release:
    """Release a present child: with a pickup code (guardian, authorised or one-time person),
    home alone (only with the guardian's consent in the application), to the school bus, or to
    the gate guard. Each child is released once a day per group."""

    now = now or timezone.now()
    if not may_take_roll_call(teacher, session):
        raise PermissionDenied
    if not _on_site(session).filter(pk=student.pk).exists():
        raise ValidationError(_("%(child)s is not marked present in this session.") % {"child": student.name})
    if Release.objects.filter(group=session.group, date=session.date, student=student).exists():
        raise ValidationError(_("%(child)s has already been released.") % {"child": student.name})
    person = ""
    code = code.strip()
    if code:
        pass_ = (
            PickupPass.objects.filter(student=student, code=code)
            .filter(Q(valid_on__isnull=True) | Q(valid_on=session.date))
            .first()
        )
        if pass_ is None:
            raise ValidationError(
                _("The code %(code)s does not belong to anyone allowed to collect %(child)s. Do not release the child.")
                % {"code": code, "child": student.name}
            )
        if not _pass_still_valid(pass_, session):
            raise ValidationError(
                _("The code %(code)s is no longer valid for %(child)s. Do not release the child.")
                % {"code": code, "child": student.name}
            )
        kind, person = pass_.kind, pass_.name
    elif kind == Release.Kind.ALONE:
        consent = Application.objects.filter(
            term=session.group.term, student=student, pickup=Application.Pickup.ALONE, status=Application.Status.PLACED
        ).exists()
        if not consent:
            raise ValidationError(
                _("%(child)s may not go home alone: the guardian has not consented.") % {"child": student.name}
            )
    elif kind == Release.Kind.BUS:
        person = _("school bus")
    elif kind == Release.Kind.GATE:
        person = _("gate guard")
    else:
        raise ValidationError(_("Enter the pickup code of the person collecting %(child)s.") % {"child": student.name})
    release = Release(
        group=session.group, date=session.date, student=student, kind=kind, person=person,
        pickup_point=_text(pickup_point, Release, "pickup_point"), released_at=now, released_by=teacher,
    )  # fmt: skip
    try:
        with transaction.atomic():
            release.save()
    except IntegrityError:  # a double tap, or two teachers at once
        raise ValidationError(_("%(child)s has already been released.") % {"child": student.name}) from None
    return release


def _pass_still_valid(pass_, session) -> bool:
    """A guardian's code works while they are the child's guardian; an authorised person's while
    the term's application naming them is live; a one-time code on its day, while the guardian who
    made it is still the child's guardian."""

    live = (Application.Status.SCHOOL_APPROVED, Application.Status.PLACED, Application.Status.CLASS_APPROVED,
            Application.Status.SUBMITTED, Application.Status.WAITLISTED)  # fmt: skip
    if pass_.kind == PickupPass.Kind.AUTHORISED:
        return (
            pass_.authorised_person_id is not None
            and Application.objects.filter(
                authorised_persons=pass_.authorised_person_id, term=session.group.term, status__in=live
            ).exists()
        )
    if pass_.kind == PickupPass.Kind.ONE_TIME and pass_.valid_on != session.date:
        return False
    return StudentGuardian.objects.filter(student_id=pass_.student_id, guardian_id=pass_.guardian_id).exists()


def contact_attempt_log(*, session, student, teacher, note: str) -> ContactAttempt:
    if not may_take_roll_call(teacher, session):
        raise PermissionDenied
    if not note.strip():
        raise ValidationError(_("Write down whom you called and what they said."))
    return ContactAttempt.objects.create(
        group=session.group, date=session.date, student=student, by=teacher, note=_text(note, ContactAttempt, "note")
    )


@transaction.atomic
def day_close(*, group, day, teacher, now=None) -> DayClosing:
    """Close a group's day; refused while a child counted present has no release."""

    sessions = list(Session.objects.filter(group=group, date=day).select_related("group"))
    if not sessions:
        raise ValidationError(_("The group has no session that day."))
    if not any(may_take_roll_call(teacher, s) for s in sessions):
        raise PermissionDenied
    without_roll_call = [s for s in sessions if s.roll_call_at is None]
    if without_roll_call:
        raise ValidationError(
            _("The day cannot be closed: no roll call yet for %(times)s.")
            % {"times": "、".join(f"{s.start:%H:%M}–{s.end:%H:%M}" for s in without_roll_call)}
        )
    present = set(
        RollCallEntry.objects.filter(
            roll_call__session__group=group, roll_call__session__date=day, status__in=ON_SITE
        ).values_list("student_id", flat=True)
    )
    released = set(Release.objects.filter(group=group, date=day).values_list("student_id", flat=True))
    missing = Student.objects.filter(pk__in=present - released).order_by("student_no")
    if missing:
        raise ValidationError(
            _("The day cannot be closed: no release recorded for %(children)s.")
            % {"children": "、".join(s.name for s in missing)}
        )
    closing, _created = DayClosing.objects.get_or_create(
        group=group, date=day, defaults={"closed_at": now or timezone.now(), "closed_by": teacher}
    )
    return closing


# -- handover, records, incidents, gate -----------------------------------------------------------


def handover_students(*, homeroom, day) -> list[tuple]:
    """The class's children who have a session ``day``: (student, group name, on leave)."""
    memberships = (
        memberships_on(day, student__homeroom=homeroom, student__active=True, group__sessions__date=day)
        .select_related("student", "group")
        .order_by("student__student_no")
        .distinct()
    )
    on_leave = students_on_leave(day=day)
    seen, rows = set(), []
    for membership in memberships:
        if membership.student_id not in seen:
            seen.add(membership.student_id)
            rows.append((membership.student, membership.group.name, membership.student_id in on_leave))
    return rows


def handover_confirm(*, homeroom, teacher, day, note: str = "", now=None) -> Handover:
    if homeroom.teacher_id != teacher.pk:
        raise PermissionDenied
    count = sum(1 for _s, _g, on_leave in handover_students(homeroom=homeroom, day=day) if not on_leave)
    handover, _created = Handover.objects.update_or_create(
        homeroom=homeroom, date=day,
        defaults={
            "handed_by": teacher, "handed_at": now or timezone.now(), "count": count,
            "note": _text(note, Handover, "note"),
        },  # fmt: skip
    )  # fmt: skip
    return handover


def care_record_save(*, group, day, teacher, text: str) -> CareRecord:
    if group.teacher_id != teacher.pk and not group.sessions.filter(date=day, teacher=teacher).exists():
        raise PermissionDenied
    if not text.strip():
        raise ValidationError(_("Write the record."))
    record = CareRecord.objects.filter(group=group, date=day).first() or CareRecord(group=group, date=day)
    record.text, record.author = text.strip(), teacher
    record.save()
    return record


def incident_report(*, school, reporter, kind, severity, occurred_at, group, students, description, actions,
                    guardians_notified_at=None) -> Incident:  # fmt: skip
    incident = Incident(
        school=school, kind=kind, severity=severity, occurred_at=occurred_at, group=group, description=description,
        actions=actions, guardians_notified_at=guardians_notified_at, reported_by=reporter,
    )  # fmt: skip
    incident.full_clean()
    incident.save()
    incident.students.set(students)
    with translation.override(settings.LANGUAGE_CODE):
        subject = _("Incident report: %(kind)s") % {"kind": incident.get_kind_display()}
        body = _("%(what)s What was done: %(actions)s Please acknowledge in the portal.") % {
            "what": description,
            "actions": actions,
        }
        # The homeroom teacher keeps the contact with the family (家校衔接): told at once, and the
        # report opens for them (safety:incident).
        teacher_body = _("%(what)s What was done: %(actions)s Children: %(children)s.") % {
            "what": description,
            "actions": actions,
            "children": "、".join(s.name for s in students),
        }
    links = StudentGuardian.objects.filter(student__in=students).select_related("guardian")
    teachers = {
        s.homeroom.teacher_id
        for s in Student.objects.filter(pk__in=[s.pk for s in students]).select_related("homeroom")
    }
    notifications_create(
        notifications=[
            *(_to_guardian(link, "safety.incident", subject, body) for link in links),
            *(
                Notification(recipient_id=teacher, kind="safety.incident", subject=subject, body=teacher_body)
                for teacher in sorted(t for t in teachers if t and t != reporter.pk)
            ),
        ]
    )
    return incident


def incident_close(*, incident: Incident, user, follow_up: str, now=None) -> Incident:
    if incident.closed_at is not None:
        raise ValidationError(_("The incident is already closed."))
    if not follow_up.strip():
        raise ValidationError(_("Write down the follow-up before closing."))
    if incident.guardians_notified_at is None:
        raise ValidationError(_("Record when the guardians were told before closing the incident."))
    incident.follow_up, incident.closed_at = follow_up.strip(), now or timezone.now()
    incident.save(update_fields=["follow_up", "closed_at"])
    return incident


def incident_acknowledge(*, incident: Incident, guardian) -> IncidentAcknowledgement:
    if not incident.students.filter(guardian_links__guardian=guardian).exists():
        raise PermissionDenied
    ack, _created = IncidentAcknowledgement.objects.get_or_create(incident=incident, guardian=guardian)
    return ack
