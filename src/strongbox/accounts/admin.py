from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from strongbox.accounts import services
from strongbox.accounts.models import ApiKey, AuditEvent, User
from strongbox.lib.admin import ReadOnlyAdmin

# Only superusers may grant or take away privileges: staff with the change-user permission edit everything else.
PRIVILEGE_FIELDS = ("is_staff", "is_superuser", "groups", "user_permissions")


def admin_login(request, extra_context=None):
    """Send the admin's sign-in to Strongbox's own, which asks for the second factor (the admin's would not)."""
    if request.user.is_authenticated:  # signed in but not staff: Strongbox's sign-in would send them straight back
        raise PermissionDenied
    return redirect_to_login(request.GET.get("next") or reverse("admin:index"), "accounts:login")


admin.site.login = admin_login


@admin.register(User)
class StrongboxUserAdmin(UserAdmin):
    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        return fields if request.user.is_superuser else (*fields, *PRIVILEGE_FIELDS)


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    """Staff read the whole audit log here; nobody edits or deletes it through the admin."""

    list_display = ["created_at", "kind", "username", "ip", "user_agent", "detail"]
    list_filter = ["kind"]
    search_fields = ["username", "ip", "detail"]


@admin.register(ApiKey)
class ApiKeyAdmin(ReadOnlyAdmin):
    """Keys are read-only here; staff may revoke them (through the service, so it is audited and for good), never
    create, edit, delete or un-revoke one."""

    list_display = ["name", "user", "prefix", "scope", "created_at", "expires_at", "last_used_at", "revoked_at"]
    list_filter = ["scope"]
    list_select_related = ["user"]
    search_fields = ["name", "prefix", "user__username"]
    actions = ["revoke"]

    def has_revoke_permission(self, request):
        return request.user.has_perm("accounts.change_apikey")

    @admin.action(description="Revoke the selected keys", permissions=["revoke"])
    def revoke(self, request, queryset):
        revoked = sum(services.api_key_revoke(api_key=api_key, actor=request.user)
                      for api_key in queryset.select_related("user"))
        self.message_user(request, f"Revoked {revoked} key(s).", messages.SUCCESS)
