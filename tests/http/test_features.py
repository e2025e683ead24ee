"""Static files, CORS, the Prometheus endpoint and access logs."""

from __future__ import annotations

import json
import logging
import os

import pytest

from hyphal.http import Request, Response

from ._client import Conn, request, serving


def fallback(req: Request) -> Response:
    return Response.text("from handler")


@pytest.fixture
def site(tmp_path):
    root = tmp_path / "site"
    root.mkdir()
    (root / "index.html").write_text("<h1>home</h1>")
    (root / "app.js").write_text("console.log(1)")
    (root / "big.bin").write_bytes(os.urandom(300_000))
    (root / "sub").mkdir()
    (root / "sub" / "a b.txt").write_text("spaced")
    (tmp_path / "secret.txt").write_text("top secret")
    os.symlink(tmp_path / "secret.txt", root / "escape.txt")
    return root


async def test_static_files_content_types_and_fallthrough(site):
    async with serving(fallback, static_dir=str(site)) as server:
        home = await request(server.port, b"GET / HTTP/1.1\r\n\r\n")
        assert home.body == b"<h1>home</h1>"
        assert home.headers["content-type"] == "text/html; charset=utf-8"
        js = await request(server.port, b"GET /app.js HTTP/1.1\r\n\r\n")
        assert js.headers["content-type"].startswith(("application/javascript", "text/javascript"))
        spaced = await request(server.port, b"GET /sub/a%20b.txt HTTP/1.1\r\n\r\n")
        assert spaced.body == b"spaced"
        missing = await request(server.port, b"GET /api/x HTTP/1.1\r\n\r\n")
        assert missing.body == b"from handler"


async def test_static_etag_and_last_modified_give_304(site):
    async with serving(fallback, static_dir=str(site)) as server:
        first = await request(server.port, b"GET /app.js HTTP/1.1\r\n\r\n")
        etag, modified = first.headers["etag"], first.headers["last-modified"]
        again = await request(server.port, f"GET /app.js HTTP/1.1\r\nIf-None-Match: {etag}"
                              "\r\n\r\n".encode())
        assert again.status == 304
        assert again.body == b""
        since = await request(server.port, f"GET /app.js HTTP/1.1\r\nIf-Modified-Since: "
                              f"{modified}\r\n\r\n".encode())
        assert since.status == 304


async def test_static_large_file_is_streamed_with_length(site):
    expected = (site / "big.bin").read_bytes()
    async with serving(fallback, static_dir=str(site)) as server:
        conn = await Conn.open(server.port)
        await conn.send(b"GET /big.bin HTTP/1.1\r\n\r\nGET /app.js HTTP/1.1\r\n\r\n")
        big = await conn.reply()
        assert big.headers["content-length"] == str(len(expected))
        assert big.body == expected
        assert (await conn.reply()).body == b"console.log(1)"  # keep-alive continues


@pytest.mark.parametrize("path", [
    b"/../secret.txt", b"/%2e%2e/secret.txt", b"/sub/..%2f..%2fsecret.txt",
    b"/%2E%2E%2Fsecret.txt", b"/escape.txt", b"/sub/%00", b"/..%5csecret.txt",
])
async def test_static_refuses_traversal(site, path):
    async with serving(fallback, static_dir=str(site)) as server:
        reply = await request(server.port, b"GET " + path + b" HTTP/1.1\r\n\r\n")
    assert b"top secret" not in reply.body
    assert reply.status == 404 or reply.body == b"from handler"


def test_static_lru_cache_stays_under_its_caps(tmp_path):
    from hyphal.http._static import StaticFiles

    for i in range(10):
        (tmp_path / f"f{i}.txt").write_bytes(b"x" * 1000)
    static = StaticFiles(str(tmp_path), cache_bytes=3500, file_bytes=1000)
    for i in range(10):
        req = Request("GET", f"/f{i}.txt".encode(), [])
        assert static.lookup(req).body == b"x" * 1000
    assert static.cached_bytes <= 3500
    static.lookup(Request("GET", b"/f9.txt", []))
    assert static.hits == 1  # the most recent files stayed cached
    static.lookup(Request("GET", b"/f0.txt", []))
    assert static.misses == 11  # the oldest was evicted


async def test_cors_preflight_and_headers():
    async with serving(fallback, cors=True, cors_origins=("https://ok.example",)) as server:
        pre = await request(server.port, b"OPTIONS /api HTTP/1.1\r\nOrigin: https://ok.example"
                            b"\r\nAccess-Control-Request-Method: POST\r\n"
                            b"Access-Control-Request-Headers: content-type\r\n\r\n")
        assert pre.status == 204
        assert pre.headers["access-control-allow-origin"] == "https://ok.example"
        assert "POST" in pre.headers["access-control-allow-methods"]
        assert pre.headers["access-control-allow-headers"] == "content-type"
        normal = await request(server.port, b"GET / HTTP/1.1\r\nOrigin: https://ok.example"
                               b"\r\n\r\n")
        assert normal.headers["access-control-allow-origin"] == "https://ok.example"
        other = await request(server.port, b"GET / HTTP/1.1\r\nOrigin: https://evil.example"
                              b"\r\n\r\n")
        assert "access-control-allow-origin" not in other.headers
        denied = await request(server.port, b"OPTIONS / HTTP/1.1\r\nOrigin: https://evil.ex"
                               b"\r\nAccess-Control-Request-Method: GET\r\n\r\n")
        assert denied.status == 403


async def test_cors_any_origin():
    async with serving(fallback, cors=True) as server:
        reply = await request(server.port, b"GET / HTTP/1.1\r\nOrigin: https://a.b\r\n\r\n")
    assert reply.headers["access-control-allow-origin"] == "*"


async def test_prometheus_metrics_endpoint():
    async with serving(fallback, metrics_path="/metrics", pool_size=4) as server:
        conn = await Conn.open(server.port)
        await conn.send(b"GET /x HTTP/1.1\r\n\r\n" * 5)
        for _ in range(5):
            await conn.reply()
        await conn.send(b"GET /metrics HTTP/1.1\r\n\r\n")
        reply = await conn.reply()
    text = reply.body.decode()
    assert reply.headers["content-type"].startswith("text/plain")
    assert "hyphal_http_pool_requests_total 5.0" in text
    assert "hyphal_http_pool_size 4.0" in text
    assert "hyphal_http_pool_exhausted_total 0.0" in text


@pytest.mark.parametrize("fmt", ["plain", "json"])
async def test_access_log(caplog, fmt):
    caplog.set_level(logging.INFO, "hyphal.http.access")
    async with serving(fallback, quiet=False, log_format=fmt) as server:
        await request(server.port, b"GET /hello?x=1 HTTP/1.1\r\n\r\n")
        await request(server.port, b"BROKEN\r\n\r\n")
    lines = [r.getMessage() for r in caplog.records if r.name == "hyphal.http.access"]
    assert len(lines) == 2
    if fmt == "plain":
        assert lines[0] == '127.0.0.1 - "GET /hello?x=1 HTTP/1.1" 200 12'
        assert lines[1].endswith(" 400 12")
    else:
        record = json.loads(lines[0])
        assert record["url"] == "/hello?x=1" and record["status"] == 200
        assert json.loads(lines[1])["status"] == 400
