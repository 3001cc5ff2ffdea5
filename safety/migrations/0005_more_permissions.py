"""View permissions on the safety records for the admin and the duty leader."""
from django.db import migrations

from enrollment.roles import grant_role_permissions, model_permissions

RECORDS = [
    "release", "contactattempt", "dayclosing", "pickuppass", "handover", "carerecord", "activityrecord",
    "patrolrecord", "incident", "incidentacknowledgement", "gatevisit",
]  # fmt: skip

ROLE_PERMISSIONS = {
    "管理员": model_permissions("safety", ["view"], RECORDS),
    "值班领导": model_permissions("safety", ["view"], RECORDS),
}


def grant(apps, schema_editor):
    grant_role_permissions(apps, ROLE_PERMISSIONS)


class Migration(migrations.Migration):
    dependencies = [("safety", "0004_logs_handover_incidents_gate")]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
