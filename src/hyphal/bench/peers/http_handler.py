"""The bench's hyphal Python handler (same as examples/handler.py)."""

from hyphal.http import Request, Response

HEALTH = {"status": "ok"}


def handler(request: Request) -> Response:
    path = request.path
    if path == "/api/health":
        return Response.json(HEALTH)
    if path == "/api/echo" and request.method == "POST":
        return Response.json(request.json())
    if path.startswith("/api/greet/"):
        return Response.json({"greeting": f"Hello, {path[11:]}!"})
    return Response.json({"error": "not found"}, 404)
