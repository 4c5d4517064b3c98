from django.apps import AppConfig


class SsoConfig(AppConfig):
    """Sign-in with the archive's OpenID Connect provider, roles from its groups (docs/single-sign-on.md)."""

    name = "sso"
    verbose_name = "single sign-on"

    def ready(self):
        from django.contrib import admin

        from sso.forms import AdminLoginForm

        admin.site.login_form = AdminLoginForm
