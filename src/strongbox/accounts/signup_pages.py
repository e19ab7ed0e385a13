"""The sign-up pages: the form, its confirmation, and the activation link."""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.password_validation import password_validators_help_text_html, validate_password
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from strongbox.accounts import signups, throttle
from strongbox.accounts.models import User
from strongbox.accounts.tokens import user_for_activation_token


class SignupForm(forms.Form):
    """Sign-up fields. Deliberately no uniqueness checks: those would tell a stranger which accounts exist."""

    username = forms.CharField(max_length=150, validators=[UnicodeUsernameValidator()],
                               help_text="Letters, digits and @ . + - _ only.",
                               widget=forms.TextInput(attrs={"autocomplete": "username", "autofocus": True}))
    email = forms.EmailField(max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    password1 = forms.CharField(label="Password", strip=False, help_text=password_validators_help_text_html(),
                                widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))
    password2 = forms.CharField(label="Password again", strip=False,
                                widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))

    def clean(self):
        data = super().clean()
        password1, password2 = data.get("password1"), data.get("password2")
        if password1 and password2 and password1 != password2:
            self.add_error("password2", "The two passwords differ.")
        elif password1:
            candidate = User(username=data.get("username", ""), email=data.get("email", ""))
            try:
                validate_password(password1, user=candidate)
            except forms.ValidationError as error:
                self.add_error("password1", error)
        return data


class ActivationForm(forms.Form):
    password = forms.CharField(label="Password", strip=False, max_length=4096,
                               help_text="The password chosen when signing up for this account.",
                               widget=forms.PasswordInput(attrs={"autocomplete": "current-password",
                                                                 "autofocus": True}))


SIGNUP_REFUSED = {"email": "Too many sign-ups with this e-mail address.",
                  "address": "Too many sign-ups from your network address."}


@require_http_methods(["GET", "POST"])
def signup(request):
    if not settings.SIGNUP_OPEN:
        return render(request, "accounts/signup_closed.html", status=403)
    form = SignupForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            refused = signups.signup_refused(request, form.cleaned_data["email"])
            if refused:
                limit, wait = refused
                form.add_error(None, f"{SIGNUP_REFUSED[limit]} Try again in {throttle.minutes(wait)}.")
                return render(request, "accounts/signup.html", {"form": form}, status=429)
            signups.signup_register(username=form.cleaned_data["username"], email=form.cleaned_data["email"],
                                     password=form.cleaned_data["password1"])
            return redirect("accounts:signup_done")
        return render(request, "accounts/signup.html", {"form": form}, status=400)
    return render(request, "accounts/signup.html", {"form": form})


def signup_done(request):
    return render(request, "accounts/signup_done.html")


@require_http_methods(["GET", "POST"])
def activate(request, token: str):
    # The link only shows a form: mail scanners that follow links must not activate accounts. It asks for the
    # sign-up's password, so the link's holder can only activate a sign-up they made themselves.
    user = user_for_activation_token(token)
    if user is None:
        return render(request, "accounts/activate_invalid.html", status=400)
    form = ActivationForm(request.POST if request.method == "POST" else None)
    if request.method == "GET":
        return render(request, "accounts/activate.html", {"account": user, "form": form})
    if not form.is_valid():
        return render(request, "accounts/activate.html", {"account": user, "form": form}, status=400)
    wait = signups.activation_refused(user)
    if wait:
        form.add_error(None, f"Too many attempts. Try again in {throttle.minutes(wait)}.")
        return render(request, "accounts/activate.html", {"account": user, "form": form}, status=429)
    if signups.account_activate(user=user, password=form.cleaned_data["password"]):
        messages.success(request, "Your account is active. Sign in to start.")
        return redirect("accounts:login")
    form.add_error("password", "That is not the password chosen when signing up. If you did not sign up for this "
                               "account, leave it: it is deleted unless activated.")
    return render(request, "accounts/activate.html", {"account": user, "form": form}, status=400)
