from django.apps import AppConfig


class EvaluationsConfig(AppConfig):
    name = "evaluations"
    verbose_name = "Evaluations against gold"

    def ready(self):
        from evaluations.background import register_kinds
        from evaluations.selectors import compare_links
        from findings.views import COMPARE_BATCHES_LINKS

        register_kinds()
        if compare_links not in COMPARE_BATCHES_LINKS:
            COMPARE_BATCHES_LINKS.append(compare_links)
