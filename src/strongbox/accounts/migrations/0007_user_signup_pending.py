from datetime import timedelta

from django.conf import settings
from django.db import migrations, models
from django.utils import timezone


def mark_recent_sign_ups(apps, schema_editor):
    # Before this column a sign-up waiting for activation was an inactive account that never signed in. Only those
    # still inside the activation window are marked, so their links keep working; older ones are left as they are
    # (an administrator's deactivated account looks the same, and a pending mark lets the sweep delete it).
    User = apps.get_model("accounts", "User")
    since = timezone.now() - timedelta(seconds=settings.ACCOUNT_ACTIVATION_TIMEOUT)
    User.objects.filter(is_active=False, last_login__isnull=True, is_staff=False, is_superuser=False,
                        date_joined__gte=since).update(signup_pending=True)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0006_encrypt_totp_secrets")]

    operations = [
        migrations.AddField(model_name="user", name="signup_pending",
                            field=models.BooleanField(default=False, editable=False)),
        migrations.RunPython(mark_recent_sign_ups, migrations.RunPython.noop),
        # Choices only: no change in the database (whose audit table PostgreSQL partitions).
        migrations.AlterField(model_name="auditevent", name="kind", field=models.CharField(choices=[('login', 'Signed in'), ('login_failed', 'Sign-in failed'), ('login_locked', 'Sign-in refused: too many failures'), ('logout', 'Signed out'), ('sessions_ended', 'Signed out everywhere'), ('password_changed', 'Password changed'), ('password_reset', 'Password reset by e-mail link'), ('key_created', 'API key created'), ('key_revoked', 'API key revoked'), ('document_deleted', 'Document deleted'), ('access_refused', 'Access refused'), ('two_factor_enabled', 'Two-factor sign-in turned on'), ('two_factor_disabled', 'Two-factor sign-in turned off'), ('recovery_codes_new', 'New recovery codes made'), ('recovery_code_used', 'Signed in with a recovery code'), ('email_change_asked', 'E-mail change requested'), ('email_changed', 'E-mail address changed'), ('account_changed', 'Account changed by an administrator')], max_length=20)),
    ]
