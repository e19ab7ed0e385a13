import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from strongbox.accounts import audit, pending, reauth, selectors, services, throttle, two_factor
from strongbox.accounts.forms import EmailChangeForm, LoginForm, ReauthForm, TwoFactorCodeForm
from strongbox.accounts.models import AuditEvent
from strongbox.lib.ratelimit import hit

# A signed-in account may ask for this many e-mail changes an hour: each one mails an address of its choosing.
EMAIL_CHANGES_PER_HOUR = 5
# Seconds a client is told to wait when every password-check slot is taken: a check takes about one second.
BUSY_RETRY_AFTER = 5


class InvalidFormIs400:
    """Answer a form that fails validation with 400 instead of Django's 200."""

    def form_invalid(self, form):
        response = super().form_invalid(form)
        response.status_code = 400
        return response


class LoginView(InvalidFormIs400, auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True

    def post(self, request, *args, **kwargs):
        with throttle.check_slot() as free:
            if not free:
                return _busy(request, "accounts/login.html", self.get_context_data(form=self._blank_form()))
            started = time.monotonic()
            wait = throttle.login_reserve(request, self._username())
            if wait:
                audit.record(AuditEvent.Kind.LOGIN_LOCKED, request, username=self._username())
                context = self.get_context_data(form=self._blank_form(), lockout=_lockout(wait))
                return self.render_to_response(context, status=429)
            response = super().post(request, *args, **kwargs)
            if response.status_code == 400:
                # Every failed sign-in takes at least this long. An unknown name costs one Argon2 run, but an
                # account still on a legacy hash (PBKDF2) costs more to check: the floor hides that difference.
                # It holds one of the few check slots, never more: see throttle.check_slot.
                time.sleep(max(0.0, settings.LOGIN_FAILURE_MIN_SECONDS - (time.monotonic() - started)))
            return response

    def _username(self) -> str:
        return self.request.POST.get("username", "")

    def _blank_form(self):
        return self.get_form_class()(self.request, initial={"username": self._username()})

    def form_valid(self, form):
        throttle.login_release(self.request, self._username())
        user = form.get_user()
        if selectors.two_factor_enabled(user):
            # The password is right but is not enough: no login() until the code page has the second factor.
            pending.start(self.request, user, self.get_success_url())
            return redirect("accounts:login_verify")
        response = super().form_valid(form)
        reauth.mark(self.request)
        return response

    def form_invalid(self, form):
        if getattr(form, "password_was_right", False):
            # Not a guess: the account is not active. The attempt is given back.
            throttle.login_release(self.request, self._username())
        return super().form_invalid(form)


def _lockout(wait: int) -> str:
    return f"Too many failed sign-in attempts. Try again in {throttle.minutes(wait)}."


def _busy(request, template: str, context: dict):
    """Answer a password check that found every check slot of this process taken."""
    response = render(request, template, {**context, "lockout": "Too many sign-ins are being checked right now. "
                                                                "Try again in a few seconds."}, status=503)
    response["Retry-After"] = str(BUSY_RETRY_AFTER)
    return response


@sensitive_post_parameters("code")
@never_cache
@require_http_methods(["GET", "POST"])
def login_verify(request):
    """The second step of signing in with two-factor sign-in on: a code from the app, or a recovery code."""
    state = pending.get(request)
    if state is None:
        pending.clear(request)
        if request.method == "POST":
            messages.error(request, "Signing in took too long. Enter your password again.")
        return redirect("accounts:login")
    user, backend, next_url = state
    form = TwoFactorCodeForm(request.POST if request.method == "POST" else None)
    context = {"form": form}
    if request.method == "GET":
        return render(request, "accounts/login_verify.html", context)
    with throttle.check_slot() as free:
        if not free:
            return _busy(request, "accounts/login_verify.html", context)
        method = _verify_code(request, user, form)
    if isinstance(method, HttpResponse):
        return method
    pending.clear(request)
    login(request, user, backend=backend)
    reauth.mark(request)
    if method == "recovery":
        audit.record(AuditEvent.Kind.RECOVERY_CODE_USED, request)
        left = selectors.recovery_codes_left(user)
        messages.warning(request, f"You signed in with a recovery code; {left} left. Make new ones if you run low.")
    return redirect(reauth.safe_next(request, next_url, resolve_url(settings.LOGIN_REDIRECT_URL)))


def _verify_code(request, user, form) -> str | HttpResponse:
    """Check the second factor; return how it was given ("totp" or "recovery"), or the page refusing it."""
    # Wrong codes count against the same name as wrong passwords, so the code cannot be guessed either.
    username = user.get_username()
    context = {"form": form}
    wait = throttle.login_reserve(request, username)
    if wait:
        audit.record(AuditEvent.Kind.LOGIN_LOCKED, request, user=user)
        return render(request, "accounts/login_verify.html", {**context, "lockout": _lockout(wait)}, status=429)
    method = two_factor.two_factor_verify(user=user, code=form.cleaned_data["code"]) if form.is_valid() else None
    if method is None:
        audit.record(AuditEvent.Kind.LOGIN_FAILED, request, user=user, detail="wrong two-factor code")
        if form.is_valid():
            form.add_error("code", "That code is not right, or it has been used already.")
        return render(request, "accounts/login_verify.html", context, status=400)
    throttle.login_release(request, username)
    return method


@sensitive_post_parameters("password")
@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def reauth_view(request):
    """Ask for the password again before a sensitive change, then go back to `next`."""
    next_url = reauth.safe_next(request, request.POST.get("next") or request.GET.get("next"),
                                resolve_url("accounts:settings"))
    form = ReauthForm(request, request.POST if request.method == "POST" else None)
    context = {"form": form, "next": next_url}
    if request.method == "GET":
        return render(request, "accounts/reauth.html", context)
    username = request.user.get_username()
    with throttle.check_slot() as free:
        if not free:
            return _busy(request, "accounts/reauth.html", context)
        wait = throttle.login_reserve(request, username)
        if wait:
            audit.record(AuditEvent.Kind.LOGIN_LOCKED, request)
            return render(request, "accounts/reauth.html", {**context, "lockout": _lockout(wait)}, status=429)
        if not form.is_valid():
            return render(request, "accounts/reauth.html", context, status=400)
        throttle.login_release(request, username)
    # A step up in what this session may do: give it a new key, as a sign-in would.
    request.session.cycle_key()
    reauth.mark(request)
    return redirect(next_url)


@login_required
def account_settings(request):
    return render(request, "accounts/settings.html", {"two_factor_on": selectors.two_factor_enabled(request.user)})


@login_required
@reauth.reauth_required()
@require_http_methods(["GET", "POST"])
def email_change(request):
    form = EmailChangeForm(request.user, request.POST if request.method == "POST" else None)
    if request.method == "GET":
        return render(request, "accounts/email_change.html", {"form": form})
    if not form.is_valid():
        return render(request, "accounts/email_change.html", {"form": form}, status=400)
    if hit(f"email-change:user:{request.user.pk}", EMAIL_CHANGES_PER_HOUR, 3600):
        form.add_error(None, "Too many e-mail changes asked for. Try again in an hour.")
        return render(request, "accounts/email_change.html", {"form": form}, status=429)
    services.email_change_request(user=request.user, new_email=form.cleaned_data["email"])
    audit.record(AuditEvent.Kind.EMAIL_CHANGE_ASKED, request, detail=form.cleaned_data["email"])
    return redirect("accounts:email_change_sent")


@login_required
def email_change_sent(request):
    return render(request, "accounts/email_change_sent.html")


@login_required
@require_http_methods(["GET", "POST"])
def email_change_confirm(request, token: str):
    # The link only shows a button, like sign-up links: mail scanners that follow links must change nothing.
    # Someone else's link looks like a missing one: the change belongs to the account it was asked for.
    change = selectors.email_change_for_token(user=request.user, token=token)
    if change is None:
        return render(request, "accounts/email_change_invalid.html", status=400)
    if request.method == "GET":
        return render(request, "accounts/email_change_confirm.html", {"change": change})
    old_email = request.user.email
    if not services.email_change_confirm(change=change):
        return render(request, "accounts/email_change_invalid.html", status=400)
    audit.record(AuditEvent.Kind.EMAIL_CHANGED, request, detail=f"{old_email} → {change.new_email}")
    messages.success(request, f"Your e-mail address is now {change.new_email}.")
    return redirect("accounts:settings")


@login_required
def activity(request):
    """The signed-in user's own security events."""
    events = AuditEvent.objects.filter(user_id=request.user.pk)[:100]
    return render(request, "accounts/activity.html", {"events": events})
