"""Pages that change or end credentials: password change, password reset, signing out everywhere."""

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.views.decorators.http import require_http_methods, require_POST

from strongbox.accounts import audit, services, throttle
from strongbox.accounts.forms import PasswordResetRequestForm
from strongbox.accounts.models import AuditEvent
from strongbox.accounts.views import InvalidFormIs400


class PasswordChangeView(InvalidFormIs400, auth_views.PasswordChangeView):
    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("accounts:settings")

    def form_valid(self, form):
        response = super().form_valid(form)
        audit.record(AuditEvent.Kind.PASSWORD_CHANGED, self.request)
        messages.success(self.request, "Your password was changed. Your other sessions have been signed out.")
        return response


class PasswordResetConfirmView(InvalidFormIs400, auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password_reset_complete")

    def form_valid(self, form):
        response = super().form_valid(form)
        audit.record(AuditEvent.Kind.PASSWORD_RESET, self.request, user=form.user)
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
    services.sessions_end_all(user=request.user)
    audit.record(AuditEvent.Kind.SESSIONS_ENDED, request)
    logout(request)
    messages.success(request, "You have been signed out on every device.")
    return redirect("accounts:login")
