from django.apps import AppConfig


class BatchesConfig(AppConfig):
    name = "batches"
    verbose_name = "Media and batches"

    def ready(self):
        from batches.background import register_kinds

        register_kinds()
