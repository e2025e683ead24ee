// A hyphal JavaScript handler: the three endpoints zigttp reports, plus module state and an
// async endpoint.
//
//   hyphal serve examples/handler.js -p 3000 -n 8 -m 8m
//   curl localhost:3000/api/health
//   curl -d '{"hello": "world"}' localhost:3000/api/echo
//   curl localhost:3000/api/greet/ada
//   curl localhost:3000/api/count      (state is per warm context: -n 1 to see one counter)
//   curl localhost:3000/api/later      (an async handler awaiting a timer)

let visits = 0;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function handler(request) {
  const path = request.path;
  if (path === "/api/health") return Response.json({ status: "ok" });
  if (path === "/api/echo" && request.method === "POST") return Response.json(request.json());
  if (path.startsWith("/api/greet/")) {
    return Response.json({ greeting: `Hello, ${path.slice("/api/greet/".length)}!` });
  }
  if (path === "/api/count") return Response.json({ visits: ++visits });
  if (path === "/api/later") {
    await sleep(50);
    return Response.text("waited 50 ms\n");
  }
  return Response.json({ error: "not found", path }, { status: 404 });
}
