from django.urls import path

from runs import consumers

websocket_urlpatterns = [
    path("ws/batches/<int:pk>/", consumers.BatchConsumer.as_asgi()),
    path("ws/runs/<int:pk>/", consumers.RunConsumer.as_asgi()),
]
