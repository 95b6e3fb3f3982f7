"""Create the role groups clinician, manager and admin with their permissions."""

from __future__ import annotations

from django.contrib.auth.management import create_permissions
from django.db import migrations

# Permission codenames per group, as "app_label.codename".
GROUP_PERMISSIONS: dict[str, tuple[str, ...]] = {
    "clinician": (
        "screening.upload_study",
        "screening.view_study",
        "screening.view_report",
        "screening.review_study",
    ),
    "manager": ("screening.view_statistics",),
    "admin": (
        "screening.upload_study",
        "screening.view_study",
        "screening.view_report",
        "screening.review_study",
        "screening.view_statistics",
        "screening.view_audit_trail",
        "screening.view_auditevent",
        "screening.manage_bundles",
        "screening.view_modelbundle",
        "screening.view_analysisrun",
        "auth.view_user",
        "auth.add_user",
        "auth.change_user",
        "auth.view_group",
    ),
}


def create_groups(apps, schema_editor):
    # Permissions are normally created after all migrations ran; the groups need them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for group_name, permission_names in GROUP_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=group_name)
        for permission_name in permission_names:
            app_label, codename = permission_name.split(".")
            permission = Permission.objects.get(content_type__app_label=app_label, codename=codename)
            group.permissions.add(permission)


def delete_groups(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Group.objects.filter(name__in=list(GROUP_PERMISSIONS)).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("screening", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_groups, delete_groups)]
