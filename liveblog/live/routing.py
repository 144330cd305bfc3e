from django.urls import path

from liveblog.live.consumer import EventConsumer

websocket_urlpatterns = [
    path("ws/events/<slug:slug>/", EventConsumer.as_asgi()),
]
