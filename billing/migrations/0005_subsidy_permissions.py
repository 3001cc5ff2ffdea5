"""Subsidy permissions: the admin keeps the duty shifts, performance events and rates (they decide
teachers' pay, so nothing is deleted: a mistake is corrected); finance reads them (and books the
payroll, with its ledger permission)."""

from django.db import migrations

from enrollment.roles import grant_role_permissions, model_permissions

MODELS = ["dutyshift", "performanceevent", "subsidyrates"]
ROLE_PERMISSIONS = {
    "管理员": model_permissions("billing", ["view", "add", "change"], MODELS),
    "财务": model_permissions("billing", ["view"], MODELS),
}


def grant(apps, schema_editor):
    grant_role_permissions(apps, ROLE_PERMISSIONS)


class Migration(migrations.Migration):
    dependencies = [("billing", "0004_teacher_subsidy")]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
