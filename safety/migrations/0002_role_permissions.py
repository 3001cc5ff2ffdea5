"""Safety permissions for the role groups (roll call itself is taken in the teacher pages)."""
from django.db import migrations

from enrollment.roles import grant_role_permissions, model_permissions

ROLE_PERMISSIONS = {
    "管理员": model_permissions("safety", ["view"], ["rollcall", "rollcallentry", "absencefollowup"]),
    "值班领导": model_permissions("safety", ["view"], ["rollcall", "rollcallentry", "absencefollowup"]),
}


def grant(apps, schema_editor):
    grant_role_permissions(apps, ROLE_PERMISSIONS)


class Migration(migrations.Migration):
    dependencies = [("safety", "0001_initial"), ("enrollment", "0005_participation_permissions")]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
