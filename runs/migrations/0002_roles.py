"""Create the Curators and Viewers groups with their model permissions."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

CURATOR_MODELS = {
    "clams_apps": ["clamsapp"],
    "pipelines": ["pipeline", "pipelinestep"],
    "batches": ["mediafile", "collection", "batch"],
}
READ_ONLY_MODELS = {"runs": ["run", "steprun"]}


def create_roles(apps, schema_editor):
    # Permissions are normally created after all migrations; make sure they exist now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0, apps=apps)
        app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")

    def perms(models_by_app, actions):
        return [
            Permission.objects.get(content_type__app_label=app_label, codename=f"{action}_{model}")
            for app_label, models in models_by_app.items()
            for model in models
            for action in actions
        ]

    curators, _ = Group.objects.get_or_create(name="Curators")
    curators.permissions.add(
        *perms(CURATOR_MODELS, ["add", "change", "delete", "view"]),
        *perms(READ_ONLY_MODELS, ["view"]),
    )
    viewers, _ = Group.objects.get_or_create(name="Viewers")
    viewers.permissions.add(*perms(CURATOR_MODELS, ["view"]), *perms(READ_ONLY_MODELS, ["view"]))


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=["Curators", "Viewers"]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("clams_apps", "0001_initial"),
        ("pipelines", "0001_initial"),
        ("batches", "0001_initial"),
        ("runs", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
