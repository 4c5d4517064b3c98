from django.apps import AppConfig


class ClamsAppsConfig(AppConfig):
    name = "clams_apps"
    verbose_name = "CLAMS apps"
