from django import forms
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

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        only = list(School.objects.all()[:2])
        if len(only) == 1:
            self.fields["school"].initial = only[0].pk


class RosterConfirmImportForm(ConfirmImportForm):
    school = forms.ModelChoiceField(queryset=School.objects.all(), widget=forms.HiddenInput)
