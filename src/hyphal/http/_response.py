"""Responses: the :class:`Response` handlers return, and its encoding into HTTP/1.1 bytes.

Theory of operation
-------------------
Everything that does not change per request is encoded once: the status lines for every
status code, the ``content-type`` line of the common media types, and the user's extra headers
(validated against CR/LF injection when the ``Response`` is built). Per request the server only
formats ``content-length`` and picks the cached ``date``/``server`` block, so a response head
is a single ``bytes % (...)`` and the head and body leave in one ``writelines``.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Iterable, Mapping
from http import HTTPStatus
from typing import Any

import orjson

__all__ = ["HeadersInput", "Response", "ResponseData", "status_line"]

HeadersInput = Mapping[str, str] | Iterable[tuple[str, str]] | None
ResponseData = tuple[int, list[tuple[str, str]], bytes]
"""What a JS handler context returns: status, headers, body."""

_STATUS_LINES: dict[int, bytes] = {
    int(s): f"HTTP/1.1 {int(s)} {s.phrase}\r\n".encode("ascii") for s in HTTPStatus
}


def status_line(status: int) -> bytes:
    """The encoded ``HTTP/1.1 <status> <reason>`` line, cached for every known status.

    Raises ``ValueError`` for a status outside 100-599."""
    line = _STATUS_LINES.get(status)
    if line is None:
        if not 100 <= status <= 599:
            raise ValueError(f"HTTP status must be within 100-599, got {status}")
        line = _STATUS_LINES[status] = f"HTTP/1.1 {status} Unknown\r\n".encode("ascii")
    return line


_TEXT = b"content-type: text/plain; charset=utf-8\r\n"
_HTML = b"content-type: text/html; charset=utf-8\r\n"
_JSON = b"content-type: application/json\r\n"
_OCTETS = b"content-type: application/octet-stream\r\n"
_FORBIDDEN = frozenset(b"\r\n\0")
_json_dumps = orjson.dumps
_new = object.__new__
_DATA_HEADS: dict[tuple[tuple[str, str], ...], bytes] = {}
_RAW_HEADS: dict[tuple[tuple[bytes, bytes], ...], bytes] = {}
_SERVER_MANAGED = frozenset({"content-length", "transfer-encoding", "connection", "date"})


def encode_headers(headers: HeadersInput) -> bytes:
    """``name: value\\r\\n`` lines for ``headers``, refusing CR, LF and NUL (header injection).

    Raises ``ValueError`` naming the offending header."""
    if not headers:
        return b""
    items = headers.items() if isinstance(headers, Mapping) else headers
    out = []
    for name, value in items:
        line = f"{name}: {value}\r\n".encode("latin-1")
        if _FORBIDDEN.intersection(line[:-2]) or not name or ":" in name or " " in name:
            raise ValueError(f"invalid HTTP header {name!r}: {value!r} (CR, LF, NUL, ':' or "
                             "space in a name are not allowed)")
        out.append(line)
    return b"".join(out)


class Response:
    """An HTTP response a Python handler returns.

    ``Response(body, status=200, headers=None, content_type=None)``; ``body`` is ``bytes``,
    ``str`` (sent as UTF-8) or an async iterable of ``bytes``/``str`` chunks (streamed with
    chunked transfer encoding). Shortcuts: :meth:`json`, :meth:`text`, :meth:`html`,
    :meth:`redirect`, :meth:`stream`. ``content-length``, ``date``, ``server`` and
    ``connection`` are set by the server.

    Raises ``ValueError`` for an invalid status or a header containing CR/LF/NUL.
    """

    __slots__ = ("_head", "body", "status", "stream_body")

    def __init__(self, body: bytes | str | AsyncIterable[bytes | str] | None = b"",
                 status: int = 200, headers: HeadersInput = None, *,
                 content_type: str | None = None) -> None:
        status_line(status)
        if headers is not None and not isinstance(headers, Mapping):
            headers = list(headers)
        self.status = status
        self.stream_body: AsyncIterable[bytes | str] | None = None
        if body is None:
            body = b""
        if isinstance(body, str):
            self.body = body.encode()
            ctype = _TEXT
        elif isinstance(body, (bytes, bytearray, memoryview)):
            self.body = bytes(body)
            ctype = _OCTETS
        elif hasattr(body, "__aiter__"):
            self.body = b""
            self.stream_body = body
            ctype = _OCTETS
        else:
            raise TypeError(f"Response body must be bytes, str or an async iterable, "
                            f"not {type(body).__name__}; use Response.json(...) for objects")
        if content_type is not None:
            ctype = encode_headers([("content-type", content_type)])
        if headers and _has(headers, "content-type"):
            ctype = b""
        self._head = ctype + encode_headers(headers) if headers else ctype

    @classmethod
    def _fast(cls, body: bytes, status: int, head: bytes) -> Response:
        self = _new(cls)
        self.status = status
        self.body = body
        self.stream_body = None
        self._head = head
        return self

    @classmethod
    def json(cls, data: Any, status: int = 200, headers: HeadersInput = None) -> Response:
        """``data`` serialised with orjson as ``application/json``.

        Raises ``TypeError`` (orjson's) for values JSON cannot hold."""
        if headers is None and status in _STATUS_LINES:  # the hot path: inlined _fast
            self = _new(cls)
            self.status = status
            self.body = _json_dumps(data)
            self.stream_body = None
            self._head = _JSON
            return self
        return cls(_json_dumps(data), status, headers, content_type="application/json")

    @classmethod
    def text(cls, text: str, status: int = 200, headers: HeadersInput = None) -> Response:
        """``text`` as ``text/plain; charset=utf-8``."""
        if headers is None and status in _STATUS_LINES:
            return cls._fast(text.encode(), status, _TEXT)
        return cls(text.encode(), status, headers, content_type="text/plain; charset=utf-8")

    @classmethod
    def html(cls, html: str, status: int = 200, headers: HeadersInput = None) -> Response:
        """``html`` as ``text/html; charset=utf-8``."""
        if headers is None and status in _STATUS_LINES:
            return cls._fast(html.encode(), status, _HTML)
        return cls(html.encode(), status, headers, content_type="text/html; charset=utf-8")

    @classmethod
    def redirect(cls, location: str, status: int = 302) -> Response:
        """A redirect to ``location`` (302 by default; 301, 303, 307, 308 also fit)."""
        return cls(b"", status, [("location", location)])

    @classmethod
    def stream(cls, chunks: AsyncIterable[bytes | str], status: int = 200,
               headers: HeadersInput = None, *,
               content_type: str = "application/octet-stream") -> Response:
        """A body produced by an async iterator, sent chunk by chunk as it is produced."""
        return cls(chunks, status, headers, content_type=content_type)

    @classmethod
    def from_data(cls, data: ResponseData) -> Response:
        """A response from a JS handler's ``(status, headers, body)``.

        The encoded header block is cached per distinct header list (JS handlers mostly return
        a handful of shapes), so the common case validates and encodes nothing.
        Raises ``ValueError``/``TypeError`` for an invalid status, header or body."""
        status, headers, raw_body = data
        body: Any = raw_body
        key = tuple(headers)
        head = _DATA_HEADS.get(key)
        if head is None:
            kept = [(k, v) for k, v in headers if k.lower() not in _SERVER_MANAGED]
            head = encode_headers(kept)
            if not _has(kept, "content-type"):
                head = _OCTETS + head
            if len(_DATA_HEADS) < 1024:
                _DATA_HEADS[key] = head
        if status not in _STATUS_LINES:
            status_line(status)
        if type(body) is not bytes:
            body = body.encode() if isinstance(body, str) else bytes(body)
        self = _new(cls)  # inlined _fast: one call less per JS response
        self.status = status
        self.body = body
        self.stream_body = None
        self._head = head
        return self

    @classmethod
    def from_raw(cls, status: int, headers: Iterable[tuple[bytes, bytes]], body: bytes) -> Response:
        """A response from byte-string header pairs (what ASGI apps send), with the encoded
        header block cached per distinct header list like :meth:`from_data`.
        Raises ``ValueError`` for an invalid status or header."""
        key = tuple(headers)
        try:
            head = _RAW_HEADS.get(key)
        except TypeError:  # [name, value] lists: ASGI allows any two-item iterable
            key = tuple((k, v) for k, v in key)
            head = _RAW_HEADS.get(key)
        if head is None:
            head = cls.from_data((status, [(k.decode("latin-1"), v.decode("latin-1"))
                                           for k, v in key], b""))._head
            if len(_RAW_HEADS) < 1024:
                _RAW_HEADS[key] = head
        if status not in _STATUS_LINES:
            status_line(status)
        return cls._fast(body, status, head)

    def __repr__(self) -> str:
        size = "stream" if self.stream_body is not None else f"{len(self.body)} bytes"
        return f"<Response {self.status} {size}>"


def _has(headers: Mapping[str, str] | Iterable[tuple[str, str]], name: str) -> bool:
    names = headers.keys() if isinstance(headers, Mapping) else (k for k, _ in headers)
    return any(k.lower() == name for k in names)

