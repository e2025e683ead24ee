"""Types users rely on: ``ActorRef[Msg, Reply]`` catches a wrong message or reply type, and
``Stream`` stages carry item types through sync and async functions."""

from __future__ import annotations

from pathlib import Path

from mypy import api

ACTORS = '''
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

STREAMS = '''
import hyphal

async def double(x: int) -> int:
    return 2 * x

async def main() -> None:
    a = await hyphal.Stream.from_iterable(range(3)).map(double).collect()
    reveal_type(a)
    b = await hyphal.Stream.from_iterable(range(3)).map(str).batch(2).collect()
    reveal_type(b)
'''


def _mypy(tmp_path: Path, code: str) -> tuple[list[str], int]:
    src = tmp_path / "snippet.py"
    src.write_text(code)
    config = tmp_path / "mypy.ini"  # check against this checkout's hyphal
    config.write_text(f"[mypy]\nmypy_path = {Path(__file__).resolve().parents[2] / 'src'}\n")
    out, _, status = api.run(["--strict", "--no-incremental", "--cache-dir", str(tmp_path),
                              "--config-file", str(config), str(src)])
    return out.splitlines(), status


def test_mypy_flags_wrong_message_and_reply_types(tmp_path: Path) -> None:
    lines, status = _mypy(tmp_path, ACTORS)
    errors = [line for line in lines if ": error:" in line]
    assert status == 1 and len(errors) == 2, lines
    assert 'Argument 1 to "tell" of "ActorRef" has incompatible type "str"' in errors[0]
    assert 'expression has type "int", variable has type "str"' in errors[1]


def test_stream_stages_keep_item_types(tmp_path: Path) -> None:
    lines, status = _mypy(tmp_path, STREAMS)
    assert status == 0, lines
    revealed = [line.split("Revealed type is ")[1] for line in lines if "Revealed" in line]
    assert revealed == ['"list[int]"', '"list[list[str]]"']
