from django import forms
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _
from import_export.forms import ConfirmImportForm, ImportForm

from .models import School


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
        if upload.size > settings.UPLOAD_MAX_BYTES:
            raise forms.ValidationError(
                _("The file is %(size)s MB; at most %(limit)s MB can be imported.")
                % {"size": round(upload.size / 1048576, 1), "limit": round(settings.UPLOAD_MAX_BYTES / 1048576, 1)}
            )
        return upload

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        only = list(School.objects.all()[:2])
        if len(only) == 1:
            self.fields["school"].initial = only[0].pk


class RosterConfirmImportForm(ConfirmImportForm):
    school = forms.ModelChoiceField(queryset=School.objects.all(), widget=forms.HiddenInput)
