"""HTTP caching shared by the public pages and the API: conditional requests (ETag,
Last-Modified, 304) from an event's state, and the page render cache."""
