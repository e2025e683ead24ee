"""ES modules for engines without a module loader: link the graph, rewrite import/export.

Neither engine binding exposes a module loader, so the host links modules itself. Starting at
the entry file it reads each module, resolves its relative specifiers against the importing
file, and rewrites the module into a function registered with ``__hyphal_define``:

* ``import x, {a, b as c} from "./m.js"`` -> ``const {default: x, a, b: c} = require(id)``
* ``import * as ns from "./m.js"`` -> ``const ns = require(id)``
* ``export const/let/var/function/class name`` -> the declaration plus a live getter on the
  module namespace; ``export default expr``, ``export {a as b}``, ``export * from``
* ``import("./m.js")`` and ``import.meta``

Each rewrite keeps the number of lines, and the wrapper header sits on the module's first line,
so stack traces and syntax errors point at the right lines. Dependencies evaluate before their
importers; a module body is an ``async`` function, so top-level ``await`` works. Bindings are
copied at import time (not live) except through namespace objects.

Raises :class:`~hyphal.js.errors.JSError` when a module cannot be found or a specifier is not a
relative path (there is no package resolution).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field

from hyphal.js.errors import JSError

__all__ = ["LinkedModule", "link", "looks_like_module", "transform"]

_Q = r"""(?P<q>['"])(?P<spec>[^'"\n]+)(?P=q)"""
_CLAUSE = (r"(?P<clause>[\w$]+\s*,?\s*(?:\{[^}]*\}|\*\s+as\s+[\w$]+)?"
           r"|\{[^}]*\}|\*\s+as\s+[\w$]+)")
_IMPORT_FROM = re.compile(
    r"^(?P<indent>[ \t]*)import\s+" + _CLAUSE + r"\s*from\s*" + _Q + r"[ \t]*;?", re.M)
_IMPORT_BARE = re.compile(r"^(?P<indent>[ \t]*)import\s*" + _Q + r"[ \t]*;?", re.M)
_EXPORT_FROM = re.compile(
    r"^(?P<indent>[ \t]*)export\s*(?P<clause>\*\s*(?:as\s+[\w$]+)?|\{[^}]*\})\s*from\s*"
    + _Q + r"[ \t]*;?", re.M)
_EXPORT_LIST = re.compile(r"^(?P<indent>[ \t]*)export\s*\{(?P<names>[^}]*)\}[ \t]*;?", re.M)
_EXPORT_DEFAULT_DECL = re.compile(
    r"^(?P<indent>[ \t]*)export\s+default\s+(?P<kind>(?:async\s+)?function\s*\*?|class)"
    r"(?P<gap>\s*)(?P<name>[\w$]*)", re.M)
_EXPORT_DEFAULT = re.compile(r"^(?P<indent>[ \t]*)export\s+default\s+", re.M)
_EXPORT_DECL = re.compile(
    r"^(?P<indent>[ \t]*)export\s+(?P<kind>(?:async\s+)?function\s*\*?|class|const|let|var)"
    r"\s+(?P<rest>[^\n]*)", re.M)
_DYNAMIC_IMPORT = re.compile(r"(?<![\w$.])import\s*\(\s*" + _Q + r"\s*\)")
_DYNAMIC_ANY = re.compile(r"(?<![\w$.])import\s*\(")
_IMPORT_META = re.compile(r"(?<![\w$.])import\.meta\b")
_MODULE_SYNTAX = re.compile(r"^[ \t]*(?:import\s*[\w${*'\"]|export\s)", re.M)
_TOP_LEVEL_AWAIT = re.compile(r"^await\s", re.M)
_IDENT = re.compile(r"[A-Za-z_$][\w$]*")


def looks_like_module(path: str, source: str) -> bool:
    """Whether ``source`` should run as an ES module: ``.mjs`` files, and files with top-level
    ``import``/``export`` statements or top-level ``await`` (node's syntax detection)."""
    if path.endswith(".mjs"):
        return True
    if path.endswith(".cjs"):
        return False
    return bool(_MODULE_SYNTAX.search(source) or _TOP_LEVEL_AWAIT.search(source))


def _lines(text: str) -> str:
    return "\n" * text.count("\n")


def _binding_names(rest: str) -> list[str]:
    """Names declared by ``const a = 1, {b, c: d} = x`` (best effort for the common forms)."""
    names: list[str] = []
    depth = 0
    i = 0
    expect_name = True
    while i < len(rest):
        ch = rest[i]
        if ch in "{[":
            if expect_name:
                end = _matching(rest, i)
                pattern = rest[i + 1:end]
                for part in pattern.split(","):
                    part = part.split("=")[0]
                    part = part.split(":")[-1].strip().lstrip(".")
                    m = _IDENT.match(part)
                    if m:
                        names.append(m.group(0))
                i = end + 1
                expect_name = False
                continue
            depth += 1
        elif ch in "}])":
            depth -= 1
        elif ch == "(":
            depth += 1
        elif ch == "," and depth == 0:
            expect_name = True
        elif ch == ";" and depth == 0:
            break
        elif expect_name and not ch.isspace():
            m = _IDENT.match(rest, i)
            if m:
                names.append(m.group(0))
                i = m.end()
                expect_name = False
                continue
        i += 1
    return names


def _matching(text: str, start: int) -> int:
    pairs = {"{": "}", "[": "]"}
    stack = [pairs[text[start]]]
    for i in range(start + 1, len(text)):
        ch = text[i]
        if ch in pairs:
            stack.append(pairs[ch])
        elif stack and ch == stack[-1]:
            stack.pop()
            if not stack:
                return i
    return len(text)


@dataclass
class LinkedModule:
    path: str
    code: str
    static: dict[str, str] = field(default_factory=dict)
    dynamic: dict[str, str] = field(default_factory=dict)


def _resolve(spec: str, importer: str, *, must_exist: bool = True) -> str:
    if spec.startswith("file://"):
        spec = spec[len("file://"):]
    if not (spec.startswith(("./", "../", "/"))):
        raise JSError(f"Cannot find package '{spec}' imported from {importer}: hyphal resolves "
                      "only relative and absolute file paths")
    path = os.path.normpath(os.path.join(os.path.dirname(importer), spec))
    if not must_exist:
        return path
    if not os.path.exists(path):
        for ext in (".js", ".mjs"):
            if os.path.exists(path + ext):
                return path + ext
        raise JSError(f"Cannot find module '{path}' imported from {importer}")
    return path


def transform(source: str, path: str) -> LinkedModule:
    """Rewrite one module's ``import``/``export`` statements (see the module docstring)."""
    mod = LinkedModule(path, "")
    getters: list[str] = []

    def dep(spec: str) -> str:
        target = _resolve(spec, path)
        mod.static[spec] = target
        return json.dumps(target)

    def import_from(m: re.Match[str]) -> str:
        clause = m.group("clause").strip()
        target = dep(m.group("spec"))
        parts: list[str] = []
        namespace = None
        default = None
        named = ""
        if clause.startswith("{"):
            named = clause
        elif clause.startswith("*"):
            namespace = clause.split()[-1]
        else:
            head, _, tail = clause.partition(",")
            default = head.strip()
            tail = tail.strip()
            if tail.startswith("*"):
                namespace = tail.split()[-1]
            elif tail:
                named = tail
        fields = []
        if default:
            fields.append(f"default: {default}")
        for item in named.strip("{} \n").split(","):
            item = " ".join(item.split())
            if not item:
                continue
            local = item.split(" as ")
            fields.append(f"{local[0]}: {local[1]}" if len(local) == 2 else local[0])
        if fields:
            parts.append(f"const {{{', '.join(fields)}}} = __hyphal_require({target});")
        if namespace:
            parts.append(f"const {namespace} = __hyphal_require({target});")
        return m.group("indent") + " ".join(parts) + _lines(m.group(0))

    def import_bare(m: re.Match[str]) -> str:
        dep(m.group("spec"))
        return m.group("indent") + _lines(m.group(0))

    def export_from(m: re.Match[str]) -> str:
        target = dep(m.group("spec"))
        clause = m.group("clause").strip()
        if clause.startswith("*"):
            words = clause.split()
            names = "null" if len(words) == 1 else json.dumps([["*", words[-1]]])
        else:
            pairs = []
            for item in clause.strip("{} \n").split(","):
                item = " ".join(item.split())
                if item:
                    a, _, b = item.partition(" as ")
                    pairs.append([a, b or a])
            names = json.dumps(pairs)
        return f"{m.group('indent')}__hyphal_reexport({target}, {names});" + _lines(m.group(0))

    def export_list(m: re.Match[str]) -> str:
        for item in m.group("names").split(","):
            item = " ".join(item.split())
            if item:
                a, _, b = item.partition(" as ")
                getters.append(f"__hyphal_export({json.dumps(b or a)}, () => {a});")
        return m.group("indent") + _lines(m.group(0))

    def export_default_decl(m: re.Match[str]) -> str:
        name = m.group("name")
        kind = m.group("kind")
        if name:
            getters.append(f"__hyphal_export(\"default\", () => {name});")
            return f"{m.group('indent')}{kind}{m.group('gap')}{name}"
        getters.append("__hyphal_export(\"default\", () => __hyphal_default);")
        return f"{m.group('indent')}const __hyphal_default = {kind}{m.group('gap')}"

    def export_default(m: re.Match[str]) -> str:
        getters.append("__hyphal_export(\"default\", () => __hyphal_default);")
        return f"{m.group('indent')}const __hyphal_default = "

    def export_decl(m: re.Match[str]) -> str:
        kind, rest = m.group("kind"), m.group("rest")
        if kind in ("const", "let", "var"):
            names = _binding_names(rest)
        else:
            found = _IDENT.match(rest.lstrip("* "))
            names = [found.group(0)] if found else []
        getters.extend(f"__hyphal_export({json.dumps(n)}, () => {n});" for n in names)
        return f"{m.group('indent')}{kind} {rest}"

    def dynamic(m: re.Match[str]) -> str:
        spec = m.group("spec")
        try:  # a missing module rejects the import() promise when it runs, as in node
            mod.dynamic[spec] = _resolve(spec, path)
        except JSError:
            pass
        return f"__hyphal_import({json.dumps(spec)})"

    code = _IMPORT_FROM.sub(import_from, source)
    code = _IMPORT_BARE.sub(import_bare, code)
    code = _EXPORT_FROM.sub(export_from, code)
    code = _EXPORT_LIST.sub(export_list, code)
    code = _EXPORT_DEFAULT_DECL.sub(export_default_decl, code)
    code = _EXPORT_DEFAULT.sub(export_default, code)
    code = _EXPORT_DECL.sub(export_decl, code)
    code = _DYNAMIC_IMPORT.sub(dynamic, code)
    code = _DYNAMIC_ANY.sub("__hyphal_import(", code)
    code = _IMPORT_META.sub("__hyphal_meta", code)
    mod.code = code
    mod_getters = " ".join(getters)
    deps = json.dumps({"static": mod.static, "dynamic": mod.dynamic})
    mod.code = (f"__hyphal_define({json.dumps(path)}, {deps}, async function (__hyphal_require, "
                f"__hyphal_export, __hyphal_reexport, __hyphal_import, __hyphal_meta) {{ "
                f"\"use strict\"; {mod_getters} {code}\n}});")
    return mod


def link(entry: str, entry_source: str | None = None) -> list[LinkedModule]:
    """Every module reachable from ``entry`` (static and dynamic imports), dependencies first.

    Raises :class:`JSError` for a module that cannot be found or read.
    """
    order: list[LinkedModule] = []
    seen: set[str] = set()

    def visit(path: str, source: str | None) -> None:
        if path in seen:
            return
        seen.add(path)
        if source is None:
            try:
                with open(path, encoding="utf-8") as f:
                    source = f.read()
            except OSError as exc:
                raise JSError(f"Cannot read module '{path}': {exc.strerror}") from None
        mod = transform(source, path)
        for target in [*mod.static.values(), *mod.dynamic.values()]:
            visit(target, None)
        order.append(mod)

    visit(entry, entry_source)
    return order
