"""The admin site shows each staff user their own school only.

``staff_school_id(request)`` names the user's school: None for an IT superuser without a staff
record, who sees every school. A model admin names the path from its model to the school's id in
``school_path``; its list, object pages (another school's row "doesn't exist"), history, exports
and list filters follow it. The choices of its forms' foreign keys are the rows the related model's
own admin shows, so a select, an autocomplete and a raw-id lookup offer the same rows and a
forged id is an invalid choice.
"""

from django.contrib import admin
from django.contrib.admin.utils import get_fields_from_path, unquote
from django.contrib.admin.widgets import AutocompleteSelect
from django.db.models import Q
from django.http import Http404

from enrollment.permissions import staff_school_id

from .fields import ModelChoicesField, SafeAutocompleteSelect, SafeModelChoiceField

# Foreign keys to users that name a member of staff: their choices are the school's staff only
# (not the guardians with a log-in, whom the user admin also shows).
STAFF_USER_FIELDS = frozenset({"teacher", "leader", "admin_staff"})


def _spans_many(model, path: str) -> bool:
    for name in path.split("__"):
        field = model._meta.get_field(name)
        if field.one_to_many or field.many_to_many:
            return True
        if not field.is_relation:
            return False
        model = field.related_model
    return False


def school_condition(model, paths: str | tuple[str, ...], school_id: int) -> Q:
    """The rows of ``model`` at ``school_id`` by any of ``paths``. A path through a many-valued
    relation (a guardian's children) is a subquery, so a row is never repeated and the admin's
    counts (a guardian's children) are not cut to the joined rows."""
    condition = Q()
    for path in (paths,) if isinstance(paths, str) else paths:
        if _spans_many(model, path):
            condition |= Q(pk__in=model._base_manager.filter(**{path: school_id}).values("pk"))
        else:
            condition |= Q(**{path: school_id})
    return condition


def school_staff(school_id):
    """The user accounts of the school's staff (every user for the IT superuser)."""
    from enrollment.models import User

    users = User.objects.order_by("last_name", "first_name", "username")
    return users if school_id is None else users.filter(staff_profile__school_id=school_id)


def school_terms(request):
    from enrollment.models import Term

    school_id = staff_school_id(request)
    return Term.objects.filter(school_id=school_id) if school_id else Term.objects.all()


class SchoolScoped:
    """Lists, object pages, exports and form choices of the user's own school only.

    ``school_path`` is the lookup from the model to the school's id, or a tuple of lookups of
    which any may match (a notification is to a member of staff or to a guardian); None leaves
    the rows alone and scopes the form choices only (an inline inside a scoped object).
    """

    school_path: str | tuple[str, ...] | None = "term__school_id"

    def school_scope(self, queryset, request):
        school_id = staff_school_id(request)
        if school_id is None or self.school_path is None:
            return queryset
        return queryset.filter(school_condition(queryset.model, self.school_path, school_id))

    def get_queryset(self, request):
        return self.school_scope(super().get_queryset(request), request)

    def get_export_queryset(self, request):
        return self.get_queryset(request)

    def get_list_filter(self, request):
        """A filter on a related row lists the rows of the user's school only, not every school's
        terms, grades or classes."""
        filters = super().get_list_filter(request)
        if staff_school_id(request) is None:
            return filters
        return [
            (item, admin.RelatedOnlyFieldListFilter)
            if isinstance(item, str) and get_fields_from_path(self.model, item)[-1].is_relation
            else item
            for item in filters
        ]

    def school_choices(self, db_field, request):
        """The rows a foreign key or many-to-many field may choose, or None for no limit."""
        school_id = staff_school_id(request)
        if school_id is None:
            return None
        model = db_field.remote_field.model
        from enrollment.models import User

        if model is User and db_field.name in STAFF_USER_FIELDS:
            return school_staff(school_id)
        try:
            related_admin = self.admin_site.get_model_admin(model)
        except admin.sites.NotRegistered:
            return None  # not the school's (holiday notices, roles)
        if not isinstance(related_admin, SchoolScoped):
            return None
        queryset = self.get_field_queryset(None, db_field, request)
        if queryset is None:
            queryset = model._default_manager.all()
        return related_admin.school_scope(queryset, request)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        kwargs.setdefault("form_class", SafeModelChoiceField)
        if "queryset" not in kwargs:
            queryset = self.school_choices(db_field, request)
            if queryset is not None:
                kwargs["queryset"] = queryset
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if isinstance(getattr(field, "widget", None), AutocompleteSelect):
            field.widget.__class__ = SafeAutocompleteSelect
        return field

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        kwargs.setdefault("form_class", ModelChoicesField)
        if "queryset" not in kwargs:
            queryset = self.school_choices(db_field, request)
            if queryset is not None:
                kwargs["queryset"] = queryset
        return super().formfield_for_manytomany(db_field, request, **kwargs)


class SchoolOwned(SchoolScoped):
    """A model with a ``school`` of its own: a new row is the user's school's."""

    school_path = "school_id"

    def get_changeform_initial_data(self, request):
        return {"school": staff_school_id(request), **super().get_changeform_initial_data(request)}


class SchoolScopedHistory(SchoolScoped):
    """For a SimpleHistoryAdmin: its history pages look the object up in the school first (they
    would fall back to the history rows of an object the list does not show)."""

    def _in_school_or_404(self, request, object_id):
        if staff_school_id(request) is not None and self.get_object(request, unquote(object_id)) is None:
            raise Http404

    def history_view(self, request, object_id, extra_context=None):
        self._in_school_or_404(request, object_id)
        return super().history_view(request, object_id, extra_context)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        self._in_school_or_404(request, object_id)
        return super().history_form_view(request, object_id, version_id, extra_context)


class MaskedContacts:
    """Personal data in full for the roles that contact families only (``sees_contacts``: the school
    admin and the IT superuser). Finance, who works with names and amounts, sees ``masked`` fields
    through their mask (138****5678, ***X) in lists, forms and inlines.

    ``masked`` maps a field name to the function that masks its value.
    """

    masked: dict = {}

    def _masked_for(self, request) -> dict:
        from enrollment.permissions import sees_contacts

        return {} if sees_contacts(request.user) else self.masked

    def _masked_column(self, name):
        columns = self.__dict__.setdefault("_masked_columns", {})
        if name not in columns:
            mask, field = self.masked[name], self.model._meta.get_field(name)

            @admin.display(description=field.verbose_name)
            def column(obj):
                return mask(getattr(obj, name))

            column.__name__ = f"masked_{name}"
            columns[name] = column
        return columns[name]

    def _swap(self, names, masks, seen=None):
        """``names`` with each masked field swapped for its masked column, each column once."""
        seen = set() if seen is None else seen
        swapped = []
        for name in names:
            if isinstance(name, (list, tuple)):  # fields shown on one line
                swapped.append(tuple(self._swap(name, masks, seen)))
                continue
            if isinstance(name, str) and name in masks:
                name = self._masked_column(name)
            if callable(name):
                if name in seen:
                    continue
                seen.add(name)
            swapped.append(name)
        return swapped

    def get_list_display(self, request):
        return self._swap(super().get_list_display(request), self._masked_for(request))

    def get_fieldsets(self, request, obj=None):
        masks = self._masked_for(request)
        if not masks:
            return super().get_fieldsets(request, obj)
        seen = set()
        return [
            (title, {**options, "fields": self._swap(options["fields"], masks, seen)})
            for title, options in super().get_fieldsets(request, obj)
        ]

    def get_readonly_fields(self, request, obj=None):
        masks = self._masked_for(request)
        readonly = [n for n in super().get_readonly_fields(request, obj) if n not in masks]
        return [*readonly, *(self._masked_column(n) for n in masks)]
