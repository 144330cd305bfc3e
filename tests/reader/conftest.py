import pytest
from django.core.cache import caches

from liveblog.blog import selectors


@pytest.fixture(autouse=True)
def _brand_cached(db):
    """The site's brand as production has it: read once and kept in the shared cache, not
    once per page (the query counts below count a page's own queries). Forgotten after each
    test, whose database changes are rolled back."""
    caches["default"].delete(selectors.BRAND_CACHE_KEY)
    selectors.site_brand()
    yield
    caches["default"].delete(selectors.BRAND_CACHE_KEY)
