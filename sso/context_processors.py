from django.conf import settings


def single_sign_on(request) -> dict:
    """``single_sign_on`` for the login page's button: its label and whether passwords are for break-glass only."""
    config = settings.SINGLE_SIGN_ON
    if config is None:
        return {}
    return {"single_sign_on": {"name": config.name, "only": config.only}}
