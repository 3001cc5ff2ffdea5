from functools import update_wrapper

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext_lazy as _

from enrollment.roles import ADMIN_SITE_ROLES, has_role


class AfterschoolAdminSite(admin.AdminSite):
    site_header = _("After-school service administration")
    site_title = _("After-school service")
    index_title = _("Administration")

    def admin_view(self, view, cacheable=False):
        """A logged-in user without admin access gets 403, not the admin's log-in page again."""
        inner = super().admin_view(view, cacheable)

        def guarded(request, *args, **kwargs):
            if request.user.is_authenticated and not self.has_permission(request):
                raise PermissionDenied
            return inner(request, *args, **kwargs)

        return update_wrapper(guarded, inner)

    def has_permission(self, request):
        """Only the admin and finance roles work here (or a superuser set up by IT)."""
        user = request.user
        return bool(user.is_active and user.is_staff and (user.is_superuser or has_role(user, *ADMIN_SITE_ROLES)))
