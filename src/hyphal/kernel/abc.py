"""The transport contract: how a kernel reaches routes served outside itself.

A :class:`~hyphal.Kernel` always delivers to its own routes in-process, without the transport.
The transport carries what the kernel cannot serve locally and makes the kernel's routes
reachable from other kernels:

- ``serve(pattern)``: other kernels may now send/request to paths matching ``pattern``; each
  message goes to exactly one serving kernel (a queue group, in NATS terms);
- ``subscribe(pattern)``: other kernels' ``publish`` reaches this kernel too (fan-out);
- ``send``/``request``/``publish``: deliver a message to other kernels.

Incoming messages enter the kernel through the :class:`Inbound` it passes to ``connect``. A
request's failure crosses the boundary as ``(error_type_name(exc), error_message(exc))`` and
is rebuilt on the caller's side by :func:`hyphal.kernel.errors.rebuild_error`, so every
transport re-raises remote errors the same way. Implementations:
:class:`~hyphal.kernel.local.LocalTransport` (in-process, optionally shared by several
kernels) and :class:`~hyphal.kernel.nats.NatsTransport` (processes and machines).
"""

from __future__ import annotations

import abc
from typing import Any, Protocol

from hyphal.kernel.message import Message

__all__ = ["Inbound", "Transport"]


class Inbound(Protocol):
    """The kernel's side of a transport: where messages from other kernels enter."""

    async def deliver_remote(self, msg: Message) -> bool:
        """A ``send`` from elsewhere; False if no local route matches (a dead letter)."""
        ...

    async def request_remote(self, msg: Message) -> Any:
        """A ``request`` from elsewhere: the handler's result, or its exception raised."""
        ...

    async def publish_remote(self, msg: Message) -> int:
        """A ``publish`` from elsewhere: the number of local subscribers reached."""
        ...


class Transport(abc.ABC):
    """A connection from one kernel to others (see the module docs)."""

    name: str = "transport"
    remote: bool = True
    """False when no other kernel can ever be reached (the kernel then skips the transport)."""
    confirms_send: bool = True
    """False when :meth:`send` cannot know whether a kernel took the message (it then always
    returns True, and the kernel may await it directly, without a dead-letter check)."""

    @abc.abstractmethod
    async def connect(self, inbound: Inbound) -> None:
        """Connect; from now on deliver incoming messages to ``inbound``. Raises
        ``ConnectionError`` (or a subclass) when the other side is unreachable."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Stop serving and subscribing, and disconnect. Idempotent."""

    @abc.abstractmethod
    async def serve(self, pattern: str) -> None:
        """Make this kernel's route ``pattern`` reachable by other kernels."""

    @abc.abstractmethod
    async def unserve(self, pattern: str) -> None:
        """Undo :meth:`serve`."""

    @abc.abstractmethod
    async def subscribe(self, pattern: str) -> None:
        """Receive other kernels' publishes to paths matching ``pattern``."""

    @abc.abstractmethod
    async def unsubscribe(self, pattern: str) -> None:
        """Undo :meth:`subscribe`."""

    @abc.abstractmethod
    async def send(self, msg: Message) -> bool:
        """Hand ``msg`` to one kernel serving its path; False if none does (a transport that
        cannot tell -- fire-and-forget over a broker -- returns True)."""

    @abc.abstractmethod
    async def request(self, msg: Message, timeout: float | None) -> Any:
        """Deliver ``msg`` to one serving kernel and return its handler's result.

        Raises :class:`~hyphal.kernel.errors.NoRoute` when nobody serves the path,
        ``TimeoutError`` when no reply comes within ``timeout`` seconds, and the remote
        handler's error (rebuilt from its type and message) when it failed."""

    async def send_durable(self, msg: Message) -> None:
        """Store ``msg`` so that a kernel serving its path handles it at least once, even
        across a crash. Transports without persistence raise ``NotImplementedError``."""
        raise NotImplementedError(
            f"the {self.name} transport cannot deliver durably: use a NATS transport")

    @abc.abstractmethod
    async def publish(self, msg: Message) -> int:
        """Deliver ``msg`` to every other kernel subscribed to its path; the count reached
        (transports that cannot count return -1)."""
