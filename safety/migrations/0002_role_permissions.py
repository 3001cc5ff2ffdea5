"""Safety permissions for the role groups. Roll call, release and the logs are written in the
teachers' pages; the admin and the duty leader read every record in the admin site."""
from django.db import migrations

from enrollment.roles import grant_role_permissions, model_permissions

RECORDS = [
    "rollcall", "rollcallentry", "absencefollowup", "release", "contactattempt", "dayclosing", "pickuppass",
    "handover", "carerecord", "activityrecord", "patrolrecord", "incident", "incidentacknowledgement", "gatevisit",
]  # fmt: skip

ROLE_PERMISSIONS = {
    "管理员": model_permissions("safety", ["view"], RECORDS),
    "值班领导": model_permissions("safety", ["view"], RECORDS),
}


def grant(apps, schema_editor):
    grant_role_permissions(apps, ROLE_PERMISSIONS)


class Migration(migrations.Migration):
    dependencies = [("safety", "0001_initial"), ("enrollment", "0005_participation_permissions")]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
