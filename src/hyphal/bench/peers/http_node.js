// The three bench endpoints on node's http module.
const http = require("http");
const port = Number(process.argv[2] || 3000);
const health = JSON.stringify({ status: "ok" });
http.createServer((req, res) => {
  const url = req.url;
  if (url === "/api/health") {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(health);
  } else if (url === "/api/echo" && req.method === "POST") {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const body = JSON.stringify(JSON.parse(Buffer.concat(chunks).toString()));
      res.writeHead(200, { "content-type": "application/json" });
      res.end(body);
    });
  } else if (url.startsWith("/api/greet/")) {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ greeting: `Hello, ${url.slice(11)}!` }));
  } else {
    res.writeHead(404, { "content-type": "application/json" });
    res.end(JSON.stringify({ error: "not found" }));
  }
}).listen(port, "127.0.0.1");
