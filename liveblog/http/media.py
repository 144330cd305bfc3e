"""Uploaded files, served by the application from Django's storage (files or S3), so every
image `url` answers in every configuration (SPEC §6). nginx serves the files of a shared
volume first (deploy/nginx.conf); this is the fallback and the only way with S3.

Names are unique and never rewritten (blog.images stores each upload under a new uuid), so
answers may be cached for a year, and a name's ETag is derived from the name alone.
"""

import hashlib
import mimetypes
import posixpath

from django.core.files.storage import default_storage
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseBase
from django.utils.http import parse_etags
from django.views.decorators.http import require_safe

CACHE_CONTROL = "public, max-age=31536000, immutable"
# Only what blog.images writes is served: nothing else in the storage is public.
PREFIX = "images/"


def _safe_name(name: str) -> str | None:
    """`name` as stored, or None for anything outside images/ (.., absolute, backslashes)."""
    if "\\" in name or "\x00" in name or name != posixpath.normpath(name):
        return None
    if not name.startswith(PREFIX) or any(part in ("", ".", "..") for part in name.split("/")):
        return None
    return name


def _not_found() -> HttpResponse:
    return HttpResponse("Not found.\n", status=404, content_type="text/plain; charset=utf-8")


@require_safe
def media(request: HttpRequest, name: str) -> HttpResponseBase:
    stored = _safe_name(name)
    if stored is None:
        return _not_found()
    etag = '"' + hashlib.blake2b(stored.encode(), digest_size=12).hexdigest() + '"'
    if etag in parse_etags(request.headers.get("If-None-Match", "")):
        response: HttpResponseBase = HttpResponse(status=304)
    else:
        try:
            handle = default_storage.open(stored, "rb")
        except (FileNotFoundError, OSError):
            return _not_found()
        content_type = mimetypes.guess_type(stored)[0] or "application/octet-stream"
        # FileResponse streams in blocks and sets Content-Length from the storage's size.
        response = FileResponse(handle, content_type=content_type)
    response["ETag"] = etag
    response["Cache-Control"] = CACHE_CONTROL
    response["X-Content-Type-Options"] = "nosniff"
    return response
