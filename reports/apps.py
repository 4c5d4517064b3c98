from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = "Reports and statistics"

    def ready(self):
        from reports.tasks import run_finished_handler
        from runs.signals import run_finished

        run_finished.connect(run_finished_handler, dispatch_uid="reports-notifications")
