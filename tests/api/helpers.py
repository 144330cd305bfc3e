"""Helpers for the API tests: a JSON client and URL building."""

import json
from typing import Any

from django.test import Client

NO_BODY = object()


class Api:
    """A test client that speaks JSON and, given a token, Bearer auth."""

    def __init__(self, client: Client | None = None, token: str | None = None) -> None:
        self.client = client or Client()
        self.token = token

    def call(self, method: str, path: str, data: Any = NO_BODY, **headers: str):
        if self.token:
            headers.setdefault("Authorization", f"Bearer {self.token}")
        kwargs: dict[str, Any] = {"headers": headers}
        if data is not NO_BODY:
            kwargs.update(data=json.dumps(data), content_type="application/json")
        return getattr(self.client, method)(path, **kwargs)

    def get(self, path: str, **headers: str):
        return self.call("get", path, **headers)

    def post(self, path: str, data: Any = NO_BODY, **headers: str):
        return self.call("post", path, data, **headers)

    def patch(self, path: str, data: Any = NO_BODY, **headers: str):
        return self.call("patch", path, data, **headers)

    def delete(self, path: str, **headers: str):
        return self.call("delete", path, **headers)


def url(*parts: object) -> str:
    return "/api/v1/events/" + "".join(f"{part}/" for part in parts)
