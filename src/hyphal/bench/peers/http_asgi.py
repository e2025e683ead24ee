"""A raw ASGI app (no framework) with the three bench endpoints, for uvicorn and granian."""

from typing import Any

import orjson

_JSON = [(b"content-type", b"application/json")]
_HEALTH = orjson.dumps({"status": "ok"})


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    path = scope["path"]
    status = 200
    if path == "/api/health":
        body = _HEALTH
    elif path == "/api/echo" and scope["method"] == "POST":
        chunks = []
        more = True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = orjson.dumps(orjson.loads(b"".join(chunks)))
    elif path.startswith("/api/greet/"):
        body = orjson.dumps({"greeting": f"Hello, {path[11:]}!"})
    else:
        status, body = 404, orjson.dumps({"error": "not found"})
    await send({"type": "http.response.start", "status": status, "headers": _JSON})
    await send({"type": "http.response.body", "body": body})
