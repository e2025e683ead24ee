"""Sans-IO HTTP/1.1 request parsing with limits, around httptools (llhttp).

Theory of operation
-------------------
:class:`RequestParser` takes bytes (:meth:`feed`) and produces complete :class:`Request`
objects in :attr:`completed`, in arrival order (pipelining). It does no I/O and keeps no clock;
the connection adapter reads three plain attributes after each feed:

* ``completed`` -- requests ready to dispatch;
* ``phase`` -- ``IDLE`` (between requests), ``HEAD`` (request line/headers arriving) or
  ``BODY``; the adapter's timeout sweep watches it for the 408 and keep-alive timeouts;
* ``continue_wanted`` -- the current request sent ``Expect: 100-continue`` and its body is
  acceptable, so the adapter may answer ``100 Continue``.

A breach raises :class:`ProtocolError` carrying the status to answer with; the connection must
then be closed (the byte stream can no longer be trusted). llhttp already rejects malformed
syntax, bad chunk sizes and most smuggling shapes; this module adds the limits and refuses, to be
safe, any Transfer-Encoding other than exactly ``chunked`` (llhttp itself refuses Content-Length
together with Transfer-Encoding, a repeated, signed or non-numeric Content-Length, and a
repeated Transfer-Encoding).

The plain requests that make up nearly all traffic take a shortcut: ``hyphal.http._speedups``
(C) builds them straight from the bytes while the stream sits at a message boundary, and hands
the first byte it is not sure about, with everything after it, to the full parser above (see
``_speedups.c`` for the exact subset it accepts). Requests come out identical either way.
``HYPHAL_PURE_PYTHON=1`` (or a build without a compiler) leaves only the full parser.
"""

from __future__ import annotations

from collections import deque
from functools import lru_cache
from typing import Any

import httptools

from hyphal._core.errors import HyphalError
from hyphal.http._config import Limits
from hyphal.http._native import speedups as _speedups
from hyphal.http._request import Request

__all__ = ["BODY", "HEAD", "IDLE", "ProtocolError", "RequestParser"]

IDLE, HEAD, BODY = 0, 1, 2

_METHODS = {m.encode(): m for m in
            ("GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH", "TRACE", "CONNECT")}


class ProtocolError(HyphalError):
    """The client broke the protocol or a limit; answer ``status`` and close the connection."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"{status}: {reason}")
        self.status = status
        self.reason = reason


class RequestParser:
    """Bytes in, :class:`Request` objects out, limits enforced (see the module docstring)."""

    __slots__ = ("_append", "_body", "_body_size", "_clean", "_connection", "_error",
                 "_feed_data", "_head_fed", "_headers", "_length_digits", "_limits", "_max_head",
                 "_parser", "_scan", "_url", "completed", "continue_wanted", "messages", "phase",
                 "upgrade")

    def __new__(cls, limits: Limits, *, fast: bool = True) -> RequestParser:
        if cls is RequestParser and fast and _speedups is not None:
            cls = _ScanningParser
        return object.__new__(cls)

    def __init__(self, limits: Limits, *, fast: bool = True) -> None:
        """``fast=False`` leaves out the C scanner (the pure-Python twin)."""
        self._limits = limits
        self._scan: Any = None
        self._clean = False
        self._max_head = limits.max_request_line + limits.max_header_bytes + 1024
        self._length_digits = len(str(limits.max_body))  # shorter lengths cannot exceed it
        self._parser = httptools.HttpRequestParser(self)
        self._feed_data = self._parser.feed_data
        self.messages = 0
        self.completed: deque[Request] = deque()
        self._append = self.completed.append
        self.phase = IDLE
        self.continue_wanted = False
        self.upgrade = False
        self._error: ProtocolError | None = None
        self._url = b""
        self._headers: list[tuple[bytes, bytes]] = []
        self._body: list[bytes] = []
        self._body_size = 0
        self._head_fed = 0
        self._connection = False

    def feed(self, data: bytes) -> None:
        """Parse ``data``; completed requests are appended to :attr:`completed`.

        Raises :class:`ProtocolError` (status 400, 413, 414, 417 or 431) on a breach; requests
        completed before the breach stay in :attr:`completed` and should be answered first."""
        if self._clean:  # at a message boundary: the C scanner takes the plain requests
            completed = self.completed
            before = len(completed)
            used = self._scan(data, self._append)
            self.messages += len(completed) - before
            if used == len(data):
                return
            if used:
                data = data[used:]
            self._clean = False
        started = self.phase
        if started == HEAD:
            self._head_fed += len(data)
        before = self.messages
        try:
            self._feed_data(data)
        except httptools.HttpParserUpgrade:
            self.upgrade = True
            self._clean = False  # the stream after an upgrade is not HTTP/1.1 any more
        except httptools.HttpParserError as exc:
            self._clean = False  # never trusted again
            error = self._error
            if error is None:
                error = ProtocolError(400, f"malformed request: {exc}")
            self._error = None
            raise error from None
        if self.phase == HEAD:
            if started == IDLE and self.messages == before:
                self._head_fed = len(data)  # the whole read belongs to this request's head
            if self._head_fed > self._max_head:  # an unterminated header line (the URL is
                raise ProtocolError(431, "request header fields too large")  # capped in on_url)

    def _fail(self, status: int, reason: str) -> None:
        self._error = ProtocolError(status, reason)
        raise self._error

    # -- httptools callbacks -------------------------------------------------------------------

    # (no on_message_begin: one callback less per request; the head phase starts with the
    # first URL bytes, so a client stalling inside the method name meets the idle timeout)

    def on_url(self, url: bytes) -> None:
        self.phase = HEAD
        url = self._url + url if self._url else url
        self._url = url
        if len(url) > self._limits.max_request_line:
            self._fail(414, "request line too long")

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name, value))

    def on_headers_complete(self) -> None:
        # llhttp has already refused duplicate, signed or non-numeric Content-Length and
        # Content-Length together with Transfer-Encoding; what is left is ours.
        headers = self._headers
        limits = self._limits
        if len(headers) > limits.max_headers:
            self._fail(431, "too many request header fields")
        size = 4 * len(headers)
        content_length: bytes | None = None
        te: bytes | None = None
        expect: bytes | None = None
        for name, value in headers:
            n = len(name)
            size += n + len(value)
            if n in _SPECIAL:
                lower = name.lower()
                if lower == b"content-length":
                    content_length = value
                elif lower == b"transfer-encoding":
                    te = value
                elif lower == b"connection":
                    self._connection = True
                elif lower == b"expect":
                    expect = value
        if size > limits.max_header_bytes:
            self._fail(431, "request header fields too large")
        if te is not None and te.strip().lower() != b"chunked":
            self._fail(400, "unsupported Transfer-Encoding (only chunked is accepted)")
        if (content_length is not None and len(content_length) >= self._length_digits
                and int(content_length) > limits.max_body):
            self._fail(413, "request body too large")
        self.phase = BODY
        if expect is not None and (content_length not in (None, b"0") or te is not None):
            if expect.strip().lower() != b"100-continue":
                self._fail(417, "unsupported Expect")
            self.continue_wanted = True

    def on_body(self, body: bytes) -> None:
        self._body_size += len(body)
        if self._body_size > self._limits.max_body:
            self._fail(413, "request body too large")
        self._body.append(body)
        self.continue_wanted = False

    def on_message_complete(self) -> None:
        parser = self._parser
        body = self._body
        method = parser.get_method()
        keep_alive = parser.should_keep_alive()
        request = _new_request(Request)
        request.method = _METHODS.get(method) or method.decode("latin-1")
        request.raw_url = self._url
        request.raw_headers = self._headers
        request.body = (body[0] if len(body) == 1 else b"".join(body)) if body else b""
        # the version only changes the answer when keep-alive was negotiated by header (1.0)
        # or refused; get_http_version() costs more than the rest of this function
        request.http_version = (parser.get_http_version() if self._connection or not keep_alive
                                else "1.1")
        request.keep_alive = keep_alive
        request._path = request._query = request._headers = None
        self.completed.append(request)
        self.messages += 1
        self.phase = IDLE
        self._url = b""
        self._headers = []
        self._head_fed = 0
        if body:
            self._body = []
            self._body_size = 0
        if self._connection:
            self._connection = False
        if self.continue_wanted:
            self.continue_wanted = False
        if self._scan is not None:
            self._clean = keep_alive


class _ScanningParser(RequestParser):
    """The parser with the C scanner in front (see the module docstring)."""

    __slots__ = ()

    def __init__(self, limits: Limits, *, fast: bool = True) -> None:
        super().__init__(limits)
        self._scan = _scanner(limits).scan
        self._clean = True

    def on_message_begin(self) -> None:
        # llhttp saw the first byte of another message: the stream is mid-message until
        # on_message_complete, so the scanner must wait
        self._clean = False


@lru_cache(maxsize=16)
def _scanner(limits: Limits) -> Any:
    return _speedups.Scanner(Request, limits.max_request_line, limits.max_headers,
                             limits.max_header_bytes, limits.max_body)


_new_request = object.__new__
_SPECIAL = frozenset({6, 10, 14, 17})  # len() of expect, connection, content-length, t-e
