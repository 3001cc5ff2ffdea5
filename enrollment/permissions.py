from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied

from .roles import Role, has_role
from .selectors import staff_profile_for


def role_required(*roles: str):
    """View decorator: anonymous users go to the log-in page; users without one of
    ``roles`` get 403. Object-level scoping is the selector's job, not this one's."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not has_role(request.user, *roles):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def staff_school_id(request):
    """The school of the finance or admin user in the admin site; None for an IT superuser
    without a staff record (who sees every school). Anyone else: 403. Read once per request:
    every list, form field and filter of the admin site asks."""

    if not hasattr(request, "_staff_profile"):
        request._staff_profile = staff_profile_for(user=request.user)
    profile = request._staff_profile
    if profile is None and not request.user.is_superuser:
        raise PermissionDenied
    return profile.school_id if profile else None


def sees_contacts(user) -> bool:
    """Mobile numbers, ID fragments and health notes in full in the admin site: the school admin
    (who manages families' accounts and calls them) and the IT superuser. Finance sees them masked."""
    return user.is_superuser or has_role(user, Role.ADMIN)
