from django import forms
from django.contrib.auth import authenticate


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
