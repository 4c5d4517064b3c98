from django.apps import AppConfig


class RunsConfig(AppConfig):
    name = "runs"

    def ready(self):
        from runs.signals import run_finished
        from runs.staging import scratch_sweep

        run_finished.connect(scratch_sweep, dispatch_uid="runs-scratch-sweep")
