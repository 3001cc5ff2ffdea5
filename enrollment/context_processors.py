from .workspaces import workspaces_for


def workspaces(request):
    user = getattr(request, "user", None)
    return {"workspaces": workspaces_for(user) if user is not None else []}
