from django.urls import path

from liveblog.reader.consumers import EventConsumer

websocket_urlpatterns = [
    path("ws/events/<slug:slug>/", EventConsumer.as_asgi()),
]
