from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Prefetch
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext, pgettext_lazy

from afterschool.admin_scoping import SchoolOwned, SchoolScoped, school_terms
from enrollment.models import Term, User

from . import selectors, services
from .calendar import UnknownHolidayYear
from .models import (
    Activity,
    Closure,
    DutyDay,
    GradeDismissal,
    GroupMembership,
    HolidayNotice,
    HolidayNoticeEntry,
    MakeupDayTimetable,
    Room,
    ServiceGroup,
    ServiceSeason,
    ServiceSettings,
    Session,
    TimetableSlot,
    WaitlistEntry,
)

WEEKDAY_SHORT = [
    pgettext_lazy("weekday", "Mon"),
    pgettext_lazy("weekday", "Tue"),
    pgettext_lazy("weekday", "Wed"),
    pgettext_lazy("weekday", "Thu"),
    pgettext_lazy("weekday", "Fri"),
    pgettext_lazy("weekday", "Sat"),
    pgettext_lazy("weekday", "Sun"),
]


class HolidayNoticeEntryInline(admin.TabularInline):
    model = HolidayNoticeEntry
    extra = 3


@admin.register(HolidayNotice)
class HolidayNoticeAdmin(admin.ModelAdmin):
    # The State Council's holiday arrangements: the same for every school.
    list_display = ("year", "title", "entry_count")
    inlines = [HolidayNoticeEntryInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(entry_total=Count("entries"))

    @admin.display(description=_("entries"))
    def entry_count(self, notice):
        return notice.entry_total


@admin.register(Closure)
class ClosureAdmin(SchoolOwned, admin.ModelAdmin):
    list_display = ("start", "end", "kind", "reason", "grade_list", "created_by")
    list_filter = ("kind", "school")
    list_select_related = ("created_by",)
    filter_horizontal = ("grades",)
    date_hierarchy = "start"
    readonly_fields = ("created_by", "created_at")

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("grades__school")

    @admin.display(description=_("grades"))
    def grade_list(self, closure):
        return "、".join(str(g) for g in closure.grades.all()) or _("whole school")

    def has_change_permission(self, request, obj=None):
        # An announced closure is not edited silently; record a new one instead.
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        obj.created_by = request.user
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        if not change:
            count, unknown_years = services.closure_announce(closure=form.instance)
            for year in unknown_years:
                self.message_user(request, UnknownHolidayYear(year).message, messages.WARNING)
            self.message_user(
                request,
                ngettext("%(count)d guardian was notified.", "%(count)d guardians were notified.", count)
                % {"count": count},
                messages.SUCCESS,
            )


@admin.register(MakeupDayTimetable)
class MakeupDayTimetableAdmin(SchoolOwned, admin.ModelAdmin):
    list_display = ("date", "weekday", "school")
    list_filter = ("school",)


@admin.register(ServiceSettings)
class ServiceSettingsAdmin(SchoolOwned, admin.ModelAdmin):
    list_display = (
        "school",
        "work_end_time",
        "min_daily_minutes",
        "max_group_size",
        "max_temporary_group_size",
        "min_grade_size",
    )


@admin.register(ServiceSeason)
class ServiceSeasonAdmin(SchoolOwned, admin.ModelAdmin):
    list_display = ("name", "school", "start_month", "start_day", "end_month", "end_day", "end_time")


@admin.register(GradeDismissal)
class GradeDismissalAdmin(SchoolScoped, admin.ModelAdmin):
    school_path = "grade__school_id"
    list_display = ("grade", "end_time")
    list_select_related = ("grade",)


@admin.register(Room)
class RoomAdmin(SchoolOwned, admin.ModelAdmin):
    list_display = ("name", "kind", "capacity", "week_link")
    list_filter = ("kind", "school")
    search_fields = ("name",)

    @admin.display(description=_("week"))
    def week_link(self, room):
        return format_html('<a href="{}?room={}">{}</a>', reverse("admin:scheduling_week"), room.pk, _("week grid"))


@admin.register(Activity)
class ActivityAdmin(SchoolOwned, admin.ModelAdmin):
    list_display = ("name", "category", "capacity", "teacher", "requires_insurance")
    list_filter = ("category", "requires_insurance", "school")
    list_select_related = ("teacher",)
    search_fields = ("name",)
    autocomplete_fields = ("teacher",)


class MembershipForm(forms.ModelForm):
    class Meta:
        model = GroupMembership
        fields = ["student", "joined_on", "left_on"]

    def clean(self):
        cleaned = super().clean()
        student, group = cleaned.get("student"), self.instance.group if self.instance.group_id else None
        if student is not None and group is not None and {"student", "joined_on"} & set(self.changed_data):
            # Voluntary participation: only a child whose application was approved and whose
            # agreement is signed may join a group.
            joined_on = cleaned.get("joined_on")
            problems = services.membership_problems(group=group, student=student, joined_on=joined_on)
            if problems:
                raise ValidationError(problems)
        return cleaned


class MembershipFormSet(forms.BaseInlineFormSet):
    def clean(self):
        super().clean()
        if any(self.errors) or self.instance.pk is None:
            return
        today = timezone.localdate()
        current = {  # the children holding a place from today on
            f.cleaned_data["student"].pk
            for f in self.forms
            if f.cleaned_data
            and not f.cleaned_data.get("DELETE")
            and f.cleaned_data.get("student")
            and (f.cleaned_data.get("left_on") is None or f.cleaned_data["left_on"] > today)
        }
        limit = services.group_capacity(self.instance, services.settings_for(self.instance.term.school))
        if len(current) > limit:
            raise ValidationError(
                _("Group %(group)s may have at most %(limit)s students.")
                % {"group": self.instance.name, "limit": limit}
            )


class MembershipInline(SchoolScoped, admin.TabularInline):
    school_path = None  # the members of a group of the school
    model = GroupMembership
    form = MembershipForm
    formset = MembershipFormSet
    extra = 0
    autocomplete_fields = ("student",)
    readonly_fields = ("rank",)


class TimetableSlotForm(forms.ModelForm):
    class Meta:
        model = TimetableSlot
        fields = ["group", "weekday", "start", "end", "activity", "room", "teacher"]

    def _post_clean(self):
        # The conflict check needs the submitted values, which Django copies onto the instance
        # here (in clean() the instance still holds the old ones).
        super()._post_clean()
        if not self.errors and self.instance.group_id:
            for problem in services.timetable_conflicts(self.instance):
                self.add_error(None, problem)


class SlotFormSet(forms.BaseInlineFormSet):
    def clean(self):
        """Slots submitted together must not clash with each other either."""
        super().clean()
        if any(self.errors):
            return
        slots = [f.instance for f in self.forms if f.cleaned_data and not f.cleaned_data.get("DELETE")]
        for index, first in enumerate(slots):
            for second in slots[index + 1 :]:
                if first.weekday == second.weekday and first.start < second.end and second.start < first.end:
                    raise ValidationError(
                        _("Two slots of this group overlap on %(day)s: %(first)s and %(second)s.")
                        % {
                            "day": first.get_weekday_display(),
                            "first": f"{first.start:%H:%M}–{first.end:%H:%M}",
                            "second": f"{second.start:%H:%M}–{second.end:%H:%M}",
                        }
                    )


class SlotInline(SchoolScoped, admin.TabularInline):
    school_path = None
    model = TimetableSlot
    form = TimetableSlotForm
    formset = SlotFormSet
    extra = 0
    autocomplete_fields = ("activity", "room", "teacher")


@admin.register(ServiceGroup)
class ServiceGroupAdmin(SchoolScoped, admin.ModelAdmin):
    list_display = ("name", "term", "kind", "size", "teacher", "confirmed", "five_plus_two", "week_link")
    list_filter = ("term", "confirmed", "kind", "grades")
    list_select_related = ("term__school", "teacher")
    search_fields = ("name",)
    filter_horizontal = ("grades",)
    autocomplete_fields = ("teacher",)
    inlines = [SlotInline, MembershipInline]
    actions = ["confirm", "generate_sessions"]
    change_list_template = "admin/scheduling/servicegroup/change_list.html"

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(member_total=selectors.places_taken_count(timezone.localdate()))
            .prefetch_related(Prefetch("slots", queryset=TimetableSlot.objects.order_by("weekday", "start")))
        )

    def changelist_view(self, request, extra_context=None):
        self._rules = {}
        extra_context = {**(extra_context or {}), "terms": school_terms(request).order_by("-start")[:3]}
        return super().changelist_view(request, extra_context)

    @admin.display(description=_("students"), ordering="member_total")
    def size(self, group):
        return group.member_total

    @admin.display(description=_("5+2 check"))
    def five_plus_two(self, group):
        school_id = group.term.school_id
        if school_id not in self._rules:
            self._rules[school_id] = services.settings_for(group.term.school)
        rules = self._rules[school_id]
        problems = services.group_week_problems(group, slots=list(group.slots.all()), rules=rules)
        if not problems:
            return format_html('<span style="color:#198754">{}</span>', "✔")
        return format_html('<span style="color:#dc3545" title="{}">✘ {}</span>', "\n".join(problems), problems[0])

    @admin.display(description=_("week"))
    def week_link(self, group):
        return format_html('<a href="{}?group={}">{}</a>', reverse("admin:scheduling_week"), group.pk, _("week grid"))

    @admin.action(description=_("Confirm selected groups"), permissions=["change"])
    def confirm(self, request, queryset):
        try:
            count = services.groups_confirm(groups=queryset)
        except ValidationError as exc:
            self.message_user(request, " ".join(exc.messages), messages.ERROR)
            return
        self.message_user(
            request, ngettext("%(count)d group confirmed.", "%(count)d groups confirmed.", count) % {"count": count}
        )

    @admin.action(description=_("Generate the sessions of the selected groups' terms"), permissions=["change"])
    def generate_sessions(self, request, queryset):
        for term in Term.objects.filter(service_groups__in=queryset).distinct():
            try:
                report = services.sessions_generate(term=term)
            except UnknownHolidayYear as exc:
                self.message_user(request, exc.message, messages.ERROR)
                continue
            self.message_user(
                request,
                _(
                    "%(term)s: %(created)s sessions created, %(removed)s removed, "
                    "%(kept)s kept because roll call was taken."
                )
                % {
                    "term": term,
                    "created": report.created,
                    "removed": report.removed,
                    "kept": report.kept_with_roll_call,
                },
            )
            if report.makeup_days_without_timetable:
                self.message_user(
                    request,
                    _("Make-up working days without a timetable (set one under make-up day timetables): %(days)s")
                    % {"days": "、".join(date_format(d) for d in report.makeup_days_without_timetable)},
                    messages.WARNING,
                )

    def get_urls(self):
        return [
            path("week/", self.admin_site.admin_view(self.week_view), name="scheduling_week"),
            path("calendar/<int:term_id>/", self.admin_site.admin_view(self.calendar_view), name="scheduling_calendar"),
            *super().get_urls(),
        ]

    def week_view(self, request):
        """Week grid for one group, teacher or room."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        slots = TimetableSlot.objects.all()
        groups = self.school_scope(ServiceGroup.objects.all(), request)
        rooms = self.admin_site.get_model_admin(Room).school_scope(Room.objects.all(), request)
        # The teachers of the school's timetable (as the grid's choices list them).
        teachers = User.objects.filter(timetable_slots__group__in=groups).distinct()
        title = _("Week grid")
        chosen = {key: request.GET.get(key, "") for key in ("group", "teacher", "room")}
        chosen = {key: int(value) for key, value in chosen.items() if value.isdigit()}  # "—" or junk: nothing
        if "group" in chosen:
            subject = get_object_or_404(groups, pk=chosen["group"])
            slots, title = slots.filter(group=subject), _("Week grid of group %(name)s") % {"name": subject}
        elif "teacher" in chosen:
            subject = get_object_or_404(teachers, pk=chosen["teacher"])
            name = subject.get_full_name() or subject.get_username()
            slots, title = slots.filter(teacher=subject), _("Week grid of teacher %(name)s") % {"name": name}
        elif "room" in chosen:
            subject = get_object_or_404(rooms, pk=chosen["room"])
            slots, title = slots.filter(room=subject), _("Week grid of room %(name)s") % {"name": subject}
        else:
            slots = slots.none()
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "grid": selectors.week_grid(slots),
            "groups": groups.select_related("term").order_by("name"),
            "rooms": rooms.order_by("name"),
            "teachers": teachers.order_by("first_name"),
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/scheduling/week.html", context)

    def calendar_view(self, request, term_id):
        if not self.has_view_permission(request):
            raise PermissionDenied
        term = get_object_or_404(school_terms(request), pk=term_id)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Calendar of %(term)s") % {"term": term},
            "term": term,
            "calendar": selectors.term_calendar(term),
            "weekday_names": WEEKDAY_SHORT,
            "terms": school_terms(request).order_by("-start"),
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/scheduling/calendar.html", context)


@admin.register(Session)
class SessionAdmin(SchoolScoped, admin.ModelAdmin):
    school_path = "group__term__school_id"
    list_display = ("date", "start", "end", "group", "activity", "room", "teacher", "roll_call_at")
    list_filter = ("group__term", "group", "activity")
    list_select_related = ("group", "activity", "room", "teacher")
    date_hierarchy = "date"
    search_fields = ("group__name", "teacher__first_name")

    def has_add_permission(self, request):
        return False  # sessions come from the timetable

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(WaitlistEntry)
class WaitlistEntryAdmin(SchoolScoped, admin.ModelAdmin):
    list_display = ("position", "student", "term")
    list_filter = ("term",)
    list_select_related = ("student", "term")
    search_fields = ("student__name", "student__student_no")
    autocomplete_fields = ("student",)


@admin.register(DutyDay)
class DutyDayAdmin(SchoolOwned, admin.ModelAdmin):
    list_display = ("date", "leader", "staff_names", "staffing")
    list_filter = ("school",)
    list_select_related = ("leader",)
    date_hierarchy = "date"
    autocomplete_fields = ("leader",)
    filter_horizontal = ("admin_staff",)
    readonly_fields = ("group_teachers",)

    @admin.display(description=_("groups and their teachers that day"))
    def group_teachers(self, day):
        if day.pk is None:
            return "—"
        sessions = (
            Session.objects.filter(date=day.date, group__term__school=day.school)
            .select_related("group", "teacher", "activity")
            .order_by("group__name", "start")
        )
        rows = [
            format_html(
                "<li>{} {}–{} {} · {}</li>",
                s.group.name,
                s.start.strftime("%H:%M"),
                s.end.strftime("%H:%M"),
                s.activity,
                s.teacher.get_full_name() or s.teacher.get_username(),
            )
            for s in sessions
        ]
        return format_html("<ul>{}</ul>", mark_safe("".join(rows))) if rows else _("No sessions that day.")

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("admin_staff").annotate(staff=Count("admin_staff"))

    def changelist_view(self, request, extra_context=None):
        # Problems of every term's days, computed once per page (a fixed number of queries).
        self._problems = {}
        for term in school_terms(request).filter(service_groups__confirmed=True).distinct():
            try:
                self._problems.update(selectors.duty_problems(term))
            except UnknownHolidayYear as exc:
                self.message_user(request, exc.message, messages.WARNING)
        missing = sum(1 for issues in self._problems.values() if issues and issues[0] == selectors.NO_ROSTER())
        if missing and request.method == "GET":
            self.message_user(
                request,
                ngettext(
                    "%(count)d service day has no duty roster.", "%(count)d service days have no duty roster.", missing
                )
                % {"count": missing},
                messages.WARNING,
            )
        return super().changelist_view(request, extra_context)

    @admin.display(description=_("administrative duty staff"))
    def staff_names(self, day):
        return "、".join(u.get_full_name() or u.get_username() for u in day.admin_staff.all())

    @admin.display(description=_("staffing"))
    def staffing(self, day):
        problems = getattr(self, "_problems", {}).get(day.date)
        if not problems:
            return format_html('<span style="color:#198754">{}</span>', "✔")
        return format_html('<span style="color:#dc3545">✘ {}</span>', " ".join(problems))
