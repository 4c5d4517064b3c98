from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.exceptions import ValidationError


class AdminLoginForm(AdminAuthenticationForm):
    """The admin's login form; with CHOWDA_OIDC_ONLY on, a password signs in superusers only (break glass)."""

    def confirm_login_allowed(self, user):
        config = settings.SINGLE_SIGN_ON
        if config is not None and config.only and not user.is_superuser:
            raise ValidationError(
                f"Passwords are switched off here except for the break-glass superuser: sign in with {config.name}.",
                code="single_sign_on_only",
            )
        super().confirm_login_allowed(user)
