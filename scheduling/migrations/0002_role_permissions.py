"""Scheduling permissions for the role groups made by enrollment 0002_roles."""
from django.db import migrations

from enrollment.roles import grant_role_permissions, model_permissions

EDITABLE = [
    "holidaynotice", "holidaynoticeentry", "closure", "makeupdaytimetable", "servicesettings", "serviceseason",
    "gradedismissal", "room", "activity", "servicegroup", "groupmembership", "waitlistentry", "timetableslot", "dutyday",
]  # fmt: skip

ROLE_PERMISSIONS = {
    "管理员": (
        model_permissions("scheduling", ["view", "add", "change"], EDITABLE)
        + model_permissions(
            "scheduling",
            ["delete"],
            ["holidaynoticeentry", "makeupdaytimetable", "serviceseason", "gradedismissal", "groupmembership",
             "waitlistentry", "timetableslot"],
        )  # fmt: skip
        + model_permissions("scheduling", ["view"], ["session"])
    ),
    "财务": model_permissions("scheduling", ["view"], ["holidaynotice", "closure", "servicegroup", "session"]),
    "值班领导": model_permissions("scheduling", ["view"], ["servicegroup", "session", "dutyday", "closure"]),
    "服务教师": model_permissions("scheduling", ["view"], ["servicegroup", "session"]),
    "班主任": model_permissions("scheduling", ["view"], ["servicegroup"]),
}


def grant(apps, schema_editor):
    grant_role_permissions(apps, ROLE_PERMISSIONS)


class Migration(migrations.Migration):
    dependencies = [("scheduling", "0001_initial"), ("enrollment", "0002_roles")]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
