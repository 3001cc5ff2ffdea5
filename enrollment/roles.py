"""The product's roles. Each is a Django group, created by migration 0002_roles.

The group name is the Chinese role name the school uses; the label is translatable.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    ADMIN = "管理员", _("School admin")
    HOMEROOM_TEACHER = "班主任", _("Homeroom teacher")
    SERVICE_TEACHER = "服务教师", _("Service teacher")
    DUTY_LEADER = "值班领导", _("Duty leader")
    FINANCE = "财务", _("Finance staff")
    GATE_GUARD = "门卫", _("Gate guard")
    GUARDIAN = "家长", _("Guardian")


# Roles that work in the admin site. Anyone else is turned away there, even if an
# account was given is_staff by mistake.
ADMIN_SITE_ROLES = frozenset({Role.ADMIN, Role.FINANCE})


def user_roles(user) -> frozenset[str]:
    """The role names of ``user``, read once per request and cached on the user object."""
    if not user.is_authenticated:
        return frozenset()
    cached = getattr(user, "_role_names", None)
    if cached is None:
        cached = frozenset(user.groups.values_list("name", flat=True))
        user._role_names = cached
    return cached


def has_role(user, *roles: str) -> bool:
    return bool(user_roles(user) & set(roles))
