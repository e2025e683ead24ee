"""The three bench endpoints as a granian RSGI app."""

from typing import Any

import orjson

_JSON = [("content-type", "application/json")]
_HEALTH = orjson.dumps({"status": "ok"})


async def app(scope: Any, proto: Any) -> None:
    path = scope.path
    if path == "/api/health":
        proto.response_bytes(200, _JSON, _HEALTH)
    elif path == "/api/echo" and scope.method == "POST":
        body = await proto()
        proto.response_bytes(200, _JSON, orjson.dumps(orjson.loads(body)))
    elif path.startswith("/api/greet/"):
        proto.response_bytes(200, _JSON, orjson.dumps({"greeting": f"Hello, {path[11:]}!"}))
    else:
        proto.response_bytes(404, _JSON, orjson.dumps({"error": "not found"}))
