"""The three endpoints zigttp reports, as a hyphal Python handler.

    hyphal serve examples/handler.py -p 3000
    curl localhost:3000/api/health
    curl -d '{"hello": "world"}' localhost:3000/api/echo
    curl localhost:3000/api/greet/ada
"""

from hyphal.http import Response

HEALTH = {"status": "ok"}
requests_served = 0  # module state is shared by every request of this process


def handler(request):
    global requests_served
    requests_served += 1
    path = request.path
    if path == "/api/health":
        return Response.json(HEALTH)
    if path == "/api/echo" and request.method == "POST":
        return Response.json(request.json())
    if path.startswith("/api/greet/"):
        return Response.json({"greeting": f"Hello, {path[11:]}!"})
    return Response.json({"error": "not found"}, 404)
