"""The consumer node the ``distributed`` benchmark runs in separate processes (``hyphal node``).

``bench://work/{n}`` does a fixed slice of CPU work per message (``BENCH_WORK_US``
microseconds, default 20) -- what a real handler costs -- and counts it; ``benchcount://<node>``
answers the count.
"""

from __future__ import annotations

import os
import time

from hyphal.kernel import Kernel, Message

NODE = os.environ.get("HYPHAL_NODE", "node")
WORK = float(os.environ.get("BENCH_WORK_US", "20")) / 1e6
kernel = Kernel()
handled = 0


@kernel.route("bench://work/{n}")
def work(msg: Message) -> None:
    global handled
    end = time.perf_counter() + WORK
    while time.perf_counter() < end:
        pass
    handled += 1


@kernel.route(f"benchcount://{NODE}")
def count(msg: Message) -> int:
    return handled
