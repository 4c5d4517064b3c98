from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "reports"
    verbose_name = "Reports and statistics"

    def ready(self):
        from reports.notifications import batch_check_notifications
        from runs.signals import run_finished

        run_finished.connect(batch_check_notifications, dispatch_uid="reports-notifications")
