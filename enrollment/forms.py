from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.core.validators import FileExtensionValidator
from django.utils.translation import gettext_lazy as _
from import_export.forms import ConfirmImportForm, ImportForm

from afterschool.fields import ModelChoicesField
from afterschool.spreadsheets import refusal
from scheduling.models import Activity

from .models import Application, School, mobile_validator
from .models.participation import id_last4_validator


def check_size(upload, message):
    """Refuse an upload above UPLOAD_MAX_BYTES with ``message`` (takes %(size)s and %(limit)s in MB)."""
    if upload.size > settings.UPLOAD_MAX_BYTES:
        raise forms.ValidationError(
            message % {"size": round(upload.size / 1048576, 1), "limit": round(settings.UPLOAD_MAX_BYTES / 1048576, 1)}
        )


class LoginForm(AuthenticationForm):
    username = forms.CharField(
        label=_("User name or mobile number"),
        max_length=150,
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "username", "inputmode": "text"}),
    )
    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": _("The user name / mobile number or the password is wrong. Both are case-sensitive."),
    }


class RosterImportForm(ImportForm):
    school = forms.ModelChoiceField(queryset=School.objects.all(), label=_("School"))

    def clean_import_file(self):
        upload = self.cleaned_data["import_file"]
        check_size(upload, _("The file is %(size)s MB; at most %(limit)s MB can be imported."))
        return upload

    def clean(self):
        """A file with data beyond the rows or columns an import reads (a stray cell in row
        1,048,576, more than ROSTER_MAX_ROWS students) is refused here, with the cell named,
        before the preview reads it (settings.IMPORT_FORMATS)."""
        cleaned = super().clean()
        upload, chosen = cleaned.get("import_file"), cleaned.get("format")
        if upload is not None and str(chosen or "").isdigit() and int(chosen) < len(self._formats):
            upload.seek(0)
            problem = refusal(self._formats[int(chosen)](), upload.read())
            upload.seek(0)
            if problem:
                self.add_error("import_file", problem)
        return cleaned

    def __init__(self, formats, resources, **kwargs):
        super().__init__(formats, resources, **kwargs)
        self._formats = formats
        only = list(School.objects.all()[:2])
        if len(only) == 1:
            self.fields["school"].initial = only[0].pk


class RosterConfirmImportForm(ConfirmImportForm):
    school = forms.ModelChoiceField(queryset=School.objects.all(), widget=forms.HiddenInput)


# -- portal ---------------------------------------------------------------------------------------

EVIDENCE_EXTENSIONS = ["jpg", "jpeg", "png", "pdf"]


def clean_upload(upload):
    """Scans and evidence: images or PDF, not larger than UPLOAD_MAX_BYTES."""
    if not upload:
        return upload
    FileExtensionValidator(EVIDENCE_EXTENSIONS)(upload)
    check_size(upload, _("The file is %(size)s MB; at most %(limit)s MB can be uploaded."))
    return upload


class DateInput(forms.DateInput):
    input_type = "date"


def _activity_label(activity) -> str:
    insurance = _("insurance required") if activity.requires_insurance else _("no insurance needed")
    return f"{activity.name}（{activity.get_category_display()}，{insurance}）"


class ApplicationForm(forms.ModelForm):
    choice_1 = forms.ModelChoiceField(queryset=Activity.objects.none(), required=False, label=_("First choice"))
    choice_2 = forms.ModelChoiceField(queryset=Activity.objects.none(), required=False, label=_("Second choice"))
    choice_3 = forms.ModelChoiceField(queryset=Activity.objects.none(), required=False, label=_("Third choice"))

    class Meta:
        model = Application
        fields = [
            *Application.SLOT_FIELDS,
            "pickup",
            "emergency_name",
            "emergency_mobile",
            "health_notes",
            "allergies",
            "insurer",
            "policy_number",
            "priority",
            "priority_evidence",
        ]
        widgets = {"health_notes": forms.Textarea(attrs={"rows": 2}), "pickup": forms.RadioSelect}

    def __init__(self, *args, school, **kwargs):
        super().__init__(*args, **kwargs)
        clubs = (
            Activity.objects.filter(school=school)
            .exclude(category__in=["homework", "care"])
            .order_by("category", "name")
        )
        for name in ("choice_1", "choice_2", "choice_3"):
            self.fields[name].queryset = clubs
            self.fields[name].label_from_instance = _activity_label
        if self.instance.pk:
            for choice in self.instance.choices.all():
                if choice.rank <= 3:
                    self.initial[f"choice_{choice.rank}"] = choice.activity_id

    def clean_priority_evidence(self):
        return clean_upload(self.cleaned_data.get("priority_evidence"))

    def clean(self):
        cleaned = super().clean()
        chosen = [cleaned.get(f"choice_{n}") for n in (1, 2, 3)]
        chosen = [c for c in chosen if c]
        if len({c.pk for c in chosen}) != len(chosen):
            raise forms.ValidationError(_("Choose each activity only once."))
        if cleaned.get("priority", 9) != 9 and not (
            cleaned.get("priority_evidence") or self.instance.priority_evidence
        ):
            self.add_error("priority_evidence", _("Upload evidence for the priority category."))
        cleaned["choices"] = chosen
        return cleaned


class AuthorisedPersonForm(forms.Form):
    name = forms.CharField(label=_("name"), max_length=50)
    relation = forms.CharField(label=_("relation"), max_length=20)
    mobile = forms.CharField(label=_("mobile"), max_length=11, validators=[mobile_validator])
    id_last4 = forms.CharField(label=_("ID card, last 4"), max_length=4, validators=[id_last4_validator])


AuthorisedPersonFormSet = forms.formset_factory(AuthorisedPersonForm, extra=2, max_num=4)


class SurveyForm(forms.Form):
    needs_service = forms.TypedChoiceField(
        label=_("Does your child need the after-school service this term?"),
        choices=[(True, _("yes")), (False, _("no"))],
        coerce=lambda value: value in (True, "True"),
        widget=forms.RadioSelect,
    )
    slot_early = forms.BooleanField(label=_("early arrival (早到托管)"), required=False)
    slot_midday = forms.BooleanField(label=_("midday care (午托)"), required=False)
    slot_after_school = forms.BooleanField(label=_("after school (课后)"), required=False)
    slot_evening = forms.BooleanField(label=_("evening study (晚自习)"), required=False)
    slot_saturday = forms.BooleanField(label=_("Saturday (周六)"), required=False)
    activities = ModelChoicesField(
        queryset=Activity.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=_("Activities of interest"),
    )

    def __init__(self, *args, school, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["activities"].queryset = Activity.objects.filter(school=school).order_by("category", "name")


class SignForm(forms.Form):
    typed_name = forms.CharField(label=_("Your full name"), max_length=50)
    consent = forms.BooleanField(label=_("I have read the agreement and agree to it."), required=False)
    shown_sha256 = forms.CharField(widget=forms.HiddenInput, max_length=64)


class LeaveForm(forms.Form):
    start = forms.DateField(label=_("from"), widget=DateInput)
    end = forms.DateField(label=_("to"), widget=DateInput)
    reason = forms.CharField(label=_("reason"), max_length=200)


class OneTimePickupForm(forms.Form):
    name = forms.CharField(label=_("name"), max_length=50)
    mobile = forms.CharField(label=_("mobile"), max_length=11, validators=[mobile_validator])
    day = forms.DateField(label=_("date"), widget=DateInput)


class WithdrawForm(forms.Form):
    effective = forms.DateField(label=_("Last day of service is the day before"), widget=DateInput)
    note = forms.CharField(label=_("reason (optional)"), max_length=200, required=False)


class ActivationForm(forms.Form):
    mobile = forms.CharField(label=_("mobile"), max_length=11, validators=[mobile_validator])
    code = forms.CharField(label=_("invitation code"), max_length=12)
    password1 = forms.CharField(label=_("new password"), widget=forms.PasswordInput, strip=False)
    password2 = forms.CharField(label=_("new password again"), widget=forms.PasswordInput, strip=False)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("password1") and cleaned.get("password1") != cleaned.get("password2"):
            self.add_error("password2", _("The two passwords differ."))
        return cleaned


class ReviewForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", _("approve")), ("reject", _("reject"))])
    note = forms.CharField(label=_("note (required to reject)"), max_length=200, required=False)
    applications = forms.MultipleChoiceField(required=False)
    leave = forms.MultipleChoiceField(required=False)

    def __init__(self, *args, application_ids=(), leave_ids=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["applications"].choices = [(str(pk), str(pk)) for pk in application_ids]
        self.fields["leave"].choices = [(str(pk), str(pk)) for pk in leave_ids]


class WaiverRequestForm(forms.Form):
    category = forms.ChoiceField(label=_("category"), choices=())
    evidence = forms.FileField(label=_("evidence (photo or PDF)"), required=False)

    def __init__(self, *args, **kwargs):
        from billing.models import Waiver

        super().__init__(*args, **kwargs)
        self.fields["category"].choices = Waiver.Category.choices

    def clean_evidence(self):
        return clean_upload(self.cleaned_data.get("evidence"))
