from django.urls import path, re_path

import chowda_site.ids  # noqa: F401  (registers <id:…>)
from runs import consumers

websocket_urlpatterns = [
    path("ws/batches/<id:pk>/", consumers.BatchConsumer.as_asgi()),
    path("ws/runs/<id:pk>/", consumers.RunConsumer.as_asgi()),
    # Without a last route, Channels answers an unknown path with an exception in the server.
    re_path(r"", consumers.NothingToWatch.as_asgi()),
]
