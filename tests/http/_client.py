"""A raw-socket HTTP/1.1 test client and a server fixture: bytes out, bytes in, no client
library between the test and the server."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field, replace
from typing import Any

from hyphal.http import Limits, Server, ServerConfig, python_handler


@dataclass
class Reply:
    status: int
    reason: str
    headers: dict[str, str]
    body: bytes
    header_list: list[tuple[str, str]] = field(default_factory=list)


@contextlib.asynccontextmanager
async def serving(fn: Callable[..., Any] | None = None, *, limits: Limits | None = None,
                  **config: Any) -> AsyncIterator[Server]:
    """A started server on a free loopback port for ``fn`` (or config['handler'])."""
    cfg = ServerConfig(port=0, quiet=config.pop("quiet", True), **config)
    if limits is not None:
        cfg = replace(cfg, limits=limits)
    server = Server(cfg, python_handler(fn) if fn is not None else None)
    await server.start()
    try:
        yield server
    finally:
        for conn in list(_OPEN):
            await conn.close()
        await server.shutdown(timeout=1.0)


_OPEN: set[Conn] = set()


class Conn:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        _OPEN.add(self)

    @classmethod
    async def open(cls, port: int) -> Conn:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def reply(self, *, head: bool = False, timeout: float = 5.0) -> Reply:
        return await asyncio.wait_for(self._reply(head), timeout)

    async def _reply(self, head: bool) -> Reply:
        line = await self.reader.readuntil(b"\r\n")
        version, status, reason = line.decode().rstrip("\r\n").split(" ", 2)
        assert version == "HTTP/1.1"
        headers: dict[str, str] = {}
        header_list = []
        while True:
            raw = (await self.reader.readuntil(b"\r\n")).decode("latin-1")
            if raw == "\r\n":
                break
            name, value = raw.rstrip("\r\n").split(":", 1)
            headers[name.lower()] = value.strip()
            header_list.append((name.lower(), value.strip()))
        body = b""
        code = int(status)
        if head or code in (204, 304) or 100 <= code < 200:
            pass
        elif headers.get("transfer-encoding") == "chunked":
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).strip(), 16)
                chunk = await self.reader.readexactly(size + 2)
                if size == 0:
                    break
                body += chunk[:-2]
        elif "content-length" in headers:
            body = await self.reader.readexactly(int(headers["content-length"]))
        else:
            body = await self.reader.read()
        return Reply(code, reason, headers, body, header_list)

    async def closed(self, timeout: float = 5.0) -> bool:
        """Whether the server closed the connection (EOF or reset) within ``timeout``."""
        try:
            data = await asyncio.wait_for(self.reader.read(65536), timeout)
        except ConnectionError:
            return True
        except TimeoutError:
            return False
        return data == b""

    async def close(self) -> None:
        _OPEN.discard(self)
        self.writer.close()
        with contextlib.suppress(ConnectionError):
            await self.writer.wait_closed()


async def request(port: int, data: bytes, **kw: Any) -> Reply:
    conn = await Conn.open(port)
    try:
        await conn.send(data)
        return await conn.reply(**kw)
    finally:
        await conn.close()
