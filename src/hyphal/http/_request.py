"""The :class:`Request` a handler receives.

The parser fills the raw fields (method, URL and header bytes, body); everything a handler may
not look at -- the decoded path, the query dict, the header dict -- is computed on first access
and cached, so a handler that only reads ``path`` pays for nothing else.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, unquote

import orjson

__all__ = ["Request"]


class Request:
    """One HTTP request: ``method``, ``url`` (path and query as sent), ``path`` (percent-decoded),
    ``query`` (``dict[str, str]``, last value wins), ``headers`` (``dict[str, str]`` with
    lower-case names; repeated headers joined with ``", "``), ``body`` (``bytes``),
    ``http_version`` and the helpers :meth:`json`, :meth:`text` and :meth:`header`."""

    __slots__ = ("_headers", "_path", "_query", "body", "http_version", "keep_alive", "method",
                 "raw_headers", "raw_url")

    def __init__(self, method: str, raw_url: bytes, raw_headers: list[tuple[bytes, bytes]],
                 body: bytes = b"", http_version: str = "1.1", keep_alive: bool = True) -> None:
        self.method = method
        self.raw_url = raw_url
        self.raw_headers = raw_headers
        self.body = body
        self.http_version = http_version
        self.keep_alive = keep_alive
        self._path: str | None = None
        self._query: dict[str, str] | None = None
        self._headers: dict[str, str] | None = None

    @property
    def url(self) -> str:
        """The request target exactly as sent (``/path?query``)."""
        return self.raw_url.decode("latin-1")

    @property
    def path(self) -> str:
        """The path, percent-decoded (UTF-8), without the query string."""
        path = self._path
        if path is None:
            raw = self.raw_url.partition(b"?")[0]
            if raw[:1] != b"/":  # absolute-form (http://host/p) or asterisk-form (*)
                _, sep, rest = raw.partition(b"://")
                raw = (b"/" + rest.partition(b"/")[2]) if sep else raw
            path = raw.decode("latin-1")
            if "%" in path:
                path = unquote(path, errors="surrogateescape")
            self._path = path
        return path

    @property
    def query_string(self) -> str:
        return self.raw_url.partition(b"?")[2].decode("latin-1")

    @property
    def query(self) -> dict[str, str]:
        """Query parameters (``?a=1&b=2`` -> ``{"a": "1", "b": "2"}``)."""
        query = self._query
        if query is None:
            qs = self.query_string
            query = self._query = dict(parse_qsl(qs, keep_blank_values=True)) if qs else {}
        return query

    @property
    def headers(self) -> dict[str, str]:
        """Headers by lower-case name."""
        headers = self._headers
        if headers is None:
            headers = {}
            for name, value in self.raw_headers:
                key = name.decode("latin-1").lower()
                text = value.decode("latin-1")
                headers[key] = f"{headers[key]}, {text}" if key in headers else text
            self._headers = headers
        return headers

    def header(self, name: str, default: str | None = None) -> str | None:
        """One header by case-insensitive name."""
        return self.headers.get(name.lower(), default)

    def header_list(self) -> list[tuple[str, str]]:
        """Headers as ``(lower-case name, value)`` pairs in arrival order."""
        return [(n.decode("latin-1").lower(), v.decode("latin-1")) for n, v in self.raw_headers]

    def text(self) -> str:
        """The body decoded as UTF-8 (invalid bytes replaced)."""
        return self.body.decode("utf-8", "replace")

    def json(self) -> Any:
        """The body parsed as JSON. Raises ``ValueError`` (``orjson.JSONDecodeError``) on bad
        JSON."""
        return orjson.loads(self.body)

    def __repr__(self) -> str:
        return f"<Request {self.method} {self.url}>"
