import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "liveblog.settings")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from liveblog.api.fast import FastReads  # noqa: E402
from liveblog.live.routing import SocketsPerAddress, websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        # The hot anonymous polls of the change log are answered from Redis before Django.
        "http": FastReads(django_asgi_app),
        "websocket": AllowedHostsOriginValidator(
            SocketsPerAddress(URLRouter(websocket_urlpatterns))
        ),
    }
)
