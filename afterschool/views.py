from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render

from enrollment.workspaces import workspaces_for


@login_required
def home(request):
    """Take each user to their workspace; someone with several roles chooses."""
    workspaces = workspaces_for(request.user)
    if len(workspaces) == 1:
        return redirect(workspaces[0].url)
    return render(request, "home.html", {"choices": workspaces})
