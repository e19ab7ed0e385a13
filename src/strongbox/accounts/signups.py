"""Sign-up writes: registering a sign-up and activating the account it made."""

from django.contrib.auth.hashers import make_password
from django.db import IntegrityError, transaction
from django.db.models import Q

from strongbox.accounts import tasks
from strongbox.accounts.models import User


def signup_register(*, username: str, email: str, password: str) -> None:
    """Register a sign-up without revealing whether the username or address is taken.

    Both outcomes hash the password and queue one mail: a confirmation link for a new account, or a notice
    for a taken one. The request that calls this answers the same either way.
    """
    hashed = make_password(password)
    taken = User.objects.filter(Q(username__iexact=username) | Q(email__iexact=email)).exists()
    if not taken:
        try:
            with transaction.atomic():
                user = User.objects.create(username=username, email=email, password=hashed, is_active=False)
                tasks.send_activation_mail(user.pk)
                return
        except IntegrityError:
            pass  # Lost a race with a concurrent sign-up: treat as taken.
    tasks.send_signup_conflict_mail(username, email)


def account_activate(*, user: User) -> None:
    """Mark a confirmed account active."""
    user.is_active = True
    user.save(update_fields=["is_active"])
