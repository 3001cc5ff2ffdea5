from django.shortcuts import get_object_or_404, render

from . import selectors
from .permissions import role_required
from .roles import Role


@role_required(Role.GUARDIAN)
def portal(request):
    children = selectors.student_list_for_guardian(user=request.user)
    return render(request, "enrollment/portal.html", {"children": children})


@role_required(Role.GUARDIAN)
def portal_child(request, pk):
    child = get_object_or_404(selectors.student_list_for_guardian(user=request.user), pk=pk)
    return render(request, "enrollment/portal_child.html", {"child": child})


@role_required(Role.HOMEROOM_TEACHER)
def class_list(request):
    homerooms = list(selectors.homeroom_list_for_teacher(user=request.user))
    if len(homerooms) == 1:
        return class_detail(request, homerooms[0].pk)
    return render(request, "enrollment/class_list.html", {"homerooms": homerooms})


@role_required(Role.HOMEROOM_TEACHER)
def class_detail(request, pk):
    homeroom = get_object_or_404(selectors.homeroom_list_for_teacher(user=request.user), pk=pk)
    students = selectors.student_list_for_homeroom(homeroom=homeroom)
    return render(request, "enrollment/class_detail.html", {"homeroom": homeroom, "students": students})
