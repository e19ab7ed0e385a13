from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from strongbox.accounts import audit, services, tasks
from strongbox.accounts.models import ApiKey, AuditEvent, User
from strongbox.lib.admin import ReadOnlyAdmin

# Only superusers may grant or take away privileges: staff with the change-user permission edit everything else.
PRIVILEGE_FIELDS = ("is_staff", "is_superuser", "groups", "user_permissions")


def may_manage(actor: User, target: User | None) -> bool:
    """Return whether `actor` may change or delete `target` in the admin: a superuser anyone, other staff only
    accounts without privileges (else the change-user permission would open every staff and superuser account:
    its password, its e-mail address, hence its password reset, and its status)."""
    return target is None or actor.is_superuser or not (target.is_staff or target.is_superuser)


def _in_admin(target: User) -> str:
    return f"of {target.get_username()} (id {target.pk}) in the admin"


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

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and may_manage(request.user, obj)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and may_manage(request.user, obj)

    def _refuse(self, request, target: User, action: str):
        audit.record(AuditEvent.Kind.ACCESS_REFUSED, request, detail=f"{action} {_in_admin(target)}")
        raise PermissionDenied

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        if request.method == "POST" and object_id is not None:
            target = self.get_object(request, unquote(object_id))
            if target is not None and not may_manage(request.user, target):
                self._refuse(request, target, "change the account")
        return super().changeform_view(request, object_id, form_url, extra_context)

    def user_change_password(self, request, id, form_url=""):
        target = self.get_object(request, unquote(id))
        if target is not None and not may_manage(request.user, target):
            self._refuse(request, target, "set the password")
        before = target.password if target is not None else None
        response = super().user_change_password(request, id, form_url)
        if target is not None and User.objects.filter(pk=target.pk).exclude(password=before).exists():
            audit.record(AuditEvent.Kind.PASSWORD_CHANGED, request, detail=f"Password {_in_admin(target)}")
        return response

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if not change:
            audit.record(AuditEvent.Kind.ACCOUNT_CHANGED, request, detail=f"Creation {_in_admin(obj)}")
            return
        if "email" in form.changed_data:
            old_email = form.initial.get("email", "")
            audit.record(AuditEvent.Kind.EMAIL_CHANGED, request,
                         detail=f"E-mail {_in_admin(obj)}: {old_email} to {obj.email}")
            if old_email:
                tasks.send_email_changed_notice(obj.pk, old_email)
        others = [name for name in form.changed_data if name != "email"]
        if others:  # status, name, dates, privileges: which fields, not their values
            audit.record(AuditEvent.Kind.ACCOUNT_CHANGED, request,
                         detail=f"Change {_in_admin(obj)}: {', '.join(others)}"[:300])

    def delete_model(self, request, obj):
        audit.record(AuditEvent.Kind.ACCOUNT_CHANGED, request, detail=f"Deletion {_in_admin(obj)}")
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for user in queryset:
            audit.record(AuditEvent.Kind.ACCOUNT_CHANGED, request, detail=f"Deletion {_in_admin(user)}")
        super().delete_queryset(request, queryset)

    def get_deleted_objects(self, objs, request):
        # The bulk "delete selected" action asks this, not has_delete_permission(obj), about each account.
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        if not all(may_manage(request.user, user) for user in objs if isinstance(user, User)):
            perms_needed.add("staff accounts (only a superuser may delete them)")
        return deleted, counts, perms_needed, protected


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
