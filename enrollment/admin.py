import csv
import re
from io import BytesIO

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Exists, OuterRef, Prefetch
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop, ngettext
from import_export.admin import ImportExportMixin
from openpyxl import Workbook
from simple_history.admin import SimpleHistoryAdmin

from afterschool.admin_scoping import (
    STAFF_USER_FIELDS,
    MaskedContacts,
    SchoolOwned,
    SchoolScoped,
    SchoolScopedHistory,
    school_terms,
)
from afterschool.export_formats import SafeExportFormats
from afterschool.spreadsheets import SpreadsheetRefused

from . import roster, services, workflow
from .documents import document_batch_request, document_request
from .forms import RosterConfirmImportForm, RosterImportForm
from .models import (
    AgreementSignature,
    AgreementText,
    Application,
    ApplicationChoice,
    ApplicationEvent,
    AuthorisedPerson,
    Document,
    DocumentBatch,
    Grade,
    Guardian,
    Homeroom,
    InvitationCode,
    LeaveRequest,
    Notification,
    ParentNotice,
    School,
    ServiceSlots,
    StaffProfile,
    Stage,
    Student,
    StudentGuardian,
    SurveyResponse,
    Term,
    User,
    mask_mobile,
    mask_note,
)
from .permissions import sees_contacts, staff_school_id
from .resources import RosterResource
from .roles import Role
from .selectors import survey_totals, term_for_portal

# django-import-export's own Chinese catalogue lacks this one: translated in ours.
gettext_noop("No valid data to import. Ensure your file has the correct headers or data for import.")


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
        homerooms = Homeroom.objects.select_related("grade")
        school_id = staff_school_id(request)
        if school_id is not None:
            homerooms = homerooms.filter(grade__school_id=school_id)
        return [(str(h.pk), str(h)) for h in homerooms]

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
class UserAdmin(SchoolScoped, BaseUserAdmin):
    # The school's staff, and the guardians of its children who have a log-in.
    school_path = ("staff_profile__school_id", "guardian__student_links__student__school_id")
    list_display = ("username", "first_name", "is_active", "is_staff", "role_names")
    list_filter = ("is_active", "is_staff", RoleFilter)

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("groups")

    def get_search_results(self, request, queryset, search_term):
        """Choosing a teacher or a duty leader by name offers the school's staff, not its guardians."""
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        school_id = staff_school_id(request)
        autocomplete = request.resolver_match is not None and request.resolver_match.url_name == "autocomplete"
        if school_id is not None and autocomplete and request.GET.get("field_name") in STAFF_USER_FIELDS:
            queryset = queryset.filter(staff_profile__school_id=school_id)
        return queryset, may_have_duplicates

    def save_model(self, request, obj, form, change):
        """An account the school admin adds is a member of the school's staff (else it would vanish
        from their list the moment it is saved); the staff record is completed under staff."""
        super().save_model(request, obj, form, change)
        school_id = staff_school_id(request)
        if not change and school_id is not None:
            services.staff_profile_create(user=obj, school_id=school_id)

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
class SchoolAdmin(SchoolScoped, admin.ModelAdmin):
    school_path = "id"
    list_display = ("name", "phone", "address")
    search_fields = ("name",)


@admin.register(Term)
class TermAdmin(SchoolOwned, admin.ModelAdmin):
    list_display = ("name", "school", "start", "end", "application_opens", "application_closes")
    list_filter = ("school",)
    list_select_related = ("school",)
    search_fields = ("name",)
    date_hierarchy = "start"


@admin.register(Grade)
class GradeAdmin(SchoolOwned, admin.ModelAdmin):
    list_display = ("__str__", "number", "stage_display", "school")
    list_filter = ("school", StageFilter)
    list_select_related = ("school",)

    @admin.display(description=_("stage"))
    def stage_display(self, grade):
        return grade.stage.label


@admin.register(Homeroom)
class HomeroomAdmin(SchoolScoped, admin.ModelAdmin):
    school_path = "grade__school_id"
    list_display = ("__str__", "grade", "teacher", "student_count")
    list_filter = ("grade__school", "grade")
    list_select_related = ("grade", "teacher")
    search_fields = ("teacher__first_name", "teacher__username", "teacher__staff_profile__name")
    autocomplete_fields = ("teacher",)

    def get_queryset(self, request):
        # The count drops the model's default ordering: restate it, or the class search pages unstably.
        return (
            super()
            .get_queryset(request)
            .select_related("grade", "teacher")
            .annotate(student_total=Count("students"))
            .order_by("grade__number", "number")
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


class StudentGuardianInline(SchoolScoped, admin.TabularInline):
    school_path = None  # the links of a child of the school
    model = StudentGuardian
    extra = 0
    autocomplete_fields = ("guardian", "student")


@admin.register(Student)
class StudentAdmin(SchoolScopedHistory, SchoolOwned, SafeExportFormats, ImportExportMixin, SimpleHistoryAdmin):
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

    def add_data_read_fail_error_to_form(self, form, e):
        if isinstance(e, SpreadsheetRefused):  # its message says which cell and what to do
            form.add_error("import_file", str(e))
            return
        form.add_error(
            "import_file",
            _(
                "The file could not be read (%(problem)s). Save the roster as xlsx, or as csv in UTF-8, "
                "and choose the matching format."
            )
            % {"problem": type(e).__name__},
        )

    def process_import(self, request, **kwargs):
        """Confirming twice, after the preview was cleaned away, or with a tampered form: a message,
        not an error page (nothing has been written)."""
        from django.shortcuts import redirect

        try:
            return super().process_import(request, **kwargs)
        except (FileNotFoundError, IndexError, ValueError, KeyError):
            messages.error(request, _("This import preview has expired or was already used: upload the file again."))
            return redirect("admin:enrollment_student_import")

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

    def get_export_resource_kwargs(self, request, **kwargs):
        # Finance may export the roster (names, classes) but not the families' numbers.
        return {
            **super().get_export_resource_kwargs(request, **kwargs),
            "mask_mobiles": not sees_contacts(request.user),
        }

    def get_confirm_form_initial(self, request, import_form):
        initial = super().get_confirm_form_initial(request, import_form)
        if import_form is not None:
            initial["school"] = import_form.cleaned_data["school"].pk
        return initial

    def _own_school_choice(self, request, form):
        """The roster goes into the user's own school only."""
        school_id = staff_school_id(request)
        if school_id is not None:
            form.fields["school"].queryset = School.objects.filter(pk=school_id)
            form.fields["school"].initial = school_id
        return form

    def create_import_form(self, request):
        return self._own_school_choice(request, super().create_import_form(request))

    def create_confirm_form(self, request, import_form=None):
        return self._own_school_choice(request, super().create_confirm_form(request, import_form))

    def get_export_queryset(self, request):
        # The roster export follows the list's filters and search (the list is the school's).
        return ImportExportMixin.get_export_queryset(self, request)

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


class LinkToStudentInline(SchoolScoped, admin.TabularInline):
    school_path = "student__school_id"  # a guardian's children at another school are not shown
    model = StudentGuardian
    extra = 0
    autocomplete_fields = ("student",)
    verbose_name = _("child")
    verbose_name_plural = _("children")


@admin.register(Guardian)
class GuardianAdmin(MaskedContacts, SchoolScopedHistory, SimpleHistoryAdmin):
    school_path = "student_links__student__school_id"  # a guardian is the school's through its children
    masked = {"mobile": mask_mobile}
    actions = ["issue_codes_printable", "issue_codes_csv"]
    list_display = ("name", "mobile", "child_count", "has_account")
    search_fields = ("name", "mobile", "students__name", "students__student_no")
    list_select_related = ("user",)
    raw_id_fields = ("user",)
    inlines = [LinkToStudentInline]

    def get_queryset(self, request):
        # The count drops the model's default ordering: restate it (the autocomplete pages by it).
        return super().get_queryset(request).annotate(child_total=Count("student_links")).order_by("name", "mobile")

    @admin.display(description=_("children"), ordering="child_total")
    def child_count(self, guardian):
        return guardian.child_total

    @admin.display(description=_("has an account"), boolean=True)
    def has_account(self, guardian):
        return guardian.user_id is not None

    def _issue(self, request, queryset):
        issued = workflow.invitation_issue(guardians=queryset.order_by("name"), issued_by=request.user)
        children = {}
        links = StudentGuardian.objects.filter(guardian__in=[g for g, _code in issued])
        school_id = staff_school_id(request)
        if school_id is not None:
            links = links.filter(student__school_id=school_id)
        for link in links.select_related("student__homeroom__grade"):
            children.setdefault(link.guardian_id, []).append(link.student)
        return [(guardian, code, children.get(guardian.pk, [])) for guardian, code in issued]

    @admin.action(description=_("Issue invitation codes (printable list)"), permissions=["change"])
    def issue_codes_printable(self, request, queryset):
        rows = self._issue(request, queryset)
        context = {**self.admin_site.each_context(request), "title": _("Invitation codes"), "rows": rows,
                   "activate_url": request.build_absolute_uri(reverse("enrollment:activate"))}  # fmt: skip
        return TemplateResponse(request, "admin/enrollment/invitation_codes.html", context)

    @admin.action(description=_("Issue invitation codes (CSV file)"), permissions=["change"])
    def issue_codes_csv(self, request, queryset):
        rows = self._issue(request, queryset)
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = "attachment; filename=invitation-codes.csv"
        response.write("\ufeff")
        writer = csv.writer(response)
        writer.writerow([_("guardian"), _("mobile"), _("children"), _("invitation code")])
        for guardian, code, kids in rows:
            writer.writerow(
                [guardian.name, guardian.mobile, "、".join(f"{k.name}（{k.homeroom}）" for k in kids), code]
            )
        return response


@admin.register(StaffProfile)
class StaffProfileAdmin(SchoolOwned, admin.ModelAdmin):
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


# -- participation ------------------------------------------------------------------------------


class ReviewActionForm(ActionForm):
    note = forms.CharField(label=_("note / reason"), required=False, max_length=200)
    effective = forms.DateField(
        label=_("leaving date (for withdrawal)"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )


class ChoiceInline(SchoolScoped, admin.TabularInline):
    school_path = None
    model = ApplicationChoice
    extra = 0
    autocomplete_fields = ("activity",)


class AuthorisedPersonInline(admin.TabularInline):
    model = AuthorisedPerson  # the admin role's only (finance has no permission on it)
    extra = 0


class EventInline(admin.TabularInline):
    model = ApplicationEvent
    extra = 0
    readonly_fields = ("status", "actor", "at", "note")
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class ApplicationAdminForm(forms.ModelForm):
    class Meta:
        model = Application
        fields = "__all__"  # noqa: DJ007 - the admin lists the fields it shows

    def clean(self):
        cleaned = super().clean()
        editing = self.instance.pk is not None
        if self.errors or not editing and not (cleaned.get("term") and cleaned.get("student")):
            return cleaned
        draft = Application(**{f: cleaned[f] for f in cleaned if f in {fld.name for fld in Application._meta.fields}})
        if editing:
            draft.term, draft.student = self.instance.term, self.instance.student
            choices = [c.activity for c in self.instance.choices.select_related("activity")]
            persons = list(self.instance.authorised_persons.all())
        else:
            choices, persons = [], []
        workflow.application_check(draft, choices, persons)  # the same rules as the portal
        return cleaned


@admin.register(Application)
class ApplicationAdmin(MaskedContacts, SchoolScoped, admin.ModelAdmin):
    form = ApplicationAdminForm
    masked = {"emergency_mobile": mask_mobile, "health_notes": mask_note, "allergies": mask_note}
    list_display = ("student", "homeroom", "term", "status", "priority", "choice_list", "agreement", "submitted_at")
    list_filter = ("term", "status", "priority", "student__homeroom__grade")
    list_select_related = ("student__homeroom__grade", "term")
    search_fields = ("student__name", "student__student_no")
    autocomplete_fields = ("student", "guardian")
    readonly_fields = ("status", "withdrawn_on", "submitted_at", "updated_at")
    inlines = [ChoiceInline, AuthorisedPersonInline, EventInline]
    action_form = ReviewActionForm
    actions = ["approve", "reject", "place", "withdraw"]

    def get_queryset(self, request):
        signed = AgreementSignature.objects.filter(term=OuterRef("term"), student=OuterRef("student"))
        return (
            super().get_queryset(request).prefetch_related("choices__activity").annotate(has_signature=Exists(signed))
        )

    @admin.display(description=_("homeroom class"), ordering="student__homeroom")
    def homeroom(self, application):
        return application.student.homeroom

    @admin.display(description=_("activities"))
    def choice_list(self, application):
        return "、".join(choice.activity.name for choice in application.choices.all()) or "—"

    @admin.display(description=_("agreement signed"), boolean=True, ordering="has_signature")
    def agreement(self, application):
        return application.has_signature

    def get_readonly_fields(self, request, obj=None):
        fixed = ("term", "student", "guardian") if obj is not None else ()
        return (*fixed, *self.readonly_fields)

    def save_model(self, request, obj, form, change):
        """A paper application entered by the school goes through the same service."""
        if change:
            super().save_model(request, obj, form, change)
            if form.changed_data:
                ApplicationEvent.objects.create(
                    application=obj, status=obj.status, actor=request.user,
                    note=_("Changed by the school: %(fields)s") % {"fields": "、".join(
                        str(form.fields[name].label) for name in form.changed_data if name in form.fields
                    )},
                )  # fmt: skip
            return
        fields = {f: form.cleaned_data[f] for f in form.cleaned_data if f not in {"term", "student", "guardian"}}
        saved = workflow.application_save(
            term=obj.term, student=obj.student, guardian=obj.guardian, fields=fields, choices=[], persons=[],
            actor=request.user, paper=True,
        )  # fmt: skip
        obj.pk = saved.pk
        obj._state.adding = False

    def _run(self, request, queryset, step):
        try:
            count = step()
        except (ValidationError, PermissionDenied) as exc:
            self.message_user(
                request, " ".join(getattr(exc, "messages", [str(exc) or _("Not allowed.")])), messages.ERROR
            )
            return
        self.message_user(
            request, ngettext("%(count)d application done.", "%(count)d applications done.", count) % {"count": count}
        )

    @admin.action(description=_("Approve (class review or school review)"), permissions=["change"])
    def approve(self, request, queryset):
        note = request.POST.get("note", "")
        self._run(
            request,
            queryset,
            lambda: workflow.applications_review(applications=queryset, actor=request.user, approve=True, note=note),
        )

    @admin.action(description=_("Reject (give the reason in the note)"), permissions=["change"])
    def reject(self, request, queryset):
        note = request.POST.get("note", "")
        self._run(
            request,
            queryset,
            lambda: workflow.applications_review(applications=queryset, actor=request.user, approve=False, note=note),
        )

    @admin.action(description=_("Place school-approved applications (proposes service groups)"), permissions=["change"])
    def place(self, request, queryset):
        try:
            placed, waitlisted, refused = workflow.applications_place(applications=queryset, actor=request.user)
        except ValidationError as exc:
            self.message_user(request, " ".join(exc.messages), messages.ERROR)
            return
        self.message_user(
            request,
            _("%(placed)s placed in proposed groups (confirm them under service groups), %(waiting)s waitlisted.")
            % {"placed": placed, "waiting": waitlisted},
        )
        if refused:
            self.message_user(
                request,
                _("Not placed, no signed agreement for the term: %(names)s") % {"names": "、".join(refused)},
                messages.WARNING,
            )

    @admin.action(description=_("Withdraw from the leaving date given"), permissions=["change"])
    def withdraw(self, request, queryset):
        try:
            effective = forms.DateField().clean(request.POST.get("effective"))
        except ValidationError:
            self.message_user(request, _("Give the leaving date."), messages.ERROR)
            return
        note = request.POST.get("note", "")

        def step():
            for application in queryset:
                workflow.application_withdraw(
                    application=application, actor=request.user, effective=effective, note=note
                )
            return queryset.count()

        self._run(request, queryset, step)


@admin.register(AgreementText)
class AgreementTextAdmin(SchoolScoped, admin.ModelAdmin):
    list_display = ("title", "term", "version", "signature_count", "created_at")
    list_filter = ("term",)
    readonly_fields = ("version",)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(signature_total=Count("signatures"))

    @admin.display(description=_("signatures"))
    def signature_count(self, text):
        return text.signature_total

    def save_model(self, request, obj, form, change):
        current = AgreementText.objects.get(pk=obj.pk) if change else None
        saved = workflow.agreement_text_save(term=obj.term, title=obj.title, body=obj.body, current=current)
        if current is not None and saved.pk != current.pk:
            self.message_user(
                request,
                _(
                    "The text had been signed, so your edit is saved as version %(version)s; "
                    "signatures keep the version signed."
                )
                % {"version": saved.version},
                messages.WARNING,
            )
            current.refresh_from_db()
        obj.pk, obj.version = saved.pk, saved.version
        obj._state.adding = False


class PaperSignatureForm(forms.ModelForm):
    class Meta:
        model = AgreementSignature
        fields = ["text", "student", "guardian", "signed_name", "paper_scan"]

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("paper_scan"):
            self.add_error("paper_scan", _("Attach the scan of the signed paper agreement."))
        text, student = cleaned.get("text"), cleaned.get("student")
        if text and student and AgreementSignature.objects.filter(term=text.term, student=student).exists():
            raise ValidationError(_("The agreement for this child and term is already signed."))
        return cleaned


@admin.register(AgreementSignature)
class AgreementSignatureAdmin(SchoolScoped, admin.ModelAdmin):
    form = PaperSignatureForm
    list_display = ("student", "term", "text", "signed_name", "signed_at", "paper", "verified")
    list_filter = ("term",)
    list_select_related = ("student", "term", "text")
    search_fields = ("student__name", "student__student_no", "signed_name")
    autocomplete_fields = ("student", "guardian")
    fields = ("text", "student", "guardian", "signed_name", "paper_scan")

    def get_readonly_fields(self, request, obj=None):
        # A signature never changes once recorded.
        return self.fields if obj is not None else ()

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("on paper"), boolean=True)
    def paper(self, signature):
        return bool(signature.paper_scan)

    @admin.display(description=_("hash verifies"), boolean=True)
    def verified(self, signature):
        return signature.verifies()

    def save_model(self, request, obj, form, change):
        """Record a paper agreement: the scan is required."""
        if change:
            return
        obj.term = obj.text.term
        obj.text_sha256 = obj.text.sha256()
        obj.recorded_by = request.user
        obj.full_clean()
        super().save_model(request, obj, form, change)


@admin.register(ParentNotice)
class ParentNoticeAdmin(SchoolScoped, admin.ModelAdmin):
    list_display = ("title", "term", "published", "read_count", "updated_at")
    list_filter = ("published",)
    actions = ["refill"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(read_total=Count("reads"))

    @admin.display(description=_("read by guardians"))
    def read_count(self, notice):
        return notice.read_total

    @admin.action(description=_("Refill the text from the template and the term's data"), permissions=["change"])
    def refill(self, request, queryset):
        for notice in queryset:
            workflow.notice_fill(term=notice.term)
        self.message_user(request, _("The text was refilled; check it before publishing."))


@admin.register(SurveyResponse)
class SurveyResponseAdmin(SchoolScoped, admin.ModelAdmin):
    list_display = ("student", "term", "needs_service", *ServiceSlots.SLOT_FIELDS, "answered_at")
    list_filter = ("term", "needs_service", "student__homeroom__grade")
    list_select_related = ("student", "term")
    search_fields = ("student__name",)
    change_list_template = "admin/enrollment/surveyresponse/change_list.html"

    def get_urls(self):
        return [
            path(
                "totals/<int:term_id>/", self.admin_site.admin_view(self.totals_view), name="enrollment_survey_totals"
            ),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        terms = school_terms(request).order_by("-start")[:3]
        return super().changelist_view(request, {**(extra_context or {}), "terms": terms})

    def totals_view(self, request, term_id):
        if not self.has_view_permission(request):
            raise PermissionDenied
        term = get_object_or_404(school_terms(request), pk=term_id)
        table = survey_totals(term)
        if request.GET.get("format") == "csv":
            response = HttpResponse(content_type="text/csv; charset=utf-8")
            response["Content-Disposition"] = f"attachment; filename=survey-{term.pk}.csv"
            response.write("\ufeff")  # Excel opens UTF-8 CSV correctly only with a BOM
            writer = csv.writer(response)
            writer.writerow([str(_("grade")), *table.columns])
            for grade, counts in table.rows:
                writer.writerow([grade, *counts])
            return response
        context = {
            **self.admin_site.each_context(request),
            "title": _("Needs survey totals, %(term)s") % {"term": term},
            "term": term,
            "table": table,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/enrollment/survey_totals.html", context)


@admin.register(LeaveRequest)
class LeaveRequestAdmin(SchoolScoped, admin.ModelAdmin):
    school_path = "student__school_id"
    list_display = ("student", "start", "end", "reason", "status", "decided_by")
    list_filter = ("status",)
    list_select_related = ("student", "decided_by")
    search_fields = ("student__name",)
    autocomplete_fields = ("student", "guardian")
    date_hierarchy = "start"


@admin.register(InvitationCode)
class InvitationCodeAdmin(SchoolScoped, admin.ModelAdmin):
    school_path = "guardian__student_links__student__school_id"
    list_display = ("guardian", "issued_at", "expires_at", "used_at", "issued_by")
    list_select_related = ("guardian", "issued_by")
    search_fields = ("guardian__name", "guardian__mobile")
    fields = ("guardian", "issued_at", "expires_at", "used_at", "issued_by")
    readonly_fields = fields

    def has_add_permission(self, request):
        return False  # issued from the guardian list, where the codes are shown once


@admin.register(Notification)
class NotificationAdmin(SchoolScoped, admin.ModelAdmin):
    # To a member of the school's staff, or to a guardian of one of its children.
    school_path = ("recipient__staff_profile__school_id", "guardian__student_links__student__school_id")
    list_display = (
        "subject",
        "guardian",
        "recipient",
        "kind",
        "channel",
        "created_at",
        "sent_at",
        "failed_at",
        "read_at",
    )
    list_filter = ("kind", "channel")
    list_select_related = ("guardian", "recipient")
    search_fields = ("subject", "guardian__name")
    readonly_fields = (
        "recipient", "guardian", "kind", "channel", "subject", "body", "created_at", "sent_at", "attempts", "error",
        "failed_at", "read_at",
    )  # fmt: skip

    def has_add_permission(self, request):
        return False  # messages go out through the notification service, never typed in here


# -- generated documents ------------------------------------------------------------------------


def queue_documents(request, *, kind: str, school, items: list[tuple], label: str, batch: bool = False):
    """Queue one document, or one batch task for many, and send the user to follow progress.
    ``items`` are (subject, title, params)."""
    from django.shortcuts import redirect

    if not items:
        messages.warning(request, _("Nothing to make: select at least one row."))
        return None
    if len(items) == 1 and not batch:
        subject, title, params = items[0]
        document_request(
            kind=kind, school=school, title=title, subject=subject, params=params, requested_by=request.user
        )
        messages.success(request, _("“%(title)s” is being made; it appears below when done.") % {"title": title})
        return redirect("admin:enrollment_document_changelist")
    made = document_batch_request(kind=kind, school=school, label=label, items=items, requested_by=request.user)
    messages.success(request, _("%(n)s documents are being made in one batch.") % {"n": made.total})
    return redirect("admin:enrollment_documentbatch_changelist")


class _DocumentsReadOnly(SchoolOwned, admin.ModelAdmin):
    def has_add_permission(self, request):
        return False  # documents are made by the tasks

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # issued documents are kept

    def changelist_view(self, request, extra_context=None):
        """The list refreshes itself while anything of the school is still being made."""
        unfinished = (
            self.get_queryset(request).filter(status__in=[Document.Status.QUEUED, Document.Status.RUNNING]).exists()
        )
        return super().changelist_view(request, {**(extra_context or {}), "refresh": unfinished})


@admin.register(Document)
class DocumentAdmin(_DocumentsReadOnly):
    list_display = ("title", "kind", "status_text", "pages", "requested_by", "requested_at", "finished_at", "download")
    list_filter = ("kind", "status", ("batch", admin.RelatedOnlyFieldListFilter))
    list_select_related = ("requested_by",)
    search_fields = ("title",)
    change_list_template = "admin/enrollment/document/change_list.html"
    exclude = ("data", "subject_type", "subject_id", "file")

    def get_urls(self):
        return [
            path(
                "<int:pk>/download/",
                self.admin_site.admin_view(self.download_view),
                name="enrollment_document_download",
            ),
            *super().get_urls(),
        ]

    @admin.display(description=_("status"), ordering="status")
    def status_text(self, document):
        if document.status == Document.Status.FAILED:
            return f"{document.get_status_display()}：{document.error}"
        return document.get_status_display()

    @admin.display(description=_("file"))
    def download(self, document):
        from django.utils.html import format_html

        if document.status != Document.Status.DONE:
            return "—"
        url = reverse("admin:enrollment_document_download", args=[document.pk])
        return format_html('<a href="{}">{}</a>', url, _("Download PDF"))

    def download_view(self, request, pk):
        from django.http import FileResponse

        if not self.has_view_permission(request):
            raise PermissionDenied
        document = get_object_or_404(self.get_queryset(request), pk=pk, status=Document.Status.DONE)
        return FileResponse(
            document.file.open("rb"),
            as_attachment=True,
            filename=f"{document.title}.pdf",
            content_type="application/pdf",
        )


@admin.register(DocumentBatch)
class DocumentBatchAdmin(_DocumentsReadOnly):
    list_display = ("label", "kind", "status", "progress", "requested_by", "requested_at", "finished_at", "files")
    list_select_related = ("requested_by",)
    change_list_template = "admin/enrollment/document/change_list.html"

    def get_queryset(self, request):
        from django.db.models import Q

        return (
            super()
            .get_queryset(request)
            .annotate(done=Count("documents", filter=Q(documents__status=Document.Status.DONE)))
        )

    @admin.display(description=_("progress"))
    def progress(self, batch):
        return _("%(done)s of %(total)s") % {"done": batch.done, "total": batch.total}

    @admin.display(description=_("documents"))
    def files(self, batch):
        from django.utils.html import format_html

        url = reverse("admin:enrollment_document_changelist") + f"?batch__id__exact={batch.pk}"
        return format_html('<a href="{}">{}</a>', url, _("Show the documents"))


def _term_of(school_id):

    return (
        term_for_portal(school_ids=[school_id]) or Term.objects.filter(school_id=school_id).order_by("-start").first()
    )


@admin.action(description=_("PDF: fee notice for each selected child"), permissions=["view"])
def fee_notices_action(modeladmin, request, queryset):
    return _per_student(request, queryset, Document.Kind.FEE_NOTICE)


@admin.action(description=_("PDF: settlement statement for each selected child"), permissions=["view"])
def settlements_action(modeladmin, request, queryset):
    return _per_student(request, queryset, Document.Kind.SETTLEMENT)


def _per_student(request, queryset, kind):
    name = str(Document.Kind(kind).label)
    students = list(queryset.select_related("school", "homeroom__grade").order_by("student_no"))
    if not students:
        return None
    term = _term_of(students[0].school_id)
    if term is None:
        messages.error(request, _("The school has not opened a term yet."))
        return None
    items = [(s, f"{name} {term.name} {s.homeroom} {s.name}", {"term": term.pk}) for s in students]
    return queue_documents(
        request, kind=kind, school=students[0].school, items=items, label=f"{name} {term.name} ({len(items)})"
    )


@admin.action(description=_("PDF: the fee notices of each selected class (one file a class)"), permissions=["view"])
def class_fee_notices_action(modeladmin, request, queryset):
    homerooms = list(queryset.select_related("grade__school"))
    if not homerooms:
        return None
    school = homerooms[0].grade.school
    term = _term_of(school.pk)
    if term is None:
        messages.error(request, _("The school has not opened a term yet."))
        return None
    name = str(Document.Kind.CLASS_FEE_NOTICE.label)
    items = [(h, f"{name} {term.name} {h}", {"term": term.pk}) for h in homerooms]
    return queue_documents(
        request, kind=Document.Kind.CLASS_FEE_NOTICE, school=school, items=items, label=f"{name} {term.name}"
    )


@admin.action(description=_("PDF: fee notices for the whole grade (a file per child, one batch)"), permissions=["view"])
def grade_fee_notices_action(modeladmin, request, queryset):
    grades = list(queryset.select_related("school"))
    if not grades:
        return None
    term = _term_of(grades[0].school_id)
    if term is None:
        messages.error(request, _("The school has not opened a term yet."))
        return None
    students = (
        Student.objects.filter(homeroom__grade__in=grades, charge_lines__term=term)
        .select_related("homeroom__grade")
        .distinct()
        .order_by("homeroom__grade__number", "homeroom__number", "student_no")
    )
    name = str(Document.Kind.FEE_NOTICE.label)
    items = [(s, f"{name} {term.name} {s.homeroom} {s.name}", {"term": term.pk}) for s in students]
    label = f"{name} {term.name} {'、'.join(str(g) for g in grades)}"
    return queue_documents(
        request, kind=Document.Kind.FEE_NOTICE, school=grades[0].school, items=items, label=label, batch=True
    )


@admin.action(description=_("PDF: the notice to parents"), permissions=["view"])
def notice_action(modeladmin, request, queryset):
    terms = [t for t in queryset.select_related("school") if ParentNotice.objects.filter(term=t).exists()]
    if not terms:
        messages.error(request, _("Write the notice to parents of the term first."))
        return None
    name = str(Document.Kind.NOTICE.label)
    items = [(t, f"{name} {t.name}", {}) for t in terms]
    return queue_documents(request, kind=Document.Kind.NOTICE, school=terms[0].school, items=items, label=name)


@admin.action(description=_("PDF: the signed agreement, for the record"), permissions=["view"])
def agreements_action(modeladmin, request, queryset):
    signatures = list(queryset.select_related("term__school", "student"))
    if not signatures:
        return None
    name = str(Document.Kind.AGREEMENT.label)
    items = [(sig, f"{name} {sig.term.name} {sig.student.name}", {}) for sig in signatures]
    return queue_documents(
        request, kind=Document.Kind.AGREEMENT, school=signatures[0].term.school, items=items,
        label=f"{name} ({len(items)})",
    )  # fmt: skip


TermAdmin.actions = [notice_action]
GradeAdmin.actions = [grade_fee_notices_action]
HomeroomAdmin.actions = [class_fee_notices_action]
StudentAdmin.actions = ["deactivate", fee_notices_action, settlements_action]
AgreementSignatureAdmin.actions = [agreements_action]
