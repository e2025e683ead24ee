"""hyphal: a high-performance async toolkit.

Core primitives are imported eagerly (they are small); the larger capabilities (actors,
kernel, http, js) load on first use, so ``import hyphal`` stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hyphal._core.cancel import (
    CancelScope,
    fail_after,
    fail_at,
    move_on_after,
    move_on_at,
)
from hyphal._core.channel import (
    Channel,
    ChannelClone,
    ChannelStatistics,
    Overflow,
    send_was_delivered,
)
from hyphal._core.config import RuntimeConfig
from hyphal._core.errors import (
    BrokenResourceError,
    BusyResourceError,
    ClosedResourceError,
    EndOfChannel,
    HyphalError,
    WouldBlock,
)
from hyphal._core.pool import ObjectPool, PoolStatistics
from hyphal._core.runner import current_config, run, to_thread
from hyphal._core.select import select
from hyphal._core.stats import RuntimeStatistics, statistics
from hyphal._core.stream import Stream, StreamStatistics
from hyphal._core.tasks import TaskGroup, TaskHandle
from hyphal._core.threadchannel import ThreadChannel, ThreadChannelStatistics
from hyphal._core.timing import checkpoint, current_time, sleep, sleep_until

__version__ = "0.1.0"

__all__ = [
    "BrokenResourceError",
    "BusyResourceError",
    "CancelScope",
    "Channel",
    "ChannelClone",
    "ChannelStatistics",
    "ClosedResourceError",
    "EndOfChannel",
    "HyphalError",
    "ObjectPool",
    "Overflow",
    "PoolStatistics",
    "RuntimeConfig",
    "RuntimeStatistics",
    "Stream",
    "StreamStatistics",
    "TaskGroup",
    "TaskHandle",
    "ThreadChannel",
    "ThreadChannelStatistics",
    "WouldBlock",
    "__version__",
    "checkpoint",
    "current_config",
    "current_time",
    "fail_after",
    "fail_at",
    "move_on_after",
    "move_on_at",
    "run",
    "select",
    "send_was_delivered",
    "sleep",
    "sleep_until",
    "statistics",
    "to_thread",
]

# Capabilities above the core load lazily: name -> module that defines it.
_LAZY: dict[str, str] = {
    "Actor": "hyphal.actors",
    "ActorRef": "hyphal.actors",
    "ActorStatistics": "hyphal.actors",
    "ActorSystem": "hyphal.actors",
    "DeadLetter": "hyphal.actors",
    "DeadLetters": "hyphal.actors",
    "MailboxSpec": "hyphal.actors",
    "MessageDropped": "hyphal.actors",
    "SupervisionError": "hyphal.actors",
    "Supervisor": "hyphal.actors",
    "SupervisorStatistics": "hyphal.actors",
    "SystemStatistics": "hyphal.actors",
    "Kernel": "hyphal.kernel",
    "Message": "hyphal.kernel",
    "NoRoute": "hyphal.kernel",
    "Subsystem": "hyphal.kernel",
    "RemoteError": "hyphal.kernel",
    "KernelStatistics": "hyphal.kernel",
    "LocalHub": "hyphal.kernel",
    "LocalTransport": "hyphal.kernel",
    "Transport": "hyphal.kernel",
    "current_message": "hyphal.kernel",
    "NatsTransport": "hyphal.kernel.nats",
    "ActorPlacement": "hyphal.kernel.placement",
    "UnserializableBody": "hyphal.kernel.envelope",
    "JSError": "hyphal.js.errors",
    "JSLimitError": "hyphal.js.errors",
}

if TYPE_CHECKING:
    from hyphal.actors import Actor as Actor
    from hyphal.actors import ActorRef as ActorRef
    from hyphal.actors import ActorStatistics as ActorStatistics
    from hyphal.actors import ActorSystem as ActorSystem
    from hyphal.actors import DeadLetter as DeadLetter
    from hyphal.actors import DeadLetters as DeadLetters
    from hyphal.actors import MailboxSpec as MailboxSpec
    from hyphal.actors import MessageDropped as MessageDropped
    from hyphal.actors import SupervisionError as SupervisionError
    from hyphal.actors import Supervisor as Supervisor
    from hyphal.actors import SupervisorStatistics as SupervisorStatistics
    from hyphal.actors import SystemStatistics as SystemStatistics
    from hyphal.js.errors import JSError as JSError
    from hyphal.js.errors import JSLimitError as JSLimitError
    from hyphal.kernel import Kernel as Kernel
    from hyphal.kernel import KernelStatistics as KernelStatistics
    from hyphal.kernel import LocalHub as LocalHub
    from hyphal.kernel import LocalTransport as LocalTransport
    from hyphal.kernel import Message as Message
    from hyphal.kernel import NoRoute as NoRoute
    from hyphal.kernel import RemoteError as RemoteError
    from hyphal.kernel import Subsystem as Subsystem
    from hyphal.kernel import Transport as Transport
    from hyphal.kernel import current_message as current_message
    from hyphal.kernel.envelope import UnserializableBody as UnserializableBody
    from hyphal.kernel.nats import NatsTransport as NatsTransport
    from hyphal.kernel.placement import ActorPlacement as ActorPlacement


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'hyphal' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(__all__) | set(_LAZY))
