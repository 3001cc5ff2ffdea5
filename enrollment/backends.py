from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.db.models import Q

from .models import MOBILE_RE


class UsernameOrMobileBackend(ModelBackend):
    """Log in with the user name, or with the mobile number on the guardian or staff record.

    A teacher may also be a guardian at the school with the same number and two
    accounts; then the password decides which account logs in.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None:
            username = kwargs.get(get_user_model().USERNAME_FIELD)
        if not username or password is None:
            return None
        username = username.strip()
        query = Q(username=username)
        if MOBILE_RE.match(username):
            query |= Q(guardian__mobile=username) | Q(staff_profile__mobile=username)
        candidates = list(get_user_model()._default_manager.filter(query).distinct().order_by("pk"))
        if not candidates:
            # Spend the same time as a real check, so timing does not reveal who exists.
            get_user_model()().set_password(password)
            return None
        for user in candidates:
            if user.check_password(password) and self.user_can_authenticate(user):
                return user
        return None
