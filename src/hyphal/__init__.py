"""hyphal: a high-performance async toolkit.

Every public name loads on first use (``hyphal.Channel`` imports the channel module then), so
``import hyphal`` -- and with it ``hyphal run script.js`` -- does not pay for asyncio, typing
machinery or capabilities it does not touch. Type checkers see the real names through the
``TYPE_CHECKING`` imports.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (cold start)

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

# Every public name loads lazily: name -> module that defines it.
_LAZY: dict[str, str] = {
    "CancelScope": "hyphal._core.cancel",
    "fail_after": "hyphal._core.cancel",
    "fail_at": "hyphal._core.cancel",
    "move_on_after": "hyphal._core.cancel",
    "move_on_at": "hyphal._core.cancel",
    "Channel": "hyphal._core.channel",
    "ChannelClone": "hyphal._core.channel",
    "ChannelStatistics": "hyphal._core.channel",
    "Overflow": "hyphal._core.channel",
    "send_was_delivered": "hyphal._core.channel",
    "RuntimeConfig": "hyphal._core.config",
    "BrokenResourceError": "hyphal._core.errors",
    "BusyResourceError": "hyphal._core.errors",
    "ClosedResourceError": "hyphal._core.errors",
    "EndOfChannel": "hyphal._core.errors",
    "HyphalError": "hyphal._core.errors",
    "WouldBlock": "hyphal._core.errors",
    "ObjectPool": "hyphal._core.pool",
    "PoolStatistics": "hyphal._core.pool",
    "current_config": "hyphal._core.runner",
    "run": "hyphal._core.runner",
    "to_thread": "hyphal._core.runner",
    "select": "hyphal._core.select",
    "RuntimeStatistics": "hyphal._core.stats",
    "statistics": "hyphal._core.stats",
    "Stream": "hyphal._core.stream",
    "StreamStatistics": "hyphal._core.stream",
    "TaskGroup": "hyphal._core.tasks",
    "TaskHandle": "hyphal._core.tasks",
    "ThreadChannel": "hyphal._core.threadchannel",
    "ThreadChannelStatistics": "hyphal._core.threadchannel",
    "checkpoint": "hyphal._core.timing",
    "current_time": "hyphal._core.timing",
    "sleep": "hyphal._core.timing",
    "sleep_until": "hyphal._core.timing",
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
    from typing import Any

    from hyphal._core.cancel import CancelScope as CancelScope
    from hyphal._core.cancel import fail_after as fail_after
    from hyphal._core.cancel import fail_at as fail_at
    from hyphal._core.cancel import move_on_after as move_on_after
    from hyphal._core.cancel import move_on_at as move_on_at
    from hyphal._core.channel import Channel as Channel
    from hyphal._core.channel import ChannelClone as ChannelClone
    from hyphal._core.channel import ChannelStatistics as ChannelStatistics
    from hyphal._core.channel import Overflow as Overflow
    from hyphal._core.channel import send_was_delivered as send_was_delivered
    from hyphal._core.config import RuntimeConfig as RuntimeConfig
    from hyphal._core.errors import BrokenResourceError as BrokenResourceError
    from hyphal._core.errors import BusyResourceError as BusyResourceError
    from hyphal._core.errors import ClosedResourceError as ClosedResourceError
    from hyphal._core.errors import EndOfChannel as EndOfChannel
    from hyphal._core.errors import HyphalError as HyphalError
    from hyphal._core.errors import WouldBlock as WouldBlock
    from hyphal._core.pool import ObjectPool as ObjectPool
    from hyphal._core.pool import PoolStatistics as PoolStatistics
    from hyphal._core.runner import current_config as current_config
    from hyphal._core.runner import run as run
    from hyphal._core.runner import to_thread as to_thread
    from hyphal._core.select import select as select
    from hyphal._core.stats import RuntimeStatistics as RuntimeStatistics
    from hyphal._core.stats import statistics as statistics
    from hyphal._core.stream import Stream as Stream
    from hyphal._core.stream import StreamStatistics as StreamStatistics
    from hyphal._core.tasks import TaskGroup as TaskGroup
    from hyphal._core.tasks import TaskHandle as TaskHandle
    from hyphal._core.threadchannel import ThreadChannel as ThreadChannel
    from hyphal._core.threadchannel import ThreadChannelStatistics as ThreadChannelStatistics
    from hyphal._core.timing import checkpoint as checkpoint
    from hyphal._core.timing import current_time as current_time
    from hyphal._core.timing import sleep as sleep
    from hyphal._core.timing import sleep_until as sleep_until
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
