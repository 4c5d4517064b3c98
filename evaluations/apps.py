from django.apps import AppConfig


class EvaluationsConfig(AppConfig):
    name = "evaluations"
    verbose_name = "Evaluations against gold"

    def ready(self):
        from evaluations.background import register_kinds

        register_kinds()
