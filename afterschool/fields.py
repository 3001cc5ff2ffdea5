"""Form fields shared by the apps."""

from django import forms
from django.contrib.admin.widgets import AutocompleteSelect
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

BIGINT_MAX = 2**63 - 1


def _is_id(value) -> bool:
    text = str(value)
    return text.isdigit() and 0 < int(text) <= BIGINT_MAX


class ModelChoicesField(forms.ModelMultipleChoiceField):
    """A multiple choice of rows whose ids are checked to be ids before the database sees them:
    a 26-digit "id" is an invalid choice, not an integer overflow."""

    def _check_values(self, value):
        for pk in value:
            text = str(pk)
            if not text.isdigit() or not 0 < int(text) <= BIGINT_MAX:
                raise ValidationError(
                    self.error_messages["invalid_choice"], code="invalid_choice", params={"value": pk}
                )
        return super()._check_values(value)


class SafeModelChoiceField(forms.ModelChoiceField):
    """A row chosen by id, where anything that is not an id is an invalid choice (a 26-digit
    number would overflow the database's integer before Django's own check)."""

    def to_python(self, value):
        if value not in self.empty_values and not isinstance(value, self.queryset.model) and not _is_id(value):
            raise ValidationError(self.error_messages["invalid_choice"], code="invalid_choice")
        return super().to_python(value)


class SafeAutocompleteSelect(AutocompleteSelect):
    """The admin's search-as-you-type select, re-displaying a refused value without looking it up."""

    def optgroups(self, name, value, attr=None):
        return super().optgroups(name, [v for v in value if v in (None, "") or _is_id(v)], attr)


def check_year(value, *, field_label):
    """Dates from a browser's picker are this century; year 1 would overflow the time zone change."""
    if value is not None and not 2000 <= value.year <= 2100:
        raise ValidationError(_("%(field)s: enter a date between the years 2000 and 2100.") % {"field": field_label})
    return value
