"""fetch, Request/Response/Headers and AbortController against a real local HTTP server."""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from hyphal.js.handler import load_handler
from hyphal.js.runtime import Runtime
from hyphal.testing import free_port


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for k, v in (headers or {"Content-Type": "application/json"}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path == "/json":
            self._send(200, b'{"hello": "world", "n": [1, 2]}', {"Content-Type": "application/json",
                                                                 "X-Test": "yes"})
        elif self.path == "/redirect":
            self._send(302, b"", {"Location": "/json"})
        elif self.path == "/slow":
            time.sleep(1.0)
            self._send(200, b"late")
        elif self.path == "/bytes":
            self._send(200, bytes(range(256)), {"Content-Type": "application/octet-stream"})
        else:
            self._send(404, b"missing", {"Content-Type": "text/plain"})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", 0))
        body = self.rfile.read(length).decode()
        echo = {"method": "POST", "body": body, "type": self.headers.get("Content-Type"),
                "custom": self.headers.get("X-Custom")}
        self._send(201, json.dumps(echo).encode())


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        pass  # aborted fetches leave broken pipes behind; that is the point of those tests


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    port = free_port()
    httpd = _Server(("127.0.0.1", port), _Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    httpd.shutdown()
    httpd.server_close()


async def run_js(source: str, engine: str, tmp_path: Path) -> tuple[int, str, str]:
    path = tmp_path / "fetch.mjs"
    path.write_text(source)
    out, err = io.StringIO(), io.StringIO()
    code = await Runtime(engine, stdout=out, stderr=err).run_file(str(path))  # type: ignore[arg-type]
    return code, out.getvalue(), err.getvalue()


async def test_fetch_get_post_redirect_and_errors(server: str, engine: str,
                                                  tmp_path: Path) -> None:
    source = f"""
const base = {json.dumps(server)};
const r = await fetch(base + "/json");
console.log(r.status, r.ok, r.statusText, r.headers.get("x-test"), await r.json());
const p = await fetch(base + "/echo", {{ method: "POST", body: JSON.stringify({{ a: 1 }}),
  headers: {{ "Content-Type": "application/json", "X-Custom": "c" }} }});
console.log(p.status, JSON.stringify(await p.json()));
const redirected = await fetch(base + "/redirect");
console.log(redirected.status, redirected.redirected, redirected.url.endsWith("/json"));
const missing = await fetch(new Request(base + "/nope"));
console.log(missing.status, missing.ok, await missing.text());
const bytes = new Uint8Array(await (await fetch(base + "/bytes")).arrayBuffer());
console.log(bytes.length, bytes[0], bytes[255]);
try {{ await fetch("http://127.0.0.1:1/"); }} catch (e) {{ console.log(e.name, e.message); }}
"""
    code, out, err = await run_js(source, engine, tmp_path)
    assert code == 0, err
    assert out == (
        "200 true OK yes { hello: 'world', n: [ 1, 2 ] }\n"
        '201 {"method":"POST","body":"{\\"a\\":1}","type":"application/json","custom":"c"}\n'
        "200 true true\n"
        "404 false missing\n"
        "256 0 255\n"
        "TypeError fetch failed\n")


async def test_abort_signal_timeout_cancels_a_slow_fetch(server: str, engine: str,
                                                         tmp_path: Path) -> None:
    source = f"""
const started = Date.now();
try {{
  await fetch({json.dumps(server + "/slow")}, {{ signal: AbortSignal.timeout(100) }});
}} catch (e) {{
  console.log(e.name, Date.now() - started < 900);
}}
const c = new AbortController();
const pending = fetch({json.dumps(server + "/slow")}, {{ signal: c.signal }});
setTimeout(() => c.abort(), 20);
await pending.catch((e) => console.log("manual", e.name));
"""
    code, out, err = await run_js(source, engine, tmp_path)
    assert code == 0, err
    assert out == "TimeoutError true\nmanual AbortError\n"


async def test_async_handler_awaits_fetch(server: str, engine: str, tmp_path: Path) -> None:
    path = tmp_path / "proxy.js"
    path.write_text("async function handler(req) {\n"
                    f"  const r = await fetch({json.dumps(server + '/json')});\n"
                    "  return Response.json({ upstream: (await r.json()).hello });\n}\n")
    ctx = load_handler(str(path), engine=engine)()  # type: ignore[arg-type]
    try:
        pending = ctx.call({"method": "GET", "url": "/", "path": "/", "query": {},
                            "headers": [], "body": b""})
        assert not isinstance(pending, tuple)
        assert await pending == (200, [("content-type", "application/json")],
                                 b'{"upstream":"world"}')
    finally:
        ctx.close()


def test_fetch_started_by_the_main_script_before_the_loop_exists(server: str, engine: str,
                                                                 tmp_path: Path) -> None:
    path = tmp_path / "main.js"
    path.write_text(f"fetch('{server}/json').then((r) => r.json())"
                    ".then((j) => console.log(j.hello));\nconsole.log('first');\n")
    out, err = io.StringIO(), io.StringIO()
    code = Runtime(engine, stdout=out, stderr=err).run_file_blocking(str(path))  # type: ignore[arg-type]
    assert (code, out.getvalue(), err.getvalue()) == (0, "first\nworld\n", "")
