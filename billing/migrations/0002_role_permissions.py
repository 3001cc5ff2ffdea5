"""Billing permissions: the admin and finance run and read billing; finance decides waivers."""
from django.db import migrations

from enrollment.roles import grant_role_permissions, model_permissions

ROLE_PERMISSIONS = {
    "管理员": model_permissions("billing", ["view", "add", "change"], ["feestandard", "waiver"])
    + model_permissions("billing", ["view", "add"], ["billingrun"])
    + model_permissions("billing", ["view"], ["chargeline", "payment", "refund", "ledgerentry"]),
    "财务": model_permissions("billing", ["view", "add", "change"], ["feestandard", "waiver"])
    + model_permissions("billing", ["view", "add"], ["billingrun"])
    + model_permissions("billing", ["view"], ["chargeline"])
    + model_permissions("billing", ["view", "add"], ["payment", "refund", "ledgerentry"]),
}


def grant(apps, schema_editor):
    grant_role_permissions(apps, ROLE_PERMISSIONS)


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_initial"), ("enrollment", "0005_participation_permissions")]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
