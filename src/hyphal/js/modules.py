"""ES modules for engines without a module loader: link the graph, rewrite import/export.

Neither engine binding exposes a module loader, so the host links modules itself. Starting at
the entry file it reads each module, resolves its relative specifiers against the importing
file, and rewrites the module into a function registered with ``__hyphal_define``:

* ``import x, {a, b as c} from "./m.js"`` -> ``const __hyphal_i1 = require(id)``, and every
  reference to ``x``, ``a``, ``c`` becomes ``__hyphal_i1.default``, ``__hyphal_i1.a``,
  ``__hyphal_i1.b`` (live bindings, see below)
* ``import * as ns from "./m.js"`` -> ``const ns = require(id)``
* ``export const/let/var/function/class name`` -> the declaration plus a live getter on the
  module namespace; ``export default expr``, ``export {a as b}``, ``export * from``
* ``import("./m.js")`` and ``import.meta``

Each rewrite keeps the number of lines, and the wrapper header sits on the module's first line,
so stack traces and syntax errors point at the right lines. Dependencies evaluate before their
importers; a module body is an ``async`` function, so top-level ``await`` works.

Live bindings. An imported name reads the exporting module's namespace, whose properties are
getters of the exporter's variables, so an importer sees ``export let count`` change as the
exporter reassigns it. The linker rewrites the references with the tokenizer of
:mod:`hyphal.js.jslex`: a reference is an identifier that is not a property name (after ``.``),
an object key or a method name; a shorthand property ``{count}`` becomes ``{count: ...}`` and a
call ``f()`` becomes ``(0, ns.f)()`` (no ``this``). Only bindings that can change are rewritten:
exports declared with ``let``/``var`` and names passed on from other modules; ``const``,
``function`` and ``class`` exports are copied once (the same value, and no getter call on hot
paths), except inside an import cycle, where everything is read when used. A parameter, local
variable or ``catch`` binding of the same name shadows an import in its scope (found
approximately: a block, a function body, an arrow's expression). Limits: a ``var`` is taken
as scoped to its block, and a name bound at the module's top level as well as imported is
copied.

Raises :class:`~hyphal.js.errors.JSError` when a module cannot be found or a specifier is not a
relative path (there is no package resolution).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from hyphal.js.errors import JSError
from hyphal.js.jslex import Token, tokenize

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
class _Import:
    """One ``import ... from`` statement: its namespace variable and ``(exported, local)``
    names."""

    var: str
    target: str
    names: list[tuple[str, str]]


@dataclass
class LinkedModule:
    path: str
    code: str
    static: dict[str, str] = field(default_factory=dict)
    dynamic: dict[str, str] = field(default_factory=dict)
    # exported name -> whether its value may change after evaluation (let/var, passed on)
    exports: dict[str, bool] = field(default_factory=dict)
    stars: list[str] = field(default_factory=list)  # ``export * from`` targets
    imports: list[_Import] = field(default_factory=list)
    body: str = ""
    getters: str = ""


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
    """Rewrite one module's ``import``/``export`` statements (see the module docstring); the
    module's ``code`` is complete once :func:`link` has seen what its imports export."""
    mod = LinkedModule(path, "")
    getters: list[str] = []
    listed: dict[str, str] = {}  # export {local as exported}: exported -> local

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
        names = [("default", default)] if default else []
        for item in named.strip("{} \n").split(","):
            item = " ".join(item.split())
            if item:
                exported, _, local = item.partition(" as ")
                names.append((exported, local or exported))
        if names:
            var = f"__hyphal_i{len(mod.imports) + 1}"
            mod.imports.append(_Import(var, json.loads(target), names))
            parts.append(f"const {var} = __hyphal_require({target});{_placeholder(var)}")
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
            if len(words) == 1:
                mod.stars.append(json.loads(target))
            else:
                mod.exports[words[-1]] = False  # a namespace object
        else:
            pairs = []
            for item in clause.strip("{} \n").split(","):
                item = " ".join(item.split())
                if item:
                    a, _, b = item.partition(" as ")
                    pairs.append([a, b or a])
                    mod.exports[b or a] = True  # passed on: whatever the source does
            names = json.dumps(pairs)
        return f"{m.group('indent')}__hyphal_reexport({target}, {names});" + _lines(m.group(0))

    def export_list(m: re.Match[str]) -> str:
        for item in m.group("names").split(","):
            item = " ".join(item.split())
            if item:
                a, _, b = item.partition(" as ")
                getters.append(f"__hyphal_export({json.dumps(b or a)}, () => {a});")
                listed[b or a] = a
        return m.group("indent") + _lines(m.group(0))

    def export_default_decl(m: re.Match[str]) -> str:
        name = m.group("name")
        kind = m.group("kind")
        mod.exports["default"] = False
        if name:
            getters.append(f"__hyphal_export(\"default\", () => {name});")
            return f"{m.group('indent')}{kind}{m.group('gap')}{name}"
        getters.append("__hyphal_export(\"default\", () => __hyphal_default);")
        return f"{m.group('indent')}const __hyphal_default = {kind}{m.group('gap')}"

    def export_default(m: re.Match[str]) -> str:
        mod.exports["default"] = False
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
        mod.exports.update((n, kind in ("let", "var")) for n in names)
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
    mod.body = code
    mod.getters = " ".join(getters)
    if listed:  # export {a as b}: changes if a is a let/var here, or an import passed on
        mutable = _declared(tokenize(code), ("let", "var")).keys()
        imported = {local for imp in mod.imports for _, local in imp.names}
        for exported, local in listed.items():
            mod.exports[exported] = local in mutable or local in imported
    return mod


def _placeholder(var: str) -> str:
    return f"/*{var}*/"


def _finish(mod: LinkedModule, changes: Callable[[str, str], bool]) -> None:
    """Build ``mod.code``: rewrite references to imported bindings that ``changes(target,
    name)`` says may change (live), copy the others once, and wrap the module."""
    live: dict[str, str] = {}  # local name -> the expression that reads it
    source: dict[str, tuple[str, str]] = {}  # local name -> (namespace variable, exported)
    copies: dict[str, list[str]] = {imp.var: [] for imp in mod.imports}
    for imp in mod.imports:
        for exported, local in imp.names:
            if changes(imp.target, exported):
                live[local] = f"{imp.var}.{exported}" if _IDENT.fullmatch(exported) else (
                    f"{imp.var}[{json.dumps(exported)}]")
                source[local] = (imp.var, exported)
            else:
                copies[imp.var].append(f"{json.dumps(exported)}: {local}")
    body, getters = mod.body, mod.getters
    if live:
        tokens = tokenize(body)
        shadows = {name: scopes for name, scopes in _declared(tokens).items() if name in live}
        for local in [name for name, scopes in shadows.items() if (0, len(tokens)) in scopes]:
            del shadows[local], live[local]  # declared at the top as well: copied, not live
            var, exported = source[local]
            copies[var].append(f"{json.dumps(exported)}: {local}")
        if live:
            body = _rewrite(body, tokens, live, shadows)
            getters = _rewrite(getters, tokenize(getters), live, {})
    for var, fields in copies.items():
        copy = f" const {{{', '.join(fields)}}} = {var};" if fields else ""
        body = body.replace(_placeholder(var), copy, 1)
    deps = json.dumps({"static": mod.static, "dynamic": mod.dynamic})
    mod.code = (f"__hyphal_define({json.dumps(mod.path)}, {deps}, async function ("
                f"__hyphal_require, __hyphal_export, __hyphal_reexport, __hyphal_import, "
                f"__hyphal_meta) {{ \"use strict\"; {getters} {body}\n}});")


_NOT_A_PARAMETER_LIST = frozenset(("if", "while", "for", "switch", "with"))
_DECLARATIONS = frozenset(("let", "const", "var", "function", "class"))


def _brackets(tokens: list[Token]) -> tuple[list[int], list[int]]:
    """For each token: the index of its matching bracket (or -1), and the index of the bracket
    that encloses it (or -1)."""
    match = [-1] * len(tokens)
    enclosing = [-1] * len(tokens)
    stack: list[int] = []
    for i, token in enumerate(tokens):
        enclosing[i] = stack[-1] if stack else -1
        if token.kind != "punct":
            continue
        if token.text in ("(", "[", "{"):
            stack.append(i)
        elif token.text in (")", "]", "}") and stack:
            j = stack.pop()
            match[i], match[j] = j, i
    return match, enclosing


def _declared(tokens: list[Token], kinds: tuple[str, ...] | None = None
              ) -> dict[str, list[tuple[int, int]]]:
    """Where the module declares each name: token ranges of the scopes of its declarations (an
    over-approximation; ``(0, len(tokens))`` for the module scope). With ``kinds`` only
    declarations by these keywords (``let``, ``var``); else parameters and ``catch``
    bindings too."""
    match, enclosing = _brackets(tokens)
    count = len(tokens)
    found: dict[str, list[tuple[int, int]]] = {}
    keywords = _DECLARATIONS if kinds is None else frozenset(kinds)
    active: dict[int, bool] = {}  # enclosing bracket -> inside a let/const/var list

    def block(i: int) -> tuple[int, int]:
        """The block around token ``i``: its innermost enclosing braces, or the module; for
        ``for (let x ...)`` the loop."""
        o = enclosing[i]
        if o > 0 and tokens[o].text == "(" and tokens[o - 1].text == "for" and match[o] > o:
            close = match[o]
            if close + 1 < count and tokens[close + 1].text == "{":
                return o, match[close + 1]
            end = close + 1  # a single statement: up to its ";"
            while end < count and not (tokens[end].text == ";"
                                       and enclosing[end] == enclosing[o]):
                end += 1
            return o, end
        while o >= 0 and tokens[o].text != "{":
            o = enclosing[o]
        return (o, match[o]) if o >= 0 else (0, count)

    def body(i: int, start: int) -> tuple[int, int]:
        """The scope of parameters whose list ends at token ``i`` (``)`` or the name of an
        arrow's single parameter): the function's braces, or an arrow's expression."""
        j = i + 2 if tokens[i + 1].text == "=>" else i + 1
        if j < count and tokens[j].text == "{" and match[j] > j:
            return start, match[j]
        level = enclosing[start]  # an expression: up to a "," or ";" beside the arrow
        end = j
        while end < count and not ((tokens[end].text in (",", ";") and enclosing[end] == level)
                                   or (level >= 0 and end == match[level])):
            end += 1
        return start, end

    def add(name: str, scope: tuple[int, int]) -> None:
        found.setdefault(name, []).append(scope)

    for i, token in enumerate(tokens):
        text = token.text
        if token.kind == "punct":
            if text == ";":
                active.pop(enclosing[i], None)
            continue
        if token.kind != "id":
            continue
        prev = tokens[i - 1].text if i else ""
        nxt = tokens[i + 1].text if i + 1 < count else ""
        if text in keywords:
            if text in ("let", "const", "var"):
                active[enclosing[i]] = True
                if nxt in ("{", "[") and match[i + 1] > i:
                    scope = block(i)
                    for t in tokens[i + 2:match[i + 1]]:
                        if t.kind == "id":
                            add(t.text, scope)
            continue
        declares = prev in keywords or (prev == "*" and i > 1 and tokens[i - 2].text in keywords)
        if declares or (prev == "," and active.get(enclosing[i])):
            add(text, block(i))
        elif kinds is None and nxt == "=>":
            add(text, body(i, i))
        elif kinds is None and (open_ := _parameter_list(tokens, enclosing, i)) >= 0:
            close = match[open_]
            after = tokens[close + 1].text if 0 <= close < count - 1 else ""
            before = tokens[open_ - 1].text if open_ else ""
            if after in ("=>", "{") and before not in _NOT_A_PARAMETER_LIST:
                add(text, body(close, open_))
    return found


def _parameter_list(tokens: list[Token], enclosing: list[int], i: int) -> int:
    """The ``(`` that may open the parameter list holding token ``i`` (through destructuring
    braces and brackets), or -1."""
    o = enclosing[i]
    while o >= 0 and tokens[o].text in ("{", "["):
        o = enclosing[o]
    return o if o >= 0 and tokens[o].text == "(" else -1


def _in_class_body(tokens: list[Token], brace: int) -> bool:
    """Whether the ``{`` at ``brace`` opens a class body (``class X extends Y {``)."""
    for j in range(brace - 1, max(brace - 8, -1), -1):
        text = tokens[j].text
        if text == "class":
            return True
        if text in ("{", "}", ";", "(", ")", "="):
            return False
    return False


def _rewrite(code: str, tokens: list[Token], live: dict[str, str],
             shadows: dict[str, list[tuple[int, int]]]) -> str:
    """``code`` with each reference to a name in ``live`` replaced by its expression, except
    inside the scopes in ``shadows`` that declare the same name."""
    match, enclosing = _brackets(tokens)
    out: list[str] = []
    last = 0
    for i, token in enumerate(tokens):
        ref = live.get(token.text) if token.kind == "id" else None
        if ref is None or any(lo <= i <= hi for lo, hi in shadows.get(token.text, ())):
            continue
        prev = tokens[i - 1].text if i else ""
        nxt = tokens[i + 1].text if i + 1 < len(tokens) else ""
        if prev in (".", "?.") or (prev in ("get", "set", "static", "async") and nxt == "("):
            continue  # a property name, or a method's
        if prev in ("{", ",") and nxt == ":":
            continue  # an object key
        if nxt == "=" and prev in ("{", ";", "}", "static") and _in_class_body(
                tokens, enclosing[i]):
            continue  # a class field
        if nxt == "(" and prev in ("{", ",", "}", ";", "*") and (
                0 <= match[i + 1] < len(tokens) - 1 and tokens[match[i + 1] + 1].text == "{"):
            continue  # a method definition
        inside = enclosing[i]
        if prev in ("{", ",") and nxt in (",", "}") and inside >= 0 and (
                tokens[inside].text == "{"):
            replacement = f"{token.text}: {ref}"  # a shorthand property
        elif nxt == "(" or (nxt.startswith("`")):
            replacement = f"(0, {ref})"  # a call: no namespace as `this`
        else:
            replacement = ref
        out.append(code[last:token.start])
        out.append(replacement)
        last = token.end
    out.append(code[last:])
    return "".join(out)


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
    modules = {mod.path: mod for mod in order}

    def exported_changes(target: str, name: str, seen: frozenset[str] = frozenset()) -> bool:
        """Whether ``target``'s export ``name`` may change after evaluation (unknown: yes)."""
        mod = modules.get(target)
        if mod is None or target in seen:
            return True
        if name in mod.exports:
            return mod.exports[name]
        return any(exported_changes(star, name, seen | {target}) for star in mod.stars)

    def reaches(start: str, goal: str) -> bool:
        todo, seen = [start], {start}
        while todo:
            mod = modules.get(todo.pop())
            for dep in mod.static.values() if mod else ():
                if dep == goal:
                    return True
                if dep not in seen:
                    seen.add(dep)
                    todo.append(dep)
        return False

    for mod in order:
        # In an import cycle a module can run before its dependency has defined anything:
        # everything imported from the cycle is read when used, not copied at the start.
        _finish(mod, lambda target, name, mod=mod: (  # type: ignore[misc]
            exported_changes(target, name) or reaches(target, mod.path)))
    return order
