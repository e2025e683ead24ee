"""Static files (``--static DIR``) with an LRU cache, validators and traversal protection.

Theory of operation
-------------------
A request path is mapped to a file under the root only if, after percent-decoding once, it has
no ``..`` segment, backslash or NUL, and its real path (symlinks resolved) is still inside the
root's real path -- so ``/../x``, ``/%2e%2e/x`` and a symlink pointing out of DIR are all
refused (404: the client learns nothing about the filesystem). ``/`` and directories serve
``index.html``.

Files up to ``file_bytes`` are kept in an LRU cache whose total size stays under
``cache_bytes``; each entry is the ready response (body, content type, ``ETag`` and
``Last-Modified``) plus the file's ``(mtime, size)`` so a changed file is re-read. A request
whose ``If-None-Match`` / ``If-Modified-Since`` matches gets ``304``. Larger files are streamed
from disk (``sendfile`` when the event loop implements it) with a ``content-length``.
"""

from __future__ import annotations

import mimetypes
import os
from collections import OrderedDict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from email.utils import formatdate, parsedate_to_datetime
from typing import IO
from urllib.parse import unquote

from hyphal.http._request import Request
from hyphal.http._response import Response

__all__ = ["StaticFiles"]


@dataclass(slots=True)
class _Entry:
    key: tuple[int, int]
    body: bytes
    headers: list[tuple[str, str]]
    etag: str
    mtime: int


class _FileStream:
    """A large file's body: the protocol sends ``file`` (sendfile) instead of iterating."""

    def __init__(self, file: IO[bytes], length: int) -> None:
        self.file = file
        self.length = length

    async def __aiter__(self) -> AsyncIterator[bytes]:  # pragma: no cover - sendfile path
        while chunk := self.file.read(1 << 16):
            yield chunk

    def __del__(self) -> None:
        self.file.close()


class StaticFiles:
    """Serves files under ``root`` (see the module docstring)."""

    def __init__(self, root: str, *, cache_bytes: int = 2 << 20,
                 file_bytes: int = 128 << 10) -> None:
        self.root = os.path.realpath(root)
        if not os.path.isdir(self.root):
            raise NotADirectoryError(f"--static {root}: not a directory")
        self.cache_bytes = cache_bytes
        self.file_bytes = min(file_bytes, cache_bytes)
        self._cache: OrderedDict[str, _Entry] = OrderedDict()
        self._cached = 0
        self.hits = self.misses = 0

    def resolve(self, url_path: str) -> str | None:
        """The real file path for ``url_path`` (already percent-decoded once), or ``None``."""
        if "\\" in url_path or "\0" in url_path:
            return None
        parts = [p for p in url_path.split("/") if p not in ("", ".")]
        if ".." in parts:
            return None
        path = os.path.realpath(os.path.join(self.root, *parts))
        if path != self.root and not path.startswith(self.root + os.sep):
            return None
        if os.path.isdir(path):
            path = os.path.join(path, "index.html")
        return path if os.path.isfile(path) else None

    def lookup(self, request: Request) -> Response | None:
        """The response for ``request`` when it names a file, else ``None`` (the handler runs).

        A refused path (traversal) is answered 404 directly."""
        raw = request.raw_url.partition(b"?")[0].decode("latin-1")
        try:
            decoded = unquote(raw, errors="strict") if "%" in raw else raw
        except UnicodeDecodeError:
            return Response("Not Found\n", 404)
        if ".." in decoded.split("/") or "\\" in decoded or "\0" in decoded:
            return Response("Not Found\n", 404)
        path = self.resolve(decoded)
        if path is None:
            return None
        try:
            st = os.stat(path)
        except OSError:
            return None
        key = (st.st_mtime_ns, st.st_size)
        entry = self._cache.get(path)
        if entry is not None and entry.key == key:
            self._cache.move_to_end(path)
            self.hits += 1
        else:
            self.misses += 1
            entry = self._load(path, key, int(st.st_mtime))
            if entry is None:
                if self._not_modified(request, self._etag(key), int(st.st_mtime)):
                    return Response(b"", 304, [("etag", self._etag(key))])
                return self._stream(path, key, int(st.st_mtime))
        if self._not_modified(request, entry.etag, entry.mtime):
            return Response(b"", 304, [("etag", entry.etag)])
        return Response(entry.body, 200, entry.headers)

    def _headers(self, path: str, key: tuple[int, int], mtime: int) -> list[tuple[str, str]]:
        ctype, _ = mimetypes.guess_type(path)
        if ctype is None:
            ctype = "application/octet-stream"
        elif ctype.startswith("text/") or ctype in ("application/javascript", "application/json"):
            ctype += "; charset=utf-8"
        return [("content-type", ctype), ("etag", self._etag(key)),
                ("last-modified", formatdate(mtime, usegmt=True))]

    @staticmethod
    def _etag(key: tuple[int, int]) -> str:
        return f'"{key[0]:x}-{key[1]:x}"'

    def _load(self, path: str, key: tuple[int, int], mtime: int) -> _Entry | None:
        if key[1] > self.file_bytes:
            return None
        with open(path, "rb") as fh:
            body = fh.read()
        entry = _Entry(key, body, self._headers(path, key, mtime), self._etag(key), mtime)
        old = self._cache.pop(path, None)
        if old is not None:
            self._cached -= len(old.body)
        self._cache[path] = entry
        self._cached += len(body)
        while self._cached > self.cache_bytes:
            _, evicted = self._cache.popitem(last=False)
            self._cached -= len(evicted.body)
        return entry

    def _stream(self, path: str, key: tuple[int, int], mtime: int) -> Response:
        fh = open(path, "rb")  # noqa: SIM115 - closed by _FileStream
        return Response(_FileStream(fh, key[1]), 200, self._headers(path, key, mtime))

    @staticmethod
    def _not_modified(request: Request, etag: str, mtime: int) -> bool:
        headers = request.headers
        match = headers.get("if-none-match")
        if match is not None:
            return match.strip() == "*" or etag in (t.strip() for t in match.split(","))
        since = headers.get("if-modified-since")
        if since is not None:
            try:
                return mtime <= int(parsedate_to_datetime(since).timestamp())
            except (TypeError, ValueError, OverflowError):
                return False
        return False

    @property
    def cached_bytes(self) -> int:
        return self._cached
