"""Account mails, sent as durable jobs so a request's timing never depends on them; audit log and sign-up
upkeep."""

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from strongbox.accounts import partitions, signups
from strongbox.accounts.models import EmailChange, User
from strongbox.accounts.selectors import email_change_timeout
from strongbox.accounts.tokens import activation_token, email_change_token, pending_signups, reset_tokens
from strongbox.ops.jobs import job
from strongbox.ops.periodic import once_per_interval

log = logging.getLogger(__name__)


def _mail_abandoned(*, error: str, **args) -> None:
    # The person can ask again (sign up, reset, change the address): the page told them a mail is on its way.
    log.error("an account mail was given up after its last attempt (%s): %s", args, error)


MAIL_RETRY = {"max_attempts": 5, "retry_delay": 30, "give_up": _mail_abandoned}


def _send(template: str, to: str, **context) -> None:
    context["site_url"] = settings.SITE_URL
    subject, _, body = render_to_string(template, context).partition("\n")
    send_mail(subject.strip(), body.lstrip(), None, [to])


@job(**MAIL_RETRY)
def send_activation_mail(user_id: int, replaces: bool = False) -> None:
    user = pending_signups().filter(pk=user_id).first()
    if user is None:  # activated, replaced or expired meanwhile
        return
    link = settings.SITE_URL + reverse("accounts:activate", args=[activation_token(user)])
    _send("accounts/mail/activate.txt", user.email, user=user, link=link, replaces=replaces,
          window=_duration(settings.ACCOUNT_ACTIVATION_TIMEOUT))


def _duration(seconds: int) -> str:
    count, unit = (seconds // 86400, "day") if seconds >= 2 * 86400 else (max(1, seconds // 3600), "hour")
    return f"{count} {unit}{'s' if count != 1 else ''}"


@job(**MAIL_RETRY)
def send_signup_conflict_mail(username: str, email: str) -> None:
    _send("accounts/mail/signup_conflict.txt", email, username=username,
          reset_link=settings.SITE_URL + reverse("accounts:password_reset"))


@job(**MAIL_RETRY)
def send_password_reset_mail(email: str) -> None:
    for user in User.objects.filter(email__iexact=email, is_active=True):
        if not user.has_usable_password():
            continue
        uid = urlsafe_base64_encode(force_bytes(user.pk))
        path = reverse("accounts:password_reset_confirm", args=[uid, reset_tokens.make_token(user)])
        _send("accounts/mail/password_reset.txt", user.email, user=user, link=settings.SITE_URL + path,
              minutes=settings.PASSWORD_RESET_TIMEOUT // 60)


@job(**MAIL_RETRY)
def send_email_change_mail(change_id: int) -> None:
    change = EmailChange.objects.select_related("user").filter(pk=change_id, used_at__isnull=True).first()
    if change is None:
        return
    if User.objects.filter(email__iexact=change.new_email).exclude(pk=change.user_id).exists():
        # The requester learns nothing; the address's owner learns someone tried, but not who.
        _send("accounts/mail/email_change_taken.txt", change.new_email)
        return
    link = settings.SITE_URL + reverse("accounts:email_change_confirm", args=[email_change_token(change)])
    hours = max(1, email_change_timeout() // 3600)
    _send("accounts/mail/email_change.txt", change.new_email, user=change.user, link=link, hours=hours)


def _masked(email: str) -> str:
    local, _, domain = email.partition("@")
    return f"{local[:1]}…@{domain}"


@job(**MAIL_RETRY)
def send_email_changed_notice(user_id: int, old_email: str) -> None:
    user = User.objects.filter(pk=user_id).first()
    if user is None:
        return
    # Only a hint of the new address: the old mailbox may no longer be the account owner's.
    _send("accounts/mail/email_changed.txt", old_email, user=user, new_email=_masked(user.email))


@db_periodic_task(crontab(hour="*/6", minute="7"))
@once_per_interval(6 * 3600)
def create_audit_partitions() -> None:
    """Keep the coming months' audit log partitions ready (PostgreSQL; nothing to do on SQLite)."""
    partitions.partitions_ensure(months=3)


@db_periodic_task(crontab(minute="37"))
@once_per_interval(3600)
def remove_expired_signups() -> None:
    """Remove the sign-ups nobody activated within the activation window (their names and addresses were already
    free to sign up with again; this takes the rows away)."""
    signups.signups_expired_delete()
