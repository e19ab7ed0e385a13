"""The sign-in backend: Django's ModelBackend, which also tells the sign-in form when the password was right
for an account that cannot sign in yet (not activated) or any more (deactivated).

Only someone who knows the password learns that, so it reveals nothing a wrong guess could find out: every other
failure gets the generic error, after the same single hash computation.

Django's ModelBackend stays listed after this one (settings.AUTHENTICATION_BACKENDS) for the sessions signed in
before this backend existed: a session names its backend, and one no longer listed is signed out. It never checks
a password, because this backend ends every failed check with PermissionDenied, which stops authenticate() there
(one hash per attempt, as before).
"""

import functools

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied
from django.db import router
from django.http import HttpRequest

from strongbox.lib.prepared import Prepared

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
        # Every signed-in request loads its user: one statement compiled once instead of the ORM's query building
        # (bench/budget.py). The same checks as ModelBackend's.
        query, fields = _user_by_id()
        found = query(user_id)
        if not found:
            return None
        model = get_user_model()
        user = model.from_db(router.db_for_read(model), fields, found[0])
        return user if self.user_can_authenticate(user) else None


@functools.cache
def _user_by_id() -> tuple[Prepared, list[str]]:
    model = get_user_model()
    fields = [field.attname for field in model._meta.concrete_fields]
    return Prepared(lambda pk: model._default_manager.filter(pk=pk).values_list(*fields), -1), fields


def inactive_account(request: HttpRequest):
    """Return the inactive account whose password this request's sign-in gave rightly, or None."""
    return getattr(request, INACTIVE, None)
