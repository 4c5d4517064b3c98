import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chowda_site.settings")

application = get_wsgi_application()

from chowda_site.startup import refuse_development_key, refuse_unknown_redis  # noqa: E402  (needs Django set up)

refuse_development_key()
refuse_unknown_redis("The web server")
