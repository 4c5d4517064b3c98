from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "jobs"
    verbose_name = "Apps as jobs"

    def ready(self):
        from celery.signals import worker_ready

        from jobs import command

        # A worker killed while an app's command ran may have left it running on this machine: end it.
        worker_ready.connect(command.reap_orphans_on_start, weak=False, dispatch_uid="jobs.reap_orphans")
