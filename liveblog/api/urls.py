from liveblog.api.app import urlpatterns as framed
from liveblog.api.views import api

app_name = "api"

urlpatterns = framed(api)
