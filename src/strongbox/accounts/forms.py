from django import forms
from django.contrib.auth import authenticate
from django.contrib.auth.forms import AuthenticationForm

from strongbox.accounts.backends import inactive_account

NOT_ACTIVATED = ("This account is not activated yet: follow the link in the mail we sent to its address when it "
                 "was signed up for. If the link has expired, sign up again.")
DEACTIVATED = "This account has been deactivated. Ask the people who run this Strongbox to turn it back on."


class LoginForm(AuthenticationForm):
    """Django's sign-in form, which says so when the password is right but the account cannot sign in."""

    def clean(self):
        try:
            return super().clean()
        except forms.ValidationError:
            # Only with the right password (the backend checked it): a wrong one keeps the generic error.
            user = inactive_account(self.request)
            if user is None:
                raise
            self.password_was_right = True
            raise forms.ValidationError(NOT_ACTIVATED if user.signup_pending else DEACTIVATED,
                                        code="inactive") from None


class PasswordResetRequestForm(forms.Form):
    email = forms.EmailField(max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email",
                                                                            "autofocus": True}))


class ReauthForm(forms.Form):
    """The signed-in user's password, typed again."""

    password = forms.CharField(strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password",
                                                                              "autofocus": True}))

    def __init__(self, request, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.request = request

    def clean_password(self):
        # Through authenticate(), like the sign-in form: same hashing work, and a failure reaches the audit log.
        user = self.request.user
        password = self.cleaned_data["password"]
        if authenticate(self.request, username=user.get_username(), password=password) != user:
            raise forms.ValidationError("That is not your password.")
        return password


class TwoFactorCodeForm(forms.Form):
    code = forms.CharField(max_length=40, label="Code",
                           widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "autofocus": True,
                                                         "autocapitalize": "off", "spellcheck": "false"}))


class EmailChangeForm(forms.Form):
    """The new address. Deliberately no check that it is free: the mail sent to it says so, not this page."""

    email = forms.EmailField(label="New e-mail address", max_length=254,
                             widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}))

    def __init__(self, user, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_email(self):
        email = self.cleaned_data["email"]
        if email.casefold() == self.user.email.casefold():
            raise forms.ValidationError("This is already your address.")
        return email
