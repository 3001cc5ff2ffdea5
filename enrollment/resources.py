"""django-import-export resources: the school roster file ↔ students and guardians."""

from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.utils.translation import gettext as _
from import_export import resources
from import_export.fields import Field
from import_export.results import RowResult

from . import roster, services
from .models import Grade, Guardian, Student, StudentGuardian, mask_mobile


class RosterResource(resources.ModelResource):
    """One row per student with one guardian; a student's 学号 finds them again on re-import."""

    student_no = Field(attribute="student_no", column_name=roster.COL_STUDENT_NO)
    name = Field(attribute="name", column_name=roster.COL_NAME)
    gender = Field(column_name=roster.COL_GENDER)
    grade = Field(column_name=roster.COL_GRADE)
    homeroom = Field(column_name=roster.COL_CLASS)
    guardian_name = Field(column_name=roster.COL_GUARDIAN_NAME)
    guardian_mobile = Field(column_name=roster.COL_GUARDIAN_MOBILE)
    relation = Field(column_name=roster.COL_RELATION)

    class Meta:
        model = Student
        fields = ("student_no", "name", "gender", "grade", "homeroom", "guardian_name", "guardian_mobile", "relation")
        import_id_fields = ("student_no",)
        use_transactions = True
        skip_unchanged = True
        report_skipped = True

    def __init__(self, school=None, mask_mobiles=False, **kwargs):
        super().__init__(**kwargs)
        self.school, self.mask_mobiles = school, mask_mobiles

    # -- export -------------------------------------------------------------------------
    def filter_export(self, queryset, **kwargs):
        # Two queries for any number of students: rows with their class, then guardians.
        # prefetch_related(None) drops the admin changelist's own prefetch of the same relation.
        return (
            queryset.prefetch_related(None)
            .select_related("homeroom__grade")
            .prefetch_related(Prefetch("guardian_links", queryset=StudentGuardian.objects.select_related("guardian")))
        )

    def iter_queryset(self, queryset):
        # A school's roster (≤ 4,000 rows) fits in memory; reading it whole keeps the
        # export at two queries instead of two per chunk of 100.
        return queryset

    @staticmethod
    def _primary_link(student):
        links = list(student.guardian_links.all())  # prefetched, ordered primary first
        return links[0] if links else None

    def dehydrate_gender(self, student):
        return "男" if student.gender == Student.Gender.MALE else "女"

    def dehydrate_grade(self, student):
        return student.homeroom.grade.number

    def dehydrate_homeroom(self, student):
        return student.homeroom.number

    def dehydrate_guardian_name(self, student):
        link = self._primary_link(student)
        return link.guardian.name if link else ""

    def dehydrate_guardian_mobile(self, student):
        link = self._primary_link(student)
        if not link:
            return ""
        return mask_mobile(link.guardian.mobile) if self.mask_mobiles else link.guardian.mobile

    def dehydrate_relation(self, student):
        link = self._primary_link(student)
        return roster.RELATION_LABELS[link.relation] if link else ""

    # -- import -------------------------------------------------------------------------
    def get_queryset(self):
        queryset = Student.objects.all()
        return queryset.filter(school=self.school) if self.school else queryset

    def import_data(self, dataset, *args, **kwargs):
        # A file with any bad row writes nothing, also when confirmed after a preview.
        kwargs["rollback_on_validation_errors"] = True
        return super().import_data(dataset, *args, **kwargs)

    def before_import(self, dataset, **kwargs):
        # Until the file passes these checks every row is skipped, so that the preview shows
        # the one reason instead of an error per row.
        self._refused, self._grades, self._seen, self._pairs = True, {}, {}, {}
        if self.school is None:
            raise ValidationError(_("Choose the school the roster belongs to."))
        missing = [column for column in roster.COLUMNS if column not in (dataset.headers or [])]
        if missing:
            raise ValidationError(
                _("The file lacks the column(s) %(columns)s. Download the blank template and copy the data into it.")
                % {"columns": "、".join(missing)}
            )
        self._grades = {grade.number: grade for grade in Grade.objects.filter(school=self.school)}
        mobiles = {roster.normalise_mobile(roster.cell_text(m)) for m in dataset[roster.COL_GUARDIAN_MOBILE]}
        # Who each mobile number belongs to: on file, then as first written in this file.
        self._mobile_names = {
            mobile: (name, None)
            for mobile, name in Guardian.objects.filter(mobile__in=mobiles).values_list("mobile", "name")
        }
        self._refused = False

    def import_row(self, row, instance_loader, **kwargs):
        if self._refused or all(roster.cell_text(value) == "" for value in row.values()):
            result = self.get_row_result_class()()
            result.import_type = RowResult.IMPORT_TYPE_SKIP
            return result
        return super().import_row(row, instance_loader, **kwargs)

    def before_import_row(self, row, row_number=None, **kwargs):
        clean = roster.clean_row(row, known_grades=set(self._grades))
        first = self._seen.get(clean.student_no)
        if first is not None:
            first_row, first_clean = first
            if roster.student_fields(first_clean) != roster.student_fields(clean):
                raise ValidationError(
                    {
                        roster.COL_STUDENT_NO: _(
                            "Student number %(no)s already belongs to %(name)s in data row %(row)s "
                            "(spreadsheet row %(sheet_row)s) of this file; one student number is one student."
                        )
                        % {
                            "no": clean.student_no,
                            "name": first_clean.name,
                            "row": first_row,
                            "sheet_row": first_row + 1,
                        }
                    }
                )
        pair = (clean.student_no, clean.guardian_mobile)
        if pair in self._pairs:
            earlier = self._pairs[pair]
            raise ValidationError(
                {
                    roster.COL_GUARDIAN_MOBILE: _(
                        "This guardian of student %(no)s is already listed in data row %(row)s "
                        "(spreadsheet row %(sheet_row)s)."
                    )
                    % {"no": clean.student_no, "row": earlier, "sheet_row": earlier + 1}
                }
            )
        owner, owner_row = self._mobile_names.get(clean.guardian_mobile, (clean.guardian_name, row_number))
        if owner != clean.guardian_name:
            # A mistyped number must not hand a child to another family.
            source = (
                _("on file")
                if owner_row is None
                else _("in data row %(row)s (spreadsheet row %(sheet_row)s)")
                % {"row": owner_row, "sheet_row": owner_row + 1}
            )
            raise ValidationError(
                {
                    roster.COL_GUARDIAN_MOBILE: _(
                        "Mobile %(mobile)s belongs to %(owner)s %(source)s, not to %(name)s. Check the number; "
                        "a guardian's name is changed on the guardian's page in the admin."
                    )
                    % {"mobile": clean.guardian_mobile, "owner": owner, "source": source, "name": clean.guardian_name}
                }
            )
        self._mobile_names.setdefault(clean.guardian_mobile, (clean.guardian_name, row_number))
        self._seen.setdefault(clean.student_no, (row_number, clean))
        self._pairs[pair] = row_number
        row[roster.COL_STUDENT_NO] = clean.student_no  # the loader looks the student up by this
        self._row = clean

    def import_instance(self, instance, row, **kwargs):
        clean = self._row
        instance.school = self.school
        instance.student_no = clean.student_no
        instance.name = clean.name
        instance.gender = clean.gender
        instance.active = True  # on the school's current roster, so at school
        instance.homeroom = services.homeroom_get_or_create(
            grade=self._grades[clean.grade_number], number=clean.class_number
        )

    def skip_row(self, instance, original, row, import_validation_errors=None):
        if import_validation_errors or original is None or original.pk is None:
            return False
        clean = self._row
        unchanged = (original.name, original.gender, original.homeroom_id, original.active) == (
            instance.name,
            instance.gender,
            instance.homeroom_id,
            instance.active,
        )
        return (
            unchanged
            and StudentGuardian.objects.filter(
                student=original,
                guardian__mobile=clean.guardian_mobile,
                guardian__name=clean.guardian_name,
                relation=clean.relation,
            ).exists()
        )

    def validate_instance(self, instance, import_validation_errors=None, validate_unique=True):
        errors = dict(import_validation_errors or {})
        try:
            instance.full_clean(validate_unique=validate_unique)
        except ValidationError as exc:
            errors.update(exc.message_dict)
        if errors:
            raise ValidationError(errors)

    def after_save_instance(self, instance, row, **kwargs):
        clean = self._row
        services.guardian_link_upsert(
            student=instance, name=clean.guardian_name, mobile=clean.guardian_mobile, relation=clean.relation
        )
