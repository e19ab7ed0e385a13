"""The two-factor settings page: set up an authenticator app, confirm it, make new recovery codes, turn it off.

Every page and action asks for a recent password (see reauth.py). Turning it on or off ends the user's other
sessions; this one stays signed in through update_session_auth_hash.
"""

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from strongbox.accounts import audit, selectors, two_factor
from strongbox.accounts.forms import TwoFactorCodeForm
from strongbox.accounts.models import AuditEvent
from strongbox.accounts.reauth import reauth_required

NEW_CODES_SESSION = "strongbox.new_recovery_codes"


def _grouped(secret: str) -> str:
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


def _page(request, form=None, status=200):
    device = selectors.two_factor_device_for_user(request.user)
    # "secret" starts empty and is filled only while a device awaits confirmation.
    context = {"device": device, "form": form or TwoFactorCodeForm(), "qr": "", "secret": "", "codes_left": 0,  # nosec B105
               "new_codes": request.session.pop(NEW_CODES_SESSION, None)}
    if device is not None and not device.confirmed:
        # An SVG data: URI: the CSP allows data: images, and the secret never leaves this response.
        import segno  # only for the page that shows a QR code: not held by every worker

        uri = two_factor.provisioning_uri(device)
        context.update(qr=segno.make(uri, error="m").svg_data_uri(scale=5, border=2),
                       secret=_grouped(two_factor.device_secret(device)))
    elif device is not None:
        context["codes_left"] = selectors.recovery_codes_left(request.user)
    return render(request, "accounts/two_factor.html", context, status=status)


@never_cache
@login_required
@reauth_required()
@require_GET
def two_factor_page(request):
    return _page(request)


@login_required
@reauth_required("accounts:two_factor")
@require_POST
def two_factor_setup(request):
    try:
        two_factor.two_factor_begin_setup(user=request.user)
    except two_factor.AlreadyEnabled:
        messages.error(request, "Two-factor sign-in is already on. Turn it off first to use another app.")
    return redirect("accounts:two_factor")


@login_required
@reauth_required("accounts:two_factor")
@require_POST
def two_factor_confirm(request):
    form = TwoFactorCodeForm(request.POST)
    codes = two_factor.two_factor_confirm(user=request.user, code=form.cleaned_data["code"]) \
        if form.is_valid() else None
    if codes is None:
        if form.is_valid():
            form.add_error("code", "That code is not right. Check the app shows Strongbox and try the next code.")
        return _page(request, form, status=400)
    update_session_auth_hash(request, request.user)
    audit.record(AuditEvent.Kind.TWO_FACTOR_ENABLED, request)
    # Post/Redirect/Get: the codes cross to the next page once, in the session, and are then forgotten.
    request.session[NEW_CODES_SESSION] = codes
    messages.success(request, "Two-factor sign-in is on. Your other sessions have been signed out.")
    return redirect("accounts:two_factor")


@login_required
@reauth_required("accounts:two_factor")
@require_POST
def two_factor_disable(request):
    if two_factor.two_factor_disable(user=request.user):
        update_session_auth_hash(request, request.user)
        audit.record(AuditEvent.Kind.TWO_FACTOR_DISABLED, request)
        messages.success(request, "Two-factor sign-in is off. Your other sessions have been signed out.")
    return redirect("accounts:two_factor")


@login_required
@reauth_required("accounts:two_factor")
@require_POST
def recovery_codes_regenerate(request):
    if selectors.two_factor_enabled(request.user):
        request.session[NEW_CODES_SESSION] = two_factor.recovery_codes_regenerate(user=request.user)
        audit.record(AuditEvent.Kind.RECOVERY_CODES_NEW, request)
        messages.success(request, "Here are your new recovery codes. The old ones no longer work.")
    return redirect("accounts:two_factor")
