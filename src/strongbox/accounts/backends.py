"""The sign-in backend: Django's ModelBackend, which also tells the sign-in form when the password was right
for an account that cannot sign in yet (not activated) or any more (deactivated).

Only someone who knows the password learns that, so it reveals nothing a wrong guess could find out: every other
failure gets the generic error, after the same single hash computation.

Django's ModelBackend stays listed after this one (settings.AUTHENTICATION_BACKENDS) for the sessions signed in
before this backend existed: a session names its backend, and one no longer listed is signed out. It never checks
a password, because this backend ends every failed check with PermissionDenied, which stops authenticate() there
(one hash per attempt, as before).
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

# Set on the request by authenticate() when the password matched an inactive account.
INACTIVE = "_strongbox_inactive_account"


class AccountBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        # ModelBackend.authenticate, except that an inactive account whose password matched is remembered.
        model = get_user_model()
        if username is None:
            username = kwargs.get(model.USERNAME_FIELD)
        if username is None or password is None:
            return None  # not a password sign-in: another backend's credentials
        try:
            user = model._default_manager.get_by_natural_key(username)
        except model.DoesNotExist:
            model().set_password(password)  # the same hashing work as for an account that exists
            raise PermissionDenied from None
        if not user.check_password(password):
            raise PermissionDenied
        if self.user_can_authenticate(user):
            return user
        if request is not None:
            setattr(request, INACTIVE, user)
        raise PermissionDenied

    def get_user(self, user_id):
        # Every signed-in request loads its user: one literal statement instead of the ORM's query building
        # (0.17 -> 0.06 ms of CPU, bench/budget.py). The same checks as ModelBackend's.
        model = get_user_model()
        table, key = model._meta.db_table, model._meta.pk.column
        found = list(model._default_manager.raw(f"SELECT * FROM {table} WHERE {key} = %s",  # noqa: S608  # nosec B608
                                                [user_id]))
        return found[0] if found and self.user_can_authenticate(found[0]) else None


def inactive_account(request: HttpRequest):
    """Return the inactive account whose password this request's sign-in gave rightly, or None."""
    return getattr(request, INACTIVE, None)
