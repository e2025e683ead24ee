"""``ActorRef[Msg, Reply]`` lets a type checker catch a wrong message or a wrong reply type."""

from __future__ import annotations

from pathlib import Path

from mypy import api

SNIPPET = '''
import hyphal

class Counter(hyphal.Actor[int, int]):
    async def receive(self, msg: int) -> int:
        return msg

async def main() -> None:
    async with hyphal.ActorSystem() as system:
        ref = system.spawn(Counter)
        ref.tell(1)
        ok: int = await ref.ask(2)
        ref.tell("not an int")
        wrong: str = await ref.ask(3)
'''


def test_mypy_flags_wrong_message_and_reply_types(tmp_path: Path) -> None:
    src = tmp_path / "snippet.py"
    src.write_text(SNIPPET)
    config = tmp_path / "mypy.ini"  # check against this checkout's hyphal
    config.write_text(f"[mypy]\nmypy_path = {Path(__file__).resolve().parents[2] / 'src'}\n")
    out, _, status = api.run(["--strict", "--no-incremental", "--cache-dir", str(tmp_path),
                              "--config-file", str(config), str(src)])
    assert status == 1, out
    errors = [line for line in out.splitlines() if ": error:" in line]
    assert len(errors) == 2, out
    assert 'Argument 1 to "tell" of "ActorRef" has incompatible type "str"' in errors[0]
    assert 'expression has type "int", variable has type "str"' in errors[1]
