from django import forms
from django.utils.translation import gettext_lazy as _

from afterschool.fields import ModelChoicesField, check_year
from enrollment.models import Student

from .models import ActivityRecord, GateVisit, Incident, PatrolRecord


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"


class IncidentForm(forms.ModelForm):
    students = ModelChoicesField(queryset=Student.objects.none(), label=_("students"))

    class Meta:
        model = Incident
        fields = [
            "kind",
            "severity",
            "occurred_at",
            "group",
            "students",
            "description",
            "actions",
            "guardians_notified_at",
        ]
        widgets = {
            "occurred_at": DateTimeInput,
            "guardians_notified_at": DateTimeInput,
            "description": forms.Textarea(attrs={"rows": 3}),
            "actions": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args, groups, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["group"].queryset = groups
        # Only children of the reporter's groups (a teacher reports about the children in their care).
        self.fields["students"].queryset = (
            Student.objects.filter(group_memberships__group__in=groups).distinct().order_by("student_no")
        )

    def clean_occurred_at(self):
        return check_year(self.cleaned_data["occurred_at"], field_label=self.fields["occurred_at"].label)

    def clean_guardians_notified_at(self):
        value = self.cleaned_data["guardians_notified_at"]
        return check_year(value, field_label=self.fields["guardians_notified_at"].label)


class PatrolForm(forms.ModelForm):
    class Meta:
        model = PatrolRecord
        fields = ["group", "observations"]
        widgets = {"observations": forms.Textarea(attrs={"rows": 3})}


class ActivityRecordForm(forms.ModelForm):
    class Meta:
        model = ActivityRecord
        fields = ["group", "activity", "text"]
        widgets = {"text": forms.Textarea(attrs={"rows": 3})}


class GateVisitForm(forms.ModelForm):
    class Meta:
        model = GateVisit
        fields = ["visitor", "id_last4", "purpose", "host"]
