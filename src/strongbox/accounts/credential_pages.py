"""Pages that change or end credentials: password change, password reset, signing out everywhere.

What each one ends (docs/security.md says the same):
- a password reset (account recovery): every session, every API key, pending two-factor sign-ins, other reset links;
- a password change: the other sessions, pending two-factor sign-ins, reset links, and the API keys unless the
  user unticks the box;
- signing out everywhere: every session (this one too), pending two-factor sign-ins, and the API keys unless the
  user unticks the box.
"""

from django import forms
from django.contrib import messages
from django.contrib.auth import forms as auth_forms
from django.contrib.auth import logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.views.decorators.http import require_http_methods, require_POST

from strongbox.accounts import audit, services, throttle
from strongbox.accounts.forms import PasswordResetRequestForm
from strongbox.accounts.models import AuditEvent
from strongbox.accounts.tokens import reset_tokens
from strongbox.accounts.views import InvalidFormIs400, _busy


def _revoke_keys_field() -> forms.BooleanField:
    # Ticked unless the user unticks it: whoever changes a password or signs out everywhere because the account may
    # be in other hands wants the scripts' keys gone too, and may not think of them.
    return forms.BooleanField(required=False, initial=True, label="Also revoke all my API keys",
                              help_text="Scripts using them are refused from now on; create new keys for the ones "
                                        "you still run. Untick to keep them working.")


class PasswordChangeForm(auth_forms.PasswordChangeForm):
    revoke_api_keys = _revoke_keys_field()


class SessionsEndForm(forms.Form):
    revoke_api_keys = _revoke_keys_field()


def _keys_revoked(count: int) -> str:
    return f" {count} API key{'s were' if count != 1 else ' was'} revoked." if count else ""


class PasswordChangeView(InvalidFormIs400, auth_views.PasswordChangeView):
    """Django's password change, with the old password checked under the same limit as re-authentication."""

    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("accounts:settings")
    form_class = PasswordChangeForm

    def post(self, request, *args, **kwargs):
        # The old password is a password check like any other: it counts against the account's sign-in limit, so
        # a session left open cannot be used to guess it (and the right one, once locked, waits like the rest).
        username = request.user.get_username()
        with throttle.check_slot() as free:
            if not free:
                return _busy(request, self.template_name, self.get_context_data(form=self.form_class(request.user)))
            wait = throttle.login_reserve(request, username)
            if wait:
                audit.record(AuditEvent.Kind.LOGIN_LOCKED, request, detail="password change")
                lockout = f"Too many failed attempts. Try again in {throttle.minutes(wait)}."
                context = self.get_context_data(form=self.form_class(request.user), lockout=lockout)
                return self.render_to_response(context, status=429)
            return super().post(request, *args, **kwargs)

    def form_invalid(self, form):
        if "old_password" in form.errors:
            audit.record(AuditEvent.Kind.LOGIN_FAILED, self.request, detail="wrong old password on password change")
        else:  # the old password was right; only the new one was refused
            throttle.login_release(self.request, self.request.user.get_username())
        return super().form_invalid(form)

    def form_valid(self, form):
        throttle.login_release(self.request, self.request.user.get_username())
        response = super().form_valid(form)
        audit.record(AuditEvent.Kind.PASSWORD_CHANGED, self.request)
        revoked = 0
        if form.cleaned_data["revoke_api_keys"]:
            revoked = services.api_keys_revoke_all(user=form.user, actor=form.user, reason="password change")
        messages.success(self.request, "Your password was changed. Your other sessions have been signed out."
                                       + _keys_revoked(revoked))
        return response


class PasswordResetConfirmView(InvalidFormIs400, auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password_reset_complete")
    token_generator = reset_tokens

    def form_valid(self, form):
        response = super().form_valid(form)
        audit.record(AuditEvent.Kind.PASSWORD_RESET, self.request, user=form.user)
        # Account recovery: whoever had the account before the mailbox owner took it back may have made keys.
        services.api_keys_revoke_all(user=form.user, actor=form.user, reason="password reset")
        return response


@require_http_methods(["GET", "POST"])
def password_reset(request):
    form = PasswordResetRequestForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            wait = throttle.reset_refused(request, form.cleaned_data["email"])
            if wait:
                form.add_error(None, f"Too many reset requests. Try again in {throttle.minutes(wait)}.")
                return render(request, "accounts/password_reset.html", {"form": form}, status=429)
            services.password_reset_request(email=form.cleaned_data["email"])
            return redirect("accounts:password_reset_done")
        return render(request, "accounts/password_reset.html", {"form": form}, status=400)
    return render(request, "accounts/password_reset.html", {"form": form})


@require_POST
@login_required
def sessions_end_all(request):
    form = SessionsEndForm(request.POST)
    form.is_valid()  # a checkbox: always valid, absent means unticked
    user = request.user
    services.sessions_end_all(user=user)
    audit.record(AuditEvent.Kind.SESSIONS_ENDED, request)
    revoked = 0
    if form.cleaned_data["revoke_api_keys"]:
        revoked = services.api_keys_revoke_all(user=user, actor=user, reason="signed out everywhere")
    logout(request)
    messages.success(request, "You have been signed out on every device." + _keys_revoked(revoked))
    return redirect("accounts:login")
