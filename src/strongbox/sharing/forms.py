from django import forms
from django.conf import settings

PERMISSIONS = [("read", "Can read"), ("edit", "Can edit")]


class ShareForm(forms.Form):
    recipient = forms.CharField(max_length=254, label="Username or e-mail address",
                                widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}))
    permission = forms.ChoiceField(choices=PERMISSIONS, initial="read")


class PermissionForm(forms.Form):
    permission = forms.ChoiceField(choices=PERMISSIONS)


def expiry_choices() -> list[tuple[str, str]]:
    """1, 7 and 30 days, and the longest allowed, each only up to STRONGBOX_SHARE_LINK_MAX_DAYS."""
    days = sorted({d for d in (1, 7, 30) if d <= settings.SHARE_LINK_MAX_DAYS} | {settings.SHARE_LINK_MAX_DAYS})
    return [(str(d), f"{d} day{'s' if d != 1 else ''}") for d in days]


class LinkForm(forms.Form):
    expires = forms.ChoiceField(label="Valid for", choices=expiry_choices)
    password = forms.CharField(max_length=128, required=False, strip=False,
                               help_text="Optional. Whoever opens the link must type it.",
                               widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["expires"].initial = "7" if settings.SHARE_LINK_MAX_DAYS >= 7 else "1"


class LinkPasswordForm(forms.Form):
    password = forms.CharField(max_length=128, strip=False,
                               widget=forms.PasswordInput(attrs={"autocomplete": "off", "autofocus": True}))
