"""A three-stage pipeline on hyphal's core: producers -> workers -> a batching sink.

Run it with ``python examples/pipeline.py``. Each producer owns a clone of the input channel
and closes it when done, so the workers' ``async for`` ends exactly when the last producer
finishes; a timeout bounds the whole run.
"""

from __future__ import annotations

import hyphal


async def produce(tx: hyphal.ChannelClone[int], start: int, count: int) -> None:
    with tx:  # closing our handle tells the workers we are done
        for i in range(start, start + count):
            await tx.send(i)


async def work(rx: hyphal.Channel[int], out: hyphal.ChannelClone[int]) -> None:
    with out:
        async for n in rx:
            await out.send(n * n)


async def sink(rx: hyphal.Channel[int]) -> int:
    total = 0
    while True:
        try:
            batch = await rx.recv_many(256)  # one wake-up per batch, not per item
        except hyphal.EndOfChannel:
            return total
        total += sum(batch)


async def main() -> None:
    requests: hyphal.Channel[int] = hyphal.Channel(1024)
    results: hyphal.Channel[int] = hyphal.Channel(1024)
    with hyphal.fail_after(30):
        async with hyphal.TaskGroup() as tg:
            for p in range(4):
                tg.spawn(produce, requests.clone(), p * 25_000, 25_000)
            requests.close()
            for _ in range(3):
                tg.spawn(work, requests, results.clone())
            results.close()
            total = tg.spawn(sink, results)
    print(f"sum of squares below 100,000: {total.result()}")
    print(hyphal.statistics())


if __name__ == "__main__":
    hyphal.run(main)
