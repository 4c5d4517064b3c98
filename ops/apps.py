from django.apps import AppConfig, apps
from django.core import checks
from django.db.models.signals import post_migrate

from chowda_site.startup import check_secret_key


class OpsConfig(AppConfig):
    """Site operations: the launcher, the demo seed, the role groups and the start-up checks."""

    name = "ops"
    verbose_name = "operations"

    def ready(self):
        # Imported here because it imports models, which an AppConfig module may not do at load time.
        from ops.roles import sync_roles

        checks.register(check_secret_key, checks.Tags.security, deploy=True)
        # post_migrate is sent once per app with models, in INSTALLED_APPS order, each time after
        # auth has created that app's permissions: after the last one, every permission exists.
        last_with_models = [config for config in apps.get_app_configs() if config.models_module][-1]
        post_migrate.connect(sync_roles, sender=last_with_models, dispatch_uid="chowda-sync-roles")
