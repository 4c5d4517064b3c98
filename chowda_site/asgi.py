"""HTTP goes to Django; websockets to the live-progress consumers, behind sessions and an origin check."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chowda_site.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402  (needs Django set up)
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from chowda_site.startup import refuse_development_key, refuse_unknown_redis  # noqa: E402
from chowda_site.websocket_origin import OriginValidator  # noqa: E402
from runs.routing import websocket_urlpatterns as runs_websockets  # noqa: E402
from sources.routing import websocket_urlpatterns as sources_websockets  # noqa: E402

refuse_development_key()
refuse_unknown_redis("The web server")

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        # The runs' routes end with a catch-all that refuses any other path: they come last.
        "websocket": OriginValidator(AuthMiddlewareStack(URLRouter(sources_websockets + runs_websockets))),
    }
)
