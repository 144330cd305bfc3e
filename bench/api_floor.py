"""The floor of the API reads: a minimal ASGI app answering every request with the same bytes
and headers our server sent for one URL (API_FLOOR_FILE, a JSON file bench/api_wrk.py
writes), run under the same uvicorn command. What our server costs above it is the price of
finding the answer; the server, HTTP parsing and the socket writes are the same.
"""

import json
import os
from typing import Any

with open(os.environ["API_FLOOR_FILE"]) as source:
    _ANSWER = json.load(source)
_BODY = _ANSWER["body"].encode()
_HEADERS = [(k.encode(), v.encode()) for k, v in _ANSWER["headers"]]


async def application(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": _HEADERS})
    await send({"type": "http.response.body", "body": _BODY})
