from django.db import migrations, models

from strongbox.accounts import secret_box


def encrypt(apps, schema_editor):
    # Secrets stored in clear by earlier versions are encrypted with the first of STRONGBOX_TOTP_KEYS.
    devices = apps.get_model("accounts", "TwoFactorDevice").objects.using(schema_editor.connection.alias)
    for device in devices.only("pk", "encrypted_secret").iterator():
        if secret_box.is_clear(device.encrypted_secret):
            device.encrypted_secret = secret_box.seal(device.encrypted_secret)
            device.save(update_fields=["encrypted_secret"])


def decrypt(apps, schema_editor):
    # Going back to 0005 needs the secrets in clear again (and the keys that encrypted them).
    devices = apps.get_model("accounts", "TwoFactorDevice").objects.using(schema_editor.connection.alias)
    for device in devices.only("pk", "user_id", "encrypted_secret").iterator():
        if not secret_box.is_clear(device.encrypted_secret):
            device.encrypted_secret = secret_box.unseal(device.encrypted_secret, owner=f"user {device.user_id}")
            device.save(update_fields=["encrypted_secret"])


class Migration(migrations.Migration):
    dependencies = [("accounts", "0005_partition_audit_log")]
    operations = [
        migrations.AlterField("twofactordevice", "secret", models.CharField(max_length=255)),
        migrations.RenameField("twofactordevice", "secret", "encrypted_secret"),
        migrations.RunPython(encrypt, decrypt),
    ]
