"""Create the product's roles as groups, with the model permissions each role needs.

Object-level limits (a homeroom teacher sees only their own class, a guardian only their
own children) are enforced in the selectors; these are the model-level grants. Later
apps add their models' permissions to these groups in their own migrations.
"""
from django.db import migrations

from enrollment.roles import grant_role_permissions, model_permissions

DIRECTORY = ["school", "term", "grade", "homeroom", "student", "guardian", "studentguardian", "staffprofile"]


ROLE_PERMISSIONS = {
    "管理员": (
        model_permissions("enrollment", ["view", "add", "change"], DIRECTORY)
        + model_permissions("enrollment", ["delete"], ["term", "grade", "homeroom", "studentguardian", "staffprofile"])
        + model_permissions("enrollment", ["view", "add", "change"], ["user"])
        + model_permissions("auth", ["view"], ["group"])
    ),
    "财务": model_permissions("enrollment", ["view"], ["school", "term", "grade", "homeroom", "student", "guardian", "studentguardian"]),
    "班主任": model_permissions("enrollment", ["view"], ["homeroom", "student", "guardian", "studentguardian"]),
    "服务教师": model_permissions("enrollment", ["view"], ["homeroom", "student"]),
    "值班领导": model_permissions("enrollment", ["view"], ["grade", "homeroom", "student"]),
    "门卫": [],
    "家长": [],
}


def create_roles(apps, schema_editor):
    grant_role_permissions(apps, ROLE_PERMISSIONS)


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLE_PERMISSIONS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("enrollment", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
