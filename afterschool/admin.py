from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from enrollment.roles import ADMIN_SITE_ROLES, has_role


class AfterschoolAdminSite(admin.AdminSite):
    site_header = _("After-school service administration")
    site_title = _("After-school service")
    index_title = _("Administration")

    def has_permission(self, request):
        """Only the admin and finance roles work here (or a superuser set up by IT)."""
        user = request.user
        return bool(user.is_active and user.is_staff and (user.is_superuser or has_role(user, *ADMIN_SITE_ROLES)))
