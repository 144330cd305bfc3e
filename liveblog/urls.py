from django.contrib import admin
from django.urls import include, path

from liveblog import ops
from liveblog.http.media import media

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", ops.healthz, name="healthz"),
    path("metrics", ops.metrics_view, name="metrics"),
    path("csp-report", ops.csp_report, name="csp-report"),
    path("editor/", include("liveblog.editor.urls")),
    path("api/", include("liveblog.api.urls")),
    path("media/<path:name>", media, name="media"),
    path("", include("liveblog.reader.urls")),
]

# JSON under /api/ when DEBUG is off (SPEC §6: every response under /api/ is JSON).
handler400 = "liveblog.api.errors.bad_request"
handler500 = "liveblog.api.errors.server_error"
