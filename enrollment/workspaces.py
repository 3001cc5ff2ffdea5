"""Where each role works. The home page and the navigation bar are built from this list."""

from dataclasses import dataclass

from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from .roles import Role, user_roles


@dataclass(frozen=True)
class Workspace:
    role: str
    title: Promise
    description: Promise
    url_name: str

    @property
    def url(self) -> str:
        return reverse(self.url_name)


WORKSPACES = [
    Workspace(Role.ADMIN, _("Administration"), _("Terms, classes, students, staff and the roster."), "admin:index"),
    Workspace(Role.FINANCE, _("Finance"), _("Fees, payments and exports, in the admin site."), "admin:index"),
    Workspace(
        Role.HOMEROOM_TEACHER, _("My class"), _("Your homeroom class and its guardians."), "enrollment:class_list"
    ),
    Workspace(
        Role.SERVICE_TEACHER, _("Today's sessions"), _("Roll call and dismissal on your phone."), "safety:teacher_today"
    ),
    Workspace(Role.DUTY_LEADER, _("Duty board"), _("Today's service at a glance."), "safety:duty_board"),
    Workspace(Role.GATE_GUARD, _("Gate"), _("Visitors and late pickups at the gate."), "safety:gate"),
    Workspace(Role.GUARDIAN, _("My children"), _("Your children's after-school service."), "enrollment:portal"),
]


def workspaces_for(user) -> list[Workspace]:
    """The workspaces ``user`` may open, one per address (admin and finance share the admin site)."""
    if not user.is_authenticated:
        return []
    roles = user_roles(user)
    result, seen = [], set()
    for workspace in WORKSPACES:
        allowed = workspace.role in roles or (user.is_superuser and workspace.role == Role.ADMIN)
        if allowed and workspace.url_name not in seen:
            seen.add(workspace.url_name)
            result.append(workspace)
    return result
