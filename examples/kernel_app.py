"""A small application on the hyphal message kernel.

Run it:  python examples/kernel_app.py

- a ``users`` subsystem loads its data in ``on_start`` and serves ``users://profile/{id:int}``;
- an ``orders`` subsystem takes orders with an async handler, queued to its worker, and
  publishes ``events://order/{id}``, which two subscribers receive;
- middleware times every call and refuses ``admin://`` paths without a token;
- ``send_batch`` fetches several profiles concurrently; unknown paths become dead letters and
  ``request`` names the closest pattern;
- the trace id of the first message follows every message sent while handling it.
"""

from __future__ import annotations

from typing import Any

import hyphal
from hyphal.kernel.middleware import CallNext

kernel = hyphal.Kernel()
users = kernel.subsystem("users")
orders = kernel.subsystem("orders", inbox=100)
PROFILES: dict[int, dict[str, Any]] = {}
AUDIT: list[str] = []


@users.on_start
async def load_profiles() -> None:
    PROFILES.update({1: {"name": "Ada"}, 2: {"name": "Grace"}, 3: {"name": "Edsger"}})


@users.route("profile/{id:int}")
def profile(msg: hyphal.Message) -> dict[str, Any]:
    found = PROFILES.get(msg.params["id"])
    if found is None:
        raise KeyError(f"no user {msg.params['id']}")
    return found


@orders.route("place/{user:int}")
async def place_order(msg: hyphal.Message) -> None:
    buyer = await kernel.request(f"users://profile/{msg.params['user']}")
    await kernel.publish(f"events://order/{msg.body['item']}",
                         {"buyer": buyer["name"], **msg.body})


@kernel.subscribe("events://order/*")
def audit(msg: hyphal.Message) -> None:
    AUDIT.append(f"{msg.body['buyer']} ordered {msg.body['item']} (trace {msg.trace_id[-6:]})")


@kernel.subscribe("events://**")
async def count_events(msg: hyphal.Message) -> None:
    count_events.seen += 1  # type: ignore[attr-defined]


count_events.seen = 0  # type: ignore[attr-defined]


@kernel.use
async def guard(msg: hyphal.Message, call_next: CallNext) -> Any:
    if msg.path.startswith("admin://") and msg.meta.get("token") != "let-me-in":
        raise PermissionError(f"{msg.path} needs an admin token")
    return await call_next(msg)


kernel.route("admin://shutdown", lambda msg: "shutting down (not really)")


async def main() -> None:
    async with kernel:
        print("profile 2:", await kernel.request("users://profile/2"))
        first = hyphal.Message("orders://place/1", {"item": "lamp"})
        await kernel.send(first)
        await kernel.send("orders://place/3", {"item": "desk"})
        await kernel.drain()
        print(*AUDIT, sep="\n")
        print("first trace:", first.trace_id[-6:], "| events seen:", count_events.seen)

        batch = await kernel.send_batch(
            ["users://profile/1", "users://profile/3", "users://profile/9"],
            return_exceptions=True)
        print("batch:", batch)

        try:
            await kernel.request("users://profiles/1")
        except hyphal.NoRoute as exc:
            print("NoRoute:", exc)
        try:
            await kernel.request("admin://shutdown")
        except PermissionError as exc:
            print("refused:", exc)
        print("admin:", await kernel.request("admin://shutdown", meta={"token": "let-me-in"}))

        stats = kernel.statistics()
        route = stats.route("users://profile/{id:int}")
        print(f"users://profile: {route.calls} calls, {route.errors} errors, "
              f"p50 <= {route.latency.percentile(50) * 1e6:.0f} µs; "
              f"dead letters: {stats.dead_letters}")


if __name__ == "__main__":
    hyphal.run(main)
