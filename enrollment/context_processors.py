from django.urls import reverse
from django.utils.functional import SimpleLazyObject

from .notify import notification_unread_count
from .roles import Role, user_roles
from .workspaces import workspaces_for


def workspaces(request):
    user = getattr(request, "user", None)
    return {"workspaces": workspaces_for(user) if user is not None else [], **_inbox(user)}


def _inbox(user) -> dict:
    """The navigation's link to the user's inbox, with the unread count (counted only when a
    page shows it: one query)."""
    if user is None or not user.is_authenticated:
        return {"inbox_url": None, "inbox_unread": 0}
    roles = user_roles(user)
    if not roles:
        return {"inbox_url": None, "inbox_unread": 0}

    # Guardians read their messages in the portal; anyone with a staff role in the staff inbox.
    url = reverse("enrollment:portal_inbox" if roles == {Role.GUARDIAN} else "enrollment:inbox")
    return {"inbox_url": url, "inbox_unread": SimpleLazyObject(lambda: notification_unread_count(user=user))}
