from django.contrib import admin
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from afterschool.admin_scoping import SchoolScoped
from enrollment.admin import queue_documents
from enrollment.models import Document

from .models import (
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
)


class ReadOnlyAdmin(SchoolScoped, admin.ModelAdmin):
    """Safety records are written in the teachers' pages and never edited or deleted here."""

    school_path = "group__term__school_id"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(RollCall)
class RollCallAdmin(ReadOnlyAdmin):
    school_path = "session__group__term__school_id"
    list_display = ("session", "taken_by", "taken_at", "updated_at", "version")
    list_select_related = ("session__group", "taken_by")
    date_hierarchy = "taken_at"


@admin.register(AbsenceFollowUp)
class AbsenceFollowUpAdmin(ReadOnlyAdmin):
    school_path = "entry__roll_call__session__group__term__school_id"
    list_display = ("entry", "opened_at", "closed_at", "closed_by", "note")
    list_select_related = ("entry__student", "closed_by")
    list_filter = ("closed_at",)


@admin.register(Release)
class ReleaseAdmin(ReadOnlyAdmin):
    list_display = ("date", "student", "group", "kind", "person", "pickup_point", "released_at", "released_by")
    list_select_related = ("student", "group", "released_by")
    list_filter = ("kind",)
    date_hierarchy = "date"
    search_fields = ("student__name",)


@admin.register(ContactAttempt)
class ContactAttemptAdmin(ReadOnlyAdmin):
    list_display = ("date", "student", "group", "at", "by", "note")
    list_select_related = ("student", "group", "by")


@admin.register(Handover)
class HandoverAdmin(ReadOnlyAdmin):
    school_path = "homeroom__grade__school_id"
    list_display = ("date", "homeroom", "handed_by", "handed_at", "count")
    list_select_related = ("homeroom__grade", "handed_by")
    date_hierarchy = "date"


@admin.register(CareRecord)
class CareRecordAdmin(ReadOnlyAdmin):
    list_display = ("date", "group", "author", "text")
    list_select_related = ("group", "author")
    date_hierarchy = "date"


@admin.register(ActivityRecord)
class ActivityRecordAdmin(ReadOnlyAdmin):
    list_display = ("week_of", "group", "activity", "author")
    list_select_related = ("group", "activity", "author")


@admin.register(PatrolRecord)
class PatrolRecordAdmin(ReadOnlyAdmin):
    school_path = "school_id"
    list_display = ("at", "leader", "group", "observations")
    list_select_related = ("leader", "group")


@admin.register(Incident)
class IncidentAdmin(ReadOnlyAdmin):
    school_path = "school_id"
    list_display = ("occurred_at", "kind", "severity", "group", "reported_by", "guardians_notified_at", "closed_at")
    list_select_related = ("group", "reported_by")
    list_filter = ("kind", "severity")
    actions = ["report_pdf"]

    @admin.action(description=_("PDF: incident report"), permissions=["view"])
    def report_pdf(self, request, queryset):

        incidents = list(queryset.select_related("school"))
        if not incidents:
            return None
        name = str(Document.Kind.INCIDENT.label)
        items = [
            (i, f"{name} {timezone.localtime(i.occurred_at):%Y-%m-%d %H:%M} {i.get_kind_display()}", {})
            for i in incidents
        ]
        return queue_documents(
            request, kind=Document.Kind.INCIDENT, school=incidents[0].school, items=items, label=name
        )


@admin.register(GateVisit)
class GateVisitAdmin(ReadOnlyAdmin):
    school_path = "school_id"
    list_display = ("in_at", "out_at", "visitor", "purpose", "host", "recorded_by")
    list_select_related = ("recorded_by",)
    date_hierarchy = "in_at"
