"""The hyphal message kernel: paths, routing, subsystems, delivery (see :class:`Kernel`)."""

from hyphal.kernel.abc import Inbound, Transport
from hyphal.kernel.errors import NoRoute, RemoteError
from hyphal.kernel.kernel import DEAD_LETTER_PATH, DeadLetter, Kernel
from hyphal.kernel.local import LocalHub, LocalTransport
from hyphal.kernel.message import Message, current_message
from hyphal.kernel.routing import AmbiguousRoute, RouteTable
from hyphal.kernel.stats import (
    KernelStatistics,
    LatencyHistogram,
    RouteStatistics,
    SubsystemStatistics,
)
from hyphal.kernel.subsystem import Subsystem

__all__ = [
    "DEAD_LETTER_PATH",
    "AmbiguousRoute",
    "DeadLetter",
    "Inbound",
    "Kernel",
    "KernelStatistics",
    "LatencyHistogram",
    "LocalHub",
    "LocalTransport",
    "Message",
    "NoRoute",
    "RemoteError",
    "RouteStatistics",
    "RouteTable",
    "Subsystem",
    "SubsystemStatistics",
    "Transport",
    "current_message",
]
