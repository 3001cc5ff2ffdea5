import re
from io import BytesIO

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Prefetch
from django.http import HttpResponse
from django.urls import path
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from import_export.admin import ImportExportMixin
from openpyxl import Workbook
from simple_history.admin import SimpleHistoryAdmin

from . import roster, services
from .forms import RosterConfirmImportForm, RosterImportForm
from .models import Grade, Guardian, Homeroom, School, StaffProfile, Stage, Student, StudentGuardian, Term, User
from .resources import RosterResource
from .roles import Role


class StageFilter(admin.SimpleListFilter):
    title = _("stage")
    parameter_name = "stage"
    grade_path = "number"

    def lookups(self, request, model_admin):
        return Stage.choices

    def queryset(self, request, queryset):
        try:
            stage = Stage(int(self.value()))
        except (TypeError, ValueError):
            return queryset  # no choice, or a hand-edited address: show everything
        return queryset.filter(**{f"{self.grade_path}__in": list(stage.grade_numbers())})


class StudentStageFilter(StageFilter):
    grade_path = "homeroom__grade__number"


class HomeroomFilter(admin.SimpleListFilter):
    """Class filter that loads the classes with their grades in one query."""

    title = _("homeroom class")
    parameter_name = "homeroom"

    def lookups(self, request, model_admin):
        return [(str(h.pk), str(h)) for h in Homeroom.objects.select_related("grade")]

    def queryset(self, request, queryset):
        if self.value() and self.value().isdigit():
            return queryset.filter(homeroom_id=self.value())
        return queryset


def role_labels(groups) -> str:
    """Role groups as the user's language names them (group names are the Chinese role names)."""
    labels = []
    for group in groups:
        try:
            labels.append(str(Role(group.name).label))
        except ValueError:
            labels.append(group.name)
    return "、".join(labels)


class RoleFilter(admin.SimpleListFilter):
    title = _("role")
    parameter_name = "role"
    user_path = "groups__name"

    def lookups(self, request, model_admin):
        return Role.choices

    def queryset(self, request, queryset):
        if self.value() in Role.values:
            return queryset.filter(**{self.user_path: self.value()})
        return queryset


class StaffRoleFilter(RoleFilter):
    user_path = "user__groups__name"


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "first_name", "is_active", "is_staff", "role_names")
    list_filter = ("is_active", "is_staff", RoleFilter)

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("groups")

    @admin.display(description=_("roles"))
    def role_names(self, user):
        return role_labels(user.groups.all())

    def get_readonly_fields(self, request, obj=None):
        # The school admin manages accounts and roles, but cannot make anyone a superuser
        # or hand out single permissions past the roles.
        readonly = list(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser:
            readonly += ["is_superuser", "user_permissions"]
        return readonly

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False  # nor take over the IT superuser's account
        return super().has_change_permission(request, obj)


@admin.register(School)
class SchoolAdmin(admin.ModelAdmin):
    list_display = ("name", "phone", "address")
    search_fields = ("name",)


@admin.register(Term)
class TermAdmin(admin.ModelAdmin):
    list_display = ("name", "school", "start", "end", "application_opens", "application_closes")
    list_filter = ("school",)
    list_select_related = ("school",)
    search_fields = ("name",)
    date_hierarchy = "start"


@admin.register(Grade)
class GradeAdmin(admin.ModelAdmin):
    list_display = ("__str__", "number", "stage_display", "school")
    list_filter = ("school", StageFilter)
    list_select_related = ("school",)

    @admin.display(description=_("stage"))
    def stage_display(self, grade):
        return grade.stage.label


@admin.register(Homeroom)
class HomeroomAdmin(admin.ModelAdmin):
    list_display = ("__str__", "grade", "teacher", "student_count")
    list_filter = ("grade__school", "grade")
    list_select_related = ("grade", "teacher")
    search_fields = ("teacher__first_name", "teacher__username", "teacher__staff_profile__name")
    autocomplete_fields = ("teacher",)

    def get_queryset(self, request):
        return (
            super().get_queryset(request).select_related("grade", "teacher").annotate(student_total=Count("students"))
        )

    def get_search_results(self, request, queryset, search_term):
        """Find a class the way people write it: "三年级2班", "三年级", "3", "2班"."""
        grade = roster.parse_grade(search_term.strip()) or roster.class_cell_grade(search_term)
        number = roster.parse_class_number(search_term) if re.search(r"班|\(|（|年级.*\d", search_term) else None
        if grade or number:
            if grade:
                queryset = queryset.filter(grade__number=grade)
            if number:
                queryset = queryset.filter(number=number)
            return queryset, False
        return super().get_search_results(request, queryset, search_term)

    @admin.display(description=_("students"), ordering="student_total")
    def student_count(self, homeroom):
        return homeroom.student_total


class StudentGuardianInline(admin.TabularInline):
    model = StudentGuardian
    extra = 0
    autocomplete_fields = ("guardian", "student")


@admin.register(Student)
class StudentAdmin(ImportExportMixin, SimpleHistoryAdmin):
    resource_classes = [RosterResource]
    import_form_class = RosterImportForm
    confirm_form_class = RosterConfirmImportForm
    change_list_template = "admin/enrollment/student/change_list.html"
    import_template_name = "admin/enrollment/student/import.html"

    list_display = ("student_no", "name", "gender", "homeroom", "primary_guardian", "active")
    list_display_links = ("student_no", "name")
    list_filter = ("active", "gender", StudentStageFilter, "homeroom__grade", HomeroomFilter)
    list_select_related = ("homeroom__grade",)
    search_fields = ("student_no", "name", "guardians__name", "guardians__mobile")
    autocomplete_fields = ("homeroom",)
    inlines = [StudentGuardianInline]
    actions = ["deactivate"]
    list_per_page = 50

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .prefetch_related(Prefetch("guardian_links", queryset=StudentGuardian.objects.select_related("guardian")))
        )

    @admin.display(description=_("primary contact"))
    def primary_guardian(self, student):
        for link in student.guardian_links.all():
            if link.is_primary:
                return f"{link.guardian.name}（{link.get_relation_display()}）"
        return "—"

    def has_delete_permission(self, request, obj=None):
        # Children's records are never deleted; they are made inactive.
        return False

    @admin.action(description=_("Mark selected students as having left the school"), permissions=["change"])
    def deactivate(self, request, queryset):
        count = services.student_deactivate(students=queryset)
        self.message_user(
            request,
            ngettext("%(count)d student marked as left.", "%(count)d students marked as left.", count)
            % {"count": count},
            messages.SUCCESS,
        )

    # -- roster import / export -----------------------------------------------------------
    def get_import_resource_kwargs(self, request, **kwargs):
        form = kwargs.get("form")
        school = None
        if form is not None and hasattr(form, "cleaned_data"):
            school = form.cleaned_data.get("school")
        return {**super().get_import_resource_kwargs(request, **kwargs), "school": school}

    def get_confirm_form_initial(self, request, import_form):
        initial = super().get_confirm_form_initial(request, import_form)
        if import_form is not None:
            initial["school"] = import_form.cleaned_data["school"].pk
        return initial

    def get_urls(self):
        return [
            path(
                "roster-template/",
                self.admin_site.admin_view(self.roster_template_view),
                name="enrollment_student_roster_template",
            ),
            *super().get_urls(),
        ]

    def roster_template_view(self, request):
        """A blank roster workbook with the columns the import expects and one example row."""
        if not self.has_import_permission(request):
            raise PermissionDenied
        workbook = Workbook()
        sheet = workbook.active
        sheet.title = "名册"
        sheet.append(roster.COLUMNS)
        sheet.append(["20260101", "王小明", "男", "一年级", "1班", "王建国", "13800000000", "父亲"])
        for column, width in zip("ABCDEFGH", (14, 10, 6, 10, 8, 12, 14, 8), strict=True):
            sheet.column_dimensions[column].width = width
        buffer = BytesIO()
        workbook.save(buffer)
        response = HttpResponse(
            buffer.getvalue(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )
        response["Content-Disposition"] = "attachment; filename=roster-template.xlsx"
        return response


class LinkToStudentInline(admin.TabularInline):
    model = StudentGuardian
    extra = 0
    autocomplete_fields = ("student",)
    verbose_name = _("child")
    verbose_name_plural = _("children")


@admin.register(Guardian)
class GuardianAdmin(SimpleHistoryAdmin):
    list_display = ("name", "mobile", "child_count", "has_account")
    search_fields = ("name", "mobile", "students__name", "students__student_no")
    list_select_related = ("user",)
    raw_id_fields = ("user",)
    inlines = [LinkToStudentInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(child_total=Count("student_links"))

    @admin.display(description=_("children"), ordering="child_total")
    def child_count(self, guardian):
        return guardian.child_total

    @admin.display(description=_("has an account"), boolean=True)
    def has_account(self, guardian):
        return guardian.user_id is not None


@admin.register(StaffProfile)
class StaffProfileAdmin(admin.ModelAdmin):
    list_display = ("name", "mobile", "user", "roles", "school")
    list_filter = ("school", StaffRoleFilter)
    list_select_related = ("user", "school")
    search_fields = ("name", "mobile", "user__username")
    raw_id_fields = ("user",)

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("user__groups")

    @admin.display(description=_("roles"))
    def roles(self, profile):
        return role_labels(profile.user.groups.all())
