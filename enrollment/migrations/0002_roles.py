"""Create the product's roles as groups, with the model permissions each role needs.

Object-level limits (a homeroom teacher sees only their own class, a guardian only their
own children) are enforced in the selectors; these are the model-level grants. Later
apps add their models' permissions to these groups in their own migrations.
"""
from django.db import migrations

DIRECTORY = ["school", "term", "grade", "homeroom", "student", "guardian", "studentguardian", "staffprofile"]


def _perms(app, actions, models):
    return [(app, f"{action}_{model}") for model in models for action in actions]


ROLE_PERMISSIONS = {
    "管理员": (
        _perms("enrollment", ["view", "add", "change"], DIRECTORY)
        + _perms("enrollment", ["delete"], ["term", "grade", "homeroom", "studentguardian", "staffprofile"])
        + _perms("enrollment", ["view", "add", "change"], ["user"])
        + _perms("auth", ["view"], ["group"])
    ),
    "财务": _perms("enrollment", ["view"], ["school", "term", "grade", "homeroom", "student", "guardian", "studentguardian"]),
    "班主任": _perms("enrollment", ["view"], ["homeroom", "student", "guardian", "studentguardian"]),
    "服务教师": _perms("enrollment", ["view"], ["homeroom", "student"]),
    "值班领导": _perms("enrollment", ["view"], ["grade", "homeroom", "student"]),
    "门卫": [],
    "家长": [],
}


def create_roles(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    # Permissions are normally created after all migrations have run; make them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, wanted in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=name)
        perms = [Permission.objects.get(content_type__app_label=app, codename=codename) for app, codename in wanted]
        group.permissions.add(*perms)


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLE_PERMISSIONS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("enrollment", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
