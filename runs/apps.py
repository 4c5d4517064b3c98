from django.apps import AppConfig
from django.db.models.signals import post_migrate


class RunsConfig(AppConfig):
    name = "runs"

    def ready(self):
        from runs.roles import sync_roles

        # runs is the last of Chowda's apps, so every permission exists when this is sent.
        post_migrate.connect(sync_roles, sender=self, dispatch_uid="chowda-sync-roles")
