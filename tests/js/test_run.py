"""``hyphal run``: errors, exit codes, limits, -e, modules -- through real processes for the
CLI and in-process for the runtime."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hyphal.js.cli import UsageError, parse_args, parse_duration, parse_size
from hyphal.js.runtime import Runtime

SRC = str(Path(__file__).resolve().parents[2] / "src")


def hyphal(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": SRC}
    return subprocess.run([sys.executable, "-m", "hyphal", "run", *args], capture_output=True,
                          text=True, env=env, timeout=timeout, check=False)


async def run_js(source: str, engine: str, tmp_path: Path, name: str = "main.js",
                 **limits: float) -> tuple[int, str, str]:
    path = tmp_path / name
    path.write_text(source)
    out, err = io.StringIO(), io.StringIO()
    runtime = Runtime(engine, stdout=out, stderr=err, **limits)  # type: ignore[arg-type]
    code = await runtime.run_file(str(path))
    return code, out.getvalue(), err.getvalue()


def test_eval_prints_and_exits_zero(engine: str) -> None:
    done = hyphal("--engine", engine, "-e", "console.log(1 + 1, process.argv.slice(1))", "a")
    assert (done.returncode, done.stdout, done.stderr) == (0, "2 [ 'a' ]\n", "")


def test_exit_code_and_output_order_through_the_cli(engine: str, tmp_path: Path) -> None:
    script = tmp_path / "exit.js"
    script.write_text("console.log('before');\nsetTimeout(() => console.log('never'), 50);\n"
                      "console.error('err');\nprocess.exit(7);\nconsole.log('after');\n")
    done = hyphal(str(script), "--engine", engine)
    assert (done.returncode, done.stdout, done.stderr) == (7, "before\n", "err\n")


async def test_uncaught_error_names_file_and_line(engine: str, tmp_path: Path) -> None:
    code, out, err = await run_js("console.log('start');\n\nthrow new Error('boom');\n",
                                  engine, tmp_path)
    assert (code, out) == (1, "start\n")
    assert err.startswith(f"{tmp_path / 'main.js'}:3\n")
    assert "Error: boom" in err


async def test_error_in_timer_callback_exits_1(engine: str, tmp_path: Path) -> None:
    source = "setTimeout(() => {\n  null.x;\n}, 1);\nsetTimeout(() => console.log('no'), 100);\n"
    code, out, err = await run_js(source, engine, tmp_path)
    assert (code, out) == (1, "")
    assert f"{tmp_path / 'main.js'}:2" in err
    assert "TypeError" in err


async def test_syntax_error_names_file_line_and_column(engine: str, tmp_path: Path) -> None:
    code, out, err = await run_js("const a = 1;\nconst b = ;\n", engine, tmp_path)
    assert (code, out) == (1, "")
    assert f"{tmp_path / 'main.js'}:2:" in err
    assert "SyntaxError" in err


async def test_rejected_top_level_await_exits_1(engine: str, tmp_path: Path) -> None:
    code, _, err = await run_js("await null;\nthrow new RangeError('tla');\n", engine, tmp_path,
                                name="main.mjs")
    assert code == 1
    assert "RangeError: tla" in err


@pytest.mark.parametrize(("source", "line"), [
    ("console.log('start');\nPromise.reject(new Error('x'));\n", 2),
    ("async function f() {\n  await null;\n  throw new TypeError('async');\n}\nf();\n", 3),
    ("new Promise((_, rej) => setTimeout(() => rej(new Error('late')), 10));\n", 1),
])
async def test_unhandled_rejection_names_file_line_and_stack(
        source: str, line: int, engine: str, tmp_path: Path) -> None:
    code, _, err = await run_js(source, engine, tmp_path)
    assert code == 1
    first, *stack = err.splitlines()
    assert first == f"{tmp_path / 'main.js'}:{line}"
    assert "Error: " in stack[0]
    assert any(f"main.js:{line}:" in frame for frame in stack[1:])


async def test_unhandled_rejection_of_a_non_error_and_in_a_module(
        engine: str, tmp_path: Path) -> None:
    code, _, err = await run_js("Promise.reject(42);\n", engine, tmp_path)
    assert code == 1
    assert err.startswith("UnhandledPromiseRejection: ") and 'reason "42"' in err
    (tmp_path / "lib.js").write_text("export const x = 1;\n")
    code, out, err = await run_js("import './lib.js';\nPromise.reject(new Error('mod'));\n"
                                  "console.log('after');\n", engine, tmp_path, name="main.mjs")
    assert (code, out) == (1, "after\n")
    assert err.startswith(f"{tmp_path / 'main.mjs'}:2\n") and "Error: mod" in err


def test_unhandled_rejection_through_the_cli(engine: str) -> None:
    done = hyphal("--engine", engine, "-e", "(async () => { throw new Error('e1'); })()")
    assert (done.returncode, done.stdout) == (1, "")
    assert "Error: e1" in done.stderr


async def test_time_limit_stops_a_runaway_script(engine: str, tmp_path: Path) -> None:
    code, out, err = await run_js("console.log('go');\nfor (;;) {}\n", engine, tmp_path,
                                  time_limit=0.3)
    assert (code, out) == (1, "go\n")
    assert "time limit" in err
    assert "--timeout" in err


async def test_memory_limit_stops_a_memory_bomb(engine: str, tmp_path: Path) -> None:
    source = "const a = [];\nfor (;;) a.push(new Array(100000).fill(1.5));\n"
    code, _, err = await run_js(source, engine, tmp_path, memory_limit=48 * 1024 * 1024)
    assert code == 1
    assert "memory limit" in err
    assert "--max-memory" in err


async def test_timers_never_fire_early(engine: str, tmp_path: Path) -> None:
    source = """
const t0 = performance.now();
let early = 0, n = 0;
function next() {
  const start = performance.now();
  setTimeout(() => {
    if (performance.now() - start < 2) early++;
    if (++n < 20) next(); else console.log(early, performance.now() - t0 >= 40);
  }, 2);
}
next();
"""
    code, out, _ = await run_js(source, engine, tmp_path)
    assert (code, out) == (0, "0 true\n")


def test_missing_script_and_bad_options() -> None:
    done = hyphal("/nonexistent/x.js", "--engine", "quickjs")
    assert done.returncode == 1
    assert "cannot open" in done.stderr
    assert hyphal("--engine", "spidermonkey", "x.js").returncode == 2
    assert hyphal("--help").stdout.startswith("Usage: hyphal run")


def test_argument_parsing() -> None:
    cfg = parse_args(["a.js", "--engine", "quickjs", "x", "--max-memory=64m", "--", "--timeout"],
                     env={})
    assert (cfg.script, cfg.engine, cfg.max_memory, cfg.args) == (
        "a.js", "quickjs", 64 * 1024 * 1024, ["x", "--timeout"])
    assert parse_args(["-e", "1"], env={"HYPHAL_TIMEOUT": "500ms"}).timeout == 0.5
    assert parse_size("1g") == 1024 ** 3
    assert parse_duration("2m") == 120.0
    for bad in (["--engine"], [], ["--max-memory", "lots", "a.js"]):
        with pytest.raises(UsageError):
            parse_args(bad, env={})


async def test_memory_usage_follows_the_heap(engine: str, tmp_path: Path) -> None:
    source = (
        "const before = process.memoryUsage().heapUsed;\nconst keep = [];\n"
        "for (let i = 0; i < 300; i++) keep.push(new Array(10000).fill(i));\n"
        "setTimeout(() => console.log(process.memoryUsage().heapUsed > before), 150);\n")
    code, out, _ = await run_js(source, engine, tmp_path)
    assert (code, out) == (0, "true\n")


def test_hello_runs_without_importing_asyncio_or_the_other_engine(engine: str) -> None:
    code = ("import sys; from hyphal.js.cli import main; "
            "code = main(['--engine', sys.argv[1], '-e', 'console.log(\\'hello\\')']); "
            "print(code, sorted(m for m in ('asyncio', 'py_mini_racer', '_quickjs', "
            "'hyphal.js.v8_native') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code, engine], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": SRC}, timeout=60, check=False)
    loaded = "['_quickjs']" if engine == "quickjs" else "['hyphal.js.v8_native']"
    assert (done.stdout, done.stderr) == (f"hello\n0 {loaded}\n", "")


def test_errors_and_limits_through_the_blocking_path(engine: str, tmp_path: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    runtime = Runtime(engine, stdout=out, stderr=err, time_limit=0.5)  # type: ignore[arg-type]
    assert runtime.run_source_blocking("console.log('a');\nnull.x;\n", "/x/main.js") == 1
    assert out.getvalue() == "a\n" and err.getvalue().startswith("/x/main.js:2\n")
    out, err = io.StringIO(), io.StringIO()
    runtime = Runtime(engine, stdout=out, stderr=err, time_limit=0.5)  # type: ignore[arg-type]
    assert runtime.run_source_blocking("setTimeout(() => { for (;;); }, 1);") == 1
    assert "time limit" in err.getvalue()


@pytest.mark.skipif(sys.platform == "win32" or bool(os.environ.get("HYPHAL_PURE_PYTHON")),
                    reason="pure Python asked for, or no compiler expected")
def test_rejection_hooks_are_c_code(engine: str) -> None:
    """The install compiled hyphal.js._speedups: rejections cost no Python callback, and
    QuickJS calls take its fast path."""
    import ctypes

    from hyphal.js import quickjs_engine, v8_native
    from hyphal.js.abc import c_speedups, create_engine

    assert c_speedups() is not None
    with create_engine(engine) as js:  # type: ignore[arg-type]
        if engine == "quickjs":
            assert quickjs_engine._fast_path() is not None
            js.eval("function f(a, b) { return `${a}:${b}`; }")
            assert "quickjs_call" in repr(js.function("f"))
            assert js.call("f", "x", 2) == "x:2"
        else:
            hook = v8_native._api["callback"]
            assert hook != ctypes.cast(v8_native._reject_callback, ctypes.c_void_p).value


async def test_live_imports_survive_tricky_syntax(engine: str, tmp_path: Path) -> None:
    """References to a live import are rewritten only where they are references: not in
    strings, templates' text, comments, regular expressions, keys, or shadowing scopes."""
    (tmp_path / "n.mjs").write_text("export let n = 1;\nexport function inc() { n++; }\n")
    source = r"""import { n, inc } from './n.mjs';
inc(); // n is 2 now, says a comment about n
const re = /n/g, half = n / 2; /* n */
const t = `n=${n} ${`inner ${n}`} \${n}`;
const o = { n, m: n, get n2() { return n; }, ['n']: 'computed', n3: { n } };
class K { n = 'field'; n() { return 'method'; } static n = 'static'; }
const f = (x, { n } = { n: 'destructured param' }) => n;
try { throw 'thrown'; } catch (n) { console.log(n); }
for (const n of ['loop']) console.log(n);
console.log(re.source, half, t, o.n, o.m, o.n2, o.n3.n, new K().n, K.n, f(0), 'n', n);
"""
    code, out, err = await run_js(source, engine, tmp_path, name="main.mjs")
    assert (code, err) == (0, "")
    assert out == ("thrown\nloop\nn 1 n=2 inner 2 ${n} computed 2 2 2 field static "
                   "destructured param n 2\n")  # what node prints
