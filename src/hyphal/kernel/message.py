"""``hyphal.Message``: what the kernel carries from a sender to a handler.

A message is cheap to create: a ``__slots__`` object holding the path, the body, the metadata,
a creation timestamp and a per-process sequence number. Everything else is derived lazily, on
first access:

- ``id``: unique and sortable by creation time -- 12 hex digits of milliseconds since the epoch,
  a random per-process node id, and the sequence number (so ids created in one process sort in
  creation order even within one millisecond);
- ``trace_id``: the ``id`` of the first message in a causal chain. A message created while a
  kernel handler runs inherits the handled message's ``trace_id`` (through a context variable,
  so it follows ``await`` and tasks spawned from the handler); otherwise it starts a new chain;
- ``subsystem``, ``route``: the parts of ``path`` before and after ``://``.

The fields and the constructor live in a base class: ``MessageCore`` from the C extension
``hyphal.kernel._speedups`` when it was built (no Python frame per message), else its
pure-Python twin ``_PyMessageCore`` below (``HYPHAL_PURE_PYTHON=1`` forces it); both behave
the same and the test suite runs against both.

``params`` holds what the matched route pattern captured: a read-only mapping (empty until the
kernel routes the message), shared by messages to the same path.
"""

from __future__ import annotations

import contextvars
import itertools
import os
from collections.abc import Mapping
from time import time as _time
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from hyphal._core.native import load_speedups
from hyphal.kernel.paths import split_path

__all__ = ["Message", "current_message"]

_NODE = os.urandom(4).hex()
_next_seq = itertools.count(1).__next__
_current: contextvars.ContextVar[Message | None] = contextvars.ContextVar(
    "hyphal_kernel_message", default=None)
_current_get = _current.get


def format_id(ts: float, node: str, seq: int) -> str:
    """The id of the message created at ``ts`` as number ``seq`` in the process ``node``
    (see the module docs); transports use it to rebuild ids they carried as parts."""
    return f"{int(ts * 1000):012x}{node}{seq:010x}"


def current_message() -> Message | None:
    """The message whose handler is running in this context, or ``None``."""
    return _current.get()


class _PyMessageCore:
    """The fields and constructor of :class:`Message` in Python (see the module docs)."""

    __slots__ = ("_id", "_meta", "_params", "_reply_to", "_root", "_seq", "body", "path", "ts")

    path: str
    body: Any
    ts: float
    _params: Mapping[str, Any]
    _reply_to: str | None
    _id: str
    _root: Message | _TraceRoot | None
    _meta: dict[str, Any] | None
    _seq: int

    def __init__(self, path: str, body: Any = None, meta: dict[str, Any] | None = None) -> None:
        # the hot constructor: five stores and three C calls
        self.path = path
        self.body = body
        self._meta = meta
        self.ts = _time()
        self._seq = _next_seq()
        parent = _current_get()
        self._root = None if parent is None else (parent._root or parent)


_speedups: Any = load_speedups("hyphal.kernel")
"""The compiled ``hyphal.kernel._speedups`` module, or None (pure Python)."""

if TYPE_CHECKING or _speedups is None:
    _MessageCore = _PyMessageCore
else:
    _speedups.set_current_var(_current)
    _MessageCore = _speedups.MessageCore

SPEEDUPS = _MessageCore is not _PyMessageCore
"""True when messages are built by the C extension."""


class Message(_MessageCore):
    """A message: ``path`` (``subsystem://segment/...``), ``body`` (anything), ``meta`` (a dict).

    ``reply_to`` is set by the kernel for requests. Creating a message never parses or checks
    the path: a malformed path raises ``ValueError`` (naming the bad part), and a non-string
    one ``TypeError``, when the message is routed or ``subsystem``/``route`` is read.
    """

    __slots__ = ()

    ts: float
    """Creation time, seconds since the epoch (``time.time()``)."""

    @property
    def params(self) -> Mapping[str, Any]:
        """What the matched route pattern captured (read-only; empty until routed)."""
        try:
            return self._params
        except AttributeError:
            return _EMPTY

    @params.setter
    def params(self, value: Mapping[str, Any]) -> None:
        self._params = value

    @property
    def reply_to(self) -> str | None:
        """Where the reply goes: set by the kernel (or transport) for requests."""
        try:
            return self._reply_to
        except AttributeError:
            return None

    @reply_to.setter
    def reply_to(self, value: str | None) -> None:
        self._reply_to = value

    def __repr__(self) -> str:
        return f"Message({self.path!r}, {self.body!r}, id={self.id!r})"

    @property
    def id(self) -> str:
        """Unique, time-sortable id (see the module docs)."""
        try:
            return self._id
        except AttributeError:
            self._id = format_id(self.ts, _NODE, self._seq)
            return self._id

    @property
    def trace_id(self) -> str:
        """The ``id`` of the message that started this causal chain."""
        root = self._root
        return self.id if root is None else root.id

    @property
    def meta(self) -> dict[str, Any]:
        """Free-form metadata (headers); created empty on first access."""
        meta = self._meta
        if meta is None:
            meta = self._meta = {}
        return meta

    @property
    def subsystem(self) -> str:
        """The part of ``path`` before ``://``."""
        return split_path(self.path)[0]

    @property
    def route(self) -> str:
        """The part of ``path`` after ``://``."""
        return split_path(self.path)[1]

    def _fork(self) -> Message:
        """A copy with the same id and trace (one per subscriber of a publish)."""
        new = Message(self.path, self.body, self._meta)
        new.ts = self.ts
        new._seq = self._seq
        new._root = self._root
        new._id = self.id
        new.params = self.params
        return new

    @classmethod
    def restore(cls, path: str, body: Any, meta: dict[str, Any] | None, *, id: str,
                trace_id: str, ts: float, reply_to: str | None = None) -> Message:
        """Rebuild a message that crossed a transport: same id, trace, time and reply_to."""
        msg = cls(path, body, meta)
        msg.ts = ts
        msg._id = id
        msg._root = None if trace_id == id else _TraceRoot(trace_id)
        msg._reply_to = reply_to
        return msg


class _TraceRoot:
    """Stands in for a remote root message: only its id is known."""

    __slots__ = ("_root", "id")

    def __init__(self, trace_id: str) -> None:
        self.id = trace_id
        self._root: None = None


_EMPTY: Mapping[str, Any] = MappingProxyType({})
