"""The API keys settings page: create (shown once), list, revoke."""

from datetime import datetime, time

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from strongbox.accounts import reauth, selectors, services
from strongbox.accounts.models import ApiKey
from strongbox.documents.htmx import is_htmx, login_required_fragment, vary_on_htmx

NEW_KEY_SESSION = "strongbox.new_api_key"


class KeyForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What the key is for, e.g. “scanner” or “nightly backup”.")
    scope = forms.ChoiceField(choices=ApiKey.Scope.choices, initial=ApiKey.Scope.READ)
    expires_on = forms.DateField(required=False, label="Expires on",
                                 widget=forms.DateInput(attrs={"type": "date"}),
                                 help_text="The key works until the end of that day. Leave empty for a key "
                                           "that works until you revoke it.")

    def expires_at(self) -> datetime | None:
        """Return the end of the chosen day, when the key stops working (whether it has passed is the service's
        rule)."""
        day = self.cleaned_data["expires_on"]
        return datetime.combine(day, time.max, timezone.get_current_timezone()) if day else None


@login_required
@require_http_methods(["GET", "POST"])
def api_keys(request):
    if request.method == "POST":
        return _api_key_create(request)
    return _page(request, KeyForm(), status=200)


# A key is a password for scripts that outlives the session: minting one needs the password typed recently, so a
# session left open (or stolen) cannot leave a key behind.
@reauth.reauth_required(return_to="accounts:api_keys")
def _api_key_create(request):
    form = KeyForm(request.POST)
    if form.is_valid():
        try:
            _, key = services.api_key_create(user=request.user, name=form.cleaned_data["name"],
                                             scope=form.cleaned_data["scope"], expires_at=form.expires_at())
        except services.ExpiryPassed:
            form.add_error("expires_on", "Choose a day that has not passed.")
        else:
            # Post/Redirect/Get: the key crosses to the next page once, in the session, and is then forgotten.
            request.session[NEW_KEY_SESSION] = key
            return redirect("accounts:api_keys")
    return _page(request, form, status=400)


def _page(request, form: KeyForm, *, status: int):
    context = {"form": form, "keys": selectors.api_keys_for_user(request.user),
               "new_key": request.session.pop(NEW_KEY_SESSION, None), "now": timezone.now(),
               "password_recent": reauth.is_recent(request)}
    return render(request, "accounts/api_keys.html", context, status=status)


@login_required_fragment
@require_http_methods(["GET", "POST"])
def api_key_revoke(request, key_id: str):
    """Ask before revoking (GET: a page, or for htmx the question in place of the key's Revoke button), revoke on
    the confirming POST. A POST without the confirmation only asks, so no single stray click revokes a key."""
    api_key = selectors.api_key_for_user(request.user, key_id)
    if request.method == "POST" and request.POST.get("confirm") == "yes":
        services.api_key_revoke(api_key=api_key, actor=request.user)
        messages.success(request, f"Revoked “{api_key.name}”. Scripts using it are refused from now on.")
        return redirect("accounts:api_keys")
    context = {"key": api_key, "now": timezone.now()}
    if is_htmx(request):
        return vary_on_htmx(render(request, "partials/api_key_revoke_form.html", context))
    return vary_on_htmx(render(request, "accounts/api_key_revoke.html", context))
