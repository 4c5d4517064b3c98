from django.apps import AppConfig
from django.core import checks
from django.db.models.signals import post_migrate


class RunsConfig(AppConfig):
    name = "runs"

    def ready(self):
        from chowda_site.startup import check_secret_key
        from runs.roles import sync_roles

        checks.register(check_secret_key, checks.Tags.security, deploy=True)

        # runs is the last of Chowda's apps, so every permission exists when this is sent.
        post_migrate.connect(sync_roles, sender=self, dispatch_uid="chowda-sync-roles")
