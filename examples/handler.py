"""A hyphal Python handler: the three endpoints zigttp reports, plus module state and a
streamed response.

    hyphal serve examples/handler.py -p 3000
    curl localhost:3000/api/health
    curl -d '{"hello": "world"}' localhost:3000/api/echo
    curl localhost:3000/api/greet/ada
    curl localhost:3000/api/count          # module state lives as long as the process
    curl -N localhost:3000/api/ticks       # a chunked body produced by an async generator
"""

import asyncio

from hyphal.http import Request, Response

visits = 0


async def ticks(n: int):
    for i in range(n):
        yield f"tick {i}\n"
        await asyncio.sleep(0.1)


def handler(request: Request) -> Response:
    global visits
    path = request.path
    if path == "/api/health":
        return Response.json({"status": "ok"})
    if path == "/api/echo" and request.method == "POST":
        return Response.json(request.json())
    if path.startswith("/api/greet/"):
        return Response.json({"greeting": f"Hello, {path[len('/api/greet/'):]}!"})
    if path == "/api/count":
        visits += 1
        return Response.json({"visits": visits})
    if path == "/api/ticks":
        return Response.stream(ticks(int(request.query.get("n", "5"))),
                               content_type="text/plain")
    return Response.json({"error": "not found", "path": path}, 404)
