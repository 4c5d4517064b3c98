from django.apps import AppConfig


class SourcesConfig(AppConfig):
    name = "sources"
    verbose_name = "Media sources and schedules"

    def ready(self):
        from sources.background import register_kinds

        register_kinds()
