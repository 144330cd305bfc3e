import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "liveblog.settings")
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from liveblog.api.fast import FastReads  # noqa: E402
from liveblog.live.routing import SocketsPerAddress, websocket_urlpatterns  # noqa: E402
from liveblog.live.stream import EventStream  # noqa: E402

# The hot anonymous polls of the change log are answered from Redis before Django.
_reads = FastReads(django_asgi_app)
_streams = EventStream()


async def http(scope, receive, send):  # an ASGI app
    """The live protocol's event streams (liveblog/live/stream.py), else the site. A prefix
    test, not Channels' URLRouter: every API poll passes here, and a resolver per request
    is what the fast path exists to avoid."""
    if scope["path"].startswith("/sse/"):
        await _streams(scope, receive, send)
    else:
        await _reads(scope, receive, send)


application = ProtocolTypeRouter(
    {
        "http": http,
        "websocket": AllowedHostsOriginValidator(
            SocketsPerAddress(URLRouter(websocket_urlpatterns))
        ),
    }
)
