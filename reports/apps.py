from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = "Reports and statistics"

    def ready(self):
        # Imported here because they import models, which an AppConfig module may not do at load time.
        from reports.tasks import run_finished_handler
        from runs.signals import run_finished

        run_finished.connect(run_finished_handler, dispatch_uid="reports-notifications")
