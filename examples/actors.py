"""hyphal actors and streams in one small program.

A supervised pool of "parser" actors turns raw lines into numbers; a crash on a bad line is
answered with the error and the actor restarts with its original arguments. A stream feeds the
lines with backpressure, and a "totals" actor sums the results with ``receive_batch``.

    python examples/actors.py
"""

from __future__ import annotations

import hyphal


class Parser(hyphal.Actor[str, int]):
    def __init__(self, scale: int) -> None:
        self.scale = scale

    async def on_restart(self, error: BaseException) -> None:
        print(f"  {self.name} restarted after {error!r}")

    async def receive(self, msg: str) -> int:
        return int(msg) * self.scale  # a bad line raises ValueError: the actor crashes


class Totals(hyphal.Actor[int, int]):
    def __init__(self) -> None:
        self.total = 0

    async def receive_batch(self, msgs: list[int]) -> None:  # runs of tells in one call
        self.total += sum(msgs)

    async def receive(self, msg: int) -> int:  # asks still come here
        return self.total


async def main() -> None:
    async with hyphal.ActorSystem() as system:
        letters: list[hyphal.DeadLetter] = []
        system.dead_letters.subscribe(letters.append)

        pool = system.supervisor("one_for_one", max_restarts=10, within=1.0, name="parsers")
        parsers = [pool.spawn(Parser, 10, name=f"parser-{i}") for i in range(3)]
        totals = system.spawn(Totals, name="totals")

        lines = ["1", "2", "oops", "4", "5", "6"]

        async def parse(item: tuple[int, str]) -> int | None:
            index, line = item
            try:
                return await parsers[index % len(parsers)].ask(line, timeout=1.0)
            except ValueError as exc:
                print(f"  line {line!r} failed: {exc}")
                return None

        numbers = (hyphal.Stream.from_iterable(enumerate(lines))
                   .map(parse, concurrency=3)
                   .filter(lambda n: n is not None))
        async for n in numbers:
            totals.tell(n)

        print("total:", await totals.ask(0))                      # 180
        print("restarts:", pool.statistics().restarts)            # 1
        parsers[0].stop()
        await parsers[0].join()
        parsers[0].tell("7")                                      # a dead letter
        print("dead letters:", [(d.recipient, d.reason) for d in letters])
        print(system.statistics())


if __name__ == "__main__":
    hyphal.run(main)
