"""What every page's base template shows of the site: its brand (name, logo, accent)."""

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from liveblog.http import caching


def brand(request: HttpRequest) -> dict[str, Any]:
    # Lazy: a template that never names it (the API's error pages) costs no cache read.
    return {"brand": SimpleLazyObject(lambda: caching.brand_for(request))}
