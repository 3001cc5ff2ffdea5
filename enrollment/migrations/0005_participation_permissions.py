"""Permissions on the participation models for the role groups."""
from django.db import migrations

from enrollment.roles import grant_role_permissions, model_permissions

PARTICIPATION = [
    "invitationcode", "surveyresponse", "parentnotice", "noticeread", "application", "applicationchoice",
    "authorisedperson", "applicationevent", "agreementtext", "agreementsignature", "leaverequest", "notification",
]  # fmt: skip

ROLE_PERMISSIONS = {
    "管理员": model_permissions("enrollment", ["view", "add", "change"], PARTICIPATION)
    + model_permissions("enrollment", ["delete"], ["applicationchoice", "authorisedperson"]),
    "财务": model_permissions("enrollment", ["view"], ["application", "agreementsignature", "surveyresponse"]),
    "班主任": model_permissions("enrollment", ["view"], ["application", "leaverequest"]),
    "值班领导": model_permissions("enrollment", ["view"], ["leaverequest"]),
}


def grant(apps, schema_editor):
    grant_role_permissions(apps, ROLE_PERMISSIONS)


class Migration(migrations.Migration):
    dependencies = [("enrollment", "0004_participation")]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
