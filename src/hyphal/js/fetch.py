"""The host side of JavaScript ``fetch``: one HTTP request on hyphal's loop, via httpx.

The prelude posts ``{"url", "method", "headers": [[k, v]], "body": base64 | None,
"redirect": "follow" | "manual" | "error"}``; the result is ``{"status", "statusText", "url",
"redirected", "headers": [[k, v]], "body": base64}``. Errors (connection refused, bad URL)
become a rejected promise with a ``TypeError: fetch failed`` on the JavaScript side. One client
(connection pool) is shared per event loop.
"""

from __future__ import annotations

import asyncio
import base64
import weakref
from typing import Any

__all__ = ["perform_fetch"]

_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Any] = weakref.WeakKeyDictionary()


def _client() -> Any:
    import httpx

    loop = asyncio.get_running_loop()
    client = _clients.get(loop)
    if client is None:
        client = _clients[loop] = httpx.AsyncClient(timeout=None, follow_redirects=False)
    return client


async def perform_fetch(request: dict[str, Any]) -> dict[str, Any]:
    """Perform one fetch described by ``request`` (see the module docstring)."""
    import httpx

    body = base64.b64decode(request["body"]) if request.get("body") else None
    client = _client()
    method = request.get("method", "GET").upper()
    url = request["url"]
    headers = [(k, v) for k, v in request.get("headers", [])]
    redirect = request.get("redirect", "follow")
    redirected = False
    for _ in range(20):
        response = await client.request(method, url, headers=headers, content=body)
        if redirect == "manual" or not response.is_redirect:
            break
        if redirect == "error":
            raise ValueError("unexpected redirect")
        url = str(response.next_request.url if response.next_request else response.url)
        redirected = True
        if response.status_code in (301, 302, 303) and method != "HEAD":
            method, body = "GET", None
    else:
        raise httpx.TooManyRedirects("too many redirects")
    return {
        "status": response.status_code,
        "statusText": response.reason_phrase,
        "url": str(response.url),
        "redirected": redirected,
        "headers": [[k, v] for k, v in response.headers.multi_items()],
        "body": base64.b64encode(response.content).decode("ascii"),
    }
