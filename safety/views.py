"""Safety workspaces. Roll call, handover, the duty board and the gate register are
built by the Safety issue; until then each page says so plainly."""

from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from enrollment.permissions import role_required
from enrollment.roles import Role


def _pending(request, title, what):
    return render(request, "workspace_pending.html", {"title": title, "what": what})


@role_required(Role.SERVICE_TEACHER)
def teacher_today(request):
    return _pending(request, _("Today's sessions"), _("roll call, care notes and dismissal handover"))


@role_required(Role.DUTY_LEADER, Role.ADMIN)
def duty_board(request):
    return _pending(request, _("Duty board"), _("the live board of today's service, patrols and incidents"))


@role_required(Role.GATE_GUARD)
def gate(request):
    return _pending(request, _("Gate"), _("the visitor register and late pickups at the gate"))
