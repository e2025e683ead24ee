// The bench's hyphal JS handler (same as examples/handler.js).
function handler(request) {
  const path = request.path;
  if (path === "/api/health") return Response.json({ status: "ok" });
  if (path === "/api/echo" && request.method === "POST") return Response.json(request.json());
  if (path.startsWith("/api/greet/")) return Response.json({ greeting: `Hello, ${path.slice(11)}!` });
  return Response.json({ error: "not found" }, { status: 404 });
}
