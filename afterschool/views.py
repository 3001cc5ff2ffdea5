from pathlib import Path

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render

from enrollment.workspaces import workspaces_for


@login_required
def home(request):
    """Take each user to their workspace; someone with several roles chooses."""
    workspaces = workspaces_for(request.user)
    if len(workspaces) == 1:
        return redirect(workspaces[0].url)
    return render(request, "home.html", {"choices": workspaces})


def protected_media(request, path):
    """Uploaded files (evidence, scans) are children's data: only the admin-site roles download
    them, through here. The web server must not publish MEDIA_ROOT itself."""
    from django.contrib import admin

    if not admin.site.has_permission(request):
        raise Http404
    root = Path(settings.MEDIA_ROOT).resolve()
    target = (root / path).resolve()
    if root not in target.parents or not target.is_file():
        raise Http404
    return FileResponse(target.open("rb"), as_attachment=True, filename=target.name)
