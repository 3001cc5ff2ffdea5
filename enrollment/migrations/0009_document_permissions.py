"""Document permissions: the admin and finance follow and download the generated documents."""

from django.db import migrations

from enrollment.roles import grant_role_permissions, model_permissions

ROLE_PERMISSIONS = {
    "管理员": model_permissions("enrollment", ["view"], ["document", "documentbatch"]),
    "财务": model_permissions("enrollment", ["view"], ["document", "documentbatch"]),
}


def grant(apps, schema_editor):
    grant_role_permissions(apps, ROLE_PERMISSIONS)


class Migration(migrations.Migration):
    dependencies = [("enrollment", "0008_notification_channel")]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
