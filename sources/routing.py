from django.urls import path

import chowda_site.ids  # noqa: F401  (registers <id:…>)
from sources import consumers

websocket_urlpatterns = [
    path("ws/media-sources/<id:pk>/", consumers.SourceConsumer.as_asgi()),
]
