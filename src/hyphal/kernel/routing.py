"""Route matching: a sans-IO table from patterns to values (no I/O, no kernel, no messages).

Theory of operation
-------------------
Static patterns (no parameter or wildcard) live in one ``dict`` keyed by their full text, so a
static path resolves with a single lookup whatever the table's size. Every pattern is also
inserted into a segment trie, one node per segment position:

- ``static``: literal segment -> child node (a dict, so fan-out costs nothing);
- ``params``: ``(kind, child)`` for ``{x:int}``, ``{x:float}``, ``{x}``, in that order;
- ``star``: the child for ``*``; ``rest``: the values of patterns ending in ``**``;
- ``values``: the values of patterns that end at this node.

Parameters are keyed by *type*, not name: ``a://x/{id}/b`` and ``a://x/{name}/c`` share one node
and each value remembers its own names. Matching walks the trie depth-first trying the children
in priority order -- static, then typed params, then ``*``, then ``**`` -- and backtracks when a
branch dead-ends, so the winner is the pattern whose per-segment kinds are lexicographically
smallest: static > param > ``*`` > ``**`` at the first position where they differ. Two patterns
with the same shape (kinds and literals) would be indistinguishable: :meth:`RouteTable.add`
rejects the second with :class:`AmbiguousRoute` unless the table collects many values per
pattern (``unique=False``, used for publish/subscribe). Lookup cost depends on the path's length,
never on the number of patterns.

Hot paths: the ``hot`` dict starts as a copy of the static routes and also remembers the
results of up to ``cache`` dynamic matches (it is reset to the static routes when full, and
whenever a dynamic pattern is added or removed), so a path seen recently costs one dict lookup
whatever kind of pattern it matched. ``cache=0`` turns this off.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import Any, Generic, TypeVar

from hyphal.kernel.paths import (
    INT,
    REST,
    STAR,
    STATIC,
    STR,
    Pattern,
    convert,
    parse_path,
)

__all__ = ["AmbiguousRoute", "RouteTable"]

V = TypeVar("V")
_VALID_SEG = re.compile(r"[^\s{}*/]+\Z")
_NO_PARAMS: Mapping[str, Any] = MappingProxyType({})


class AmbiguousRoute(ValueError):
    """Two patterns would match exactly the same paths with the same priority."""


class _Entry(Generic[V]):
    __slots__ = ("names", "pattern", "value")

    def __init__(self, pattern: Pattern, value: V) -> None:
        self.pattern = pattern
        self.value = value
        self.names = pattern.param_names


class _Node(Generic[V]):
    __slots__ = ("params", "rest", "star", "static", "values")

    def __init__(self) -> None:
        self.static: dict[str, _Node[V]] = {}
        self.params: list[tuple[int, _Node[V]]] = []
        self.star: _Node[V] | None = None
        self.rest: list[_Entry[V]] = []
        self.values: list[_Entry[V]] = []

    def child(self, kind: int, text: str) -> _Node[V]:
        if kind == STATIC:
            node = self.static.get(text)
            if node is None:
                node = self.static[text] = _Node()
            return node
        if kind == STAR:
            if self.star is None:
                self.star = _Node()
            return self.star
        for k, node in self.params:
            if k == kind:
                return node
        node = _Node()
        self.params.append((kind, node))
        self.params.sort(key=lambda kn: kn[0])
        return node

    def entries(self) -> Iterator[_Entry[V]]:
        yield from self.values
        yield from self.rest
        for node in self.static.values():
            yield from node.entries()
        for _, node in self.params:
            yield from node.entries()
        if self.star is not None:
            yield from self.star.entries()


def _params(names: tuple[str | None, ...], caps: list[Any]) -> dict[str, Any]:
    if len(caps) == 1:
        name = names[0]
        return {name: caps[0]} if name is not None else {}
    return {name: v for name, v in zip(names, caps, strict=True) if name is not None}


class RouteTable(Generic[V]):
    """Patterns -> values, with the lookup rules in the module docs.

    ``unique=True`` (routes): one value per pattern shape; :meth:`add` raises
    :class:`AmbiguousRoute` for a second one. ``unique=False`` (subscriptions): any number,
    and :meth:`match_all` returns every value whose pattern matches.
    """

    __slots__ = ("_cache_limit", "_cached", "_count", "_hot", "_roots", "_static", "_unique")

    def __init__(self, *, unique: bool = True, cache: int = 4096) -> None:
        self._unique = unique
        self._static: dict[str, tuple[V, Mapping[str, Any]]] = {}
        self._hot: dict[str, tuple[V, Mapping[str, Any]]] = {}
        """The static routes plus up to ``cache`` recently matched dynamic paths."""
        self._cache_limit = cache
        self._cached = 0
        self._roots: dict[str, _Node[V]] = {}
        self._count = 0

    @property
    def hot(self) -> dict[str, tuple[V, Mapping[str, Any]]]:
        """Path -> ``(value, params)`` for every static route and recently matched dynamic
        paths: one ``dict.get`` answers most lookups. Read it, never write it; it keeps its
        identity for the table's life."""
        return self._hot

    def _forget_cached(self) -> None:
        if self._cached:
            self._hot.clear()
            self._hot.update(self._static)
            self._cached = 0

    def __len__(self) -> int:
        return self._count

    def add(self, pattern: Pattern, value: V) -> None:
        """Register ``value`` under ``pattern``. Raises :class:`AmbiguousRoute` (a
        ``ValueError``) when a unique table already has a pattern of the same shape."""
        node = self._roots.get(pattern.subsystem)
        if node is None:
            node = self._roots[pattern.subsystem] = _Node()
        for seg in pattern.segments[:-1]:
            node = node.child(seg.kind, seg.text)
        last = pattern.segments[-1]
        if last.kind == REST:
            bucket = node.rest
        else:
            node = node.child(last.kind, last.text)
            bucket = node.values
        if self._unique and bucket:
            other = bucket[0].pattern.text
            raise AmbiguousRoute(
                f"route {pattern.text!r} is ambiguous with the registered {other!r}: both match "
                "the same paths with the same priority; remove one or make them differ")
        bucket.append(_Entry(pattern, value))
        if self._unique and pattern.is_static:
            self._static[pattern.text] = self._hot[pattern.text] = (value, _NO_PARAMS)
        else:
            self._forget_cached()  # a cached dynamic match may now resolve differently
        self._count += 1

    def remove(self, pattern: Pattern, value: Any = None) -> bool:
        """Unregister ``pattern`` (only the entry holding ``value`` when given). True if found.
        Nodes left empty stay in the trie; they cost nothing at lookup."""
        node: _Node[V] | None = self._roots.get(pattern.subsystem)
        for seg in pattern.segments[:-1]:
            if node is None:
                return False
            node = self._step(node, seg.kind, seg.text)
        if node is None:
            return False
        last = pattern.segments[-1]
        if last.kind == REST:
            bucket = node.rest
        else:
            nxt = self._step(node, last.kind, last.text)
            if nxt is None:
                return False
            bucket = nxt.values
        for i, entry in enumerate(bucket):
            if entry.pattern.shape == pattern.shape and (value is None or entry.value is value):
                del bucket[i]
                self._count -= 1
                if self._unique and pattern.is_static:
                    self._static.pop(pattern.text, None)
                    self._hot.pop(pattern.text, None)
                self._forget_cached()
                return True
        return False

    @staticmethod
    def _step(node: _Node[V], kind: int, text: str) -> _Node[V] | None:
        if kind == STATIC:
            return node.static.get(text)
        if kind == STAR:
            return node.star
        for k, child in node.params:
            if k == kind:
                return child
        return None

    # -- lookup ----------------------------------------------------------------------------

    def match(self, path: str) -> tuple[V, Mapping[str, Any]] | None:
        """The highest-priority ``(value, params)`` for ``path``, or ``None``; ``params`` is
        read-only. Raises ``ValueError`` for a malformed path (naming the bad part) and
        ``TypeError`` for a non-string."""
        hit = self._hot.get(path)
        if hit is not None:
            return hit
        if type(path) is not str:
            parse_path(path)  # raises TypeError
        sub, _, rest = path.partition("://")
        root = self._roots.get(sub)
        if root is not None:
            segs = rest.split("/")
            found = _search(root, segs, len(segs))
            if found is not None:
                entry, caps = found
                hit = (entry.value, MappingProxyType(_params(entry.names, caps)))
                if self._unique and self._cache_limit:
                    if self._cached >= self._cache_limit:
                        self._forget_cached()
                    self._hot[path] = hit
                    self._cached += 1
                return hit
        parse_path(path)  # raises for a malformed path, naming the bad part
        return None

    def match_all(self, path: str) -> list[tuple[str, V, dict[str, Any]]]:
        """Every ``(pattern, value, params)`` whose pattern matches ``path``, best first."""
        sub, _, rest = path.partition("://")
        root = self._roots.get(sub)
        out: list[tuple[str, V, dict[str, Any]]] = []
        if root is not None:
            segs = rest.split("/")
            _collect(root, segs, 0, len(segs), [], out)
        if not out:
            parse_path(path)
        return out

    def patterns(self) -> list[str]:
        """Every registered pattern's text (duplicates for multi-value patterns)."""
        return [e.pattern.text for root in self._roots.values() for e in root.entries()]

    def closest(self, path: str) -> str | None:
        """The registered pattern most like ``path`` (for error messages); ``None`` if empty.

        Looks only below the deepest trie node ``path`` reaches, so it stays cheap with many
        routes."""
        sub, _, rest = path.partition("://")
        root = self._roots.get(sub)
        if root is None:
            subs = difflib.get_close_matches(sub, list(self._roots), n=1, cutoff=0.0)
            if not subs:
                return None
            root = self._roots[subs[0]]
        node = root
        for seg in rest.split("/"):
            nxt = node.static.get(seg)
            if nxt is None and node.params:
                nxt = node.params[0][1]
            if nxt is None:
                nxt = node.star
            if nxt is None or not any(True for _ in nxt.entries()):
                break
            node = nxt
        entries = [e for _, e in zip(range(500), node.entries(), strict=False)]
        if not entries:
            entries = [e for _, e in zip(range(500), root.entries(), strict=False)]
        if not entries:
            return None
        segs = rest.split("/")

        def likeness(entry: _Entry[V]) -> float:
            # compare with the pattern's wildcards filled in from the path itself
            filled = [seg.text if seg.kind == STATIC else (segs[i] if i < len(segs) else "")
                      for i, seg in enumerate(entry.pattern.segments)]
            return difflib.SequenceMatcher(None, rest, "/".join(filled)).ratio()

        return max(entries, key=likeness).pattern.text

def _valid(seg: str) -> bool:
    return seg.isalnum() or _VALID_SEG.match(seg) is not None


def _capture(kind: int, seg: str) -> Any:
    if kind == STR:
        return seg if _valid(seg) else None
    if kind == INT and seg.isdigit():
        return int(seg)
    return convert(kind, seg)


def _search(root: _Node[V], segs: list[str], n: int) -> tuple[_Entry[V], list[Any]] | None:
    """Depth-first, in priority order, without recursion: a choice point is pushed only where
    a node offers another way to continue, so the common path (one way at each node) is a
    plain loop."""
    caps: list[Any] = []
    stack: list[tuple[_Node[V], int, int, int]] = []
    node, i, alt = root, 0, 0
    while True:
        if i == n:
            if node.values:
                return node.values[0], caps
        else:
            seg = segs[i]
            params = node.params
            np = len(params)
            nxt: _Node[V] | None = None
            # alternatives: 0 static, 1..np params, np+1 star, np+2 rest
            if alt == 0:
                alt = 1
                nxt = node.static.get(seg)
            while nxt is None and alt <= np:
                kind, child = params[alt - 1]
                alt += 1
                value = _capture(kind, seg)
                if value is not None:
                    if alt <= np or node.star is not None or node.rest:
                        stack.append((node, i, alt, len(caps)))
                    caps.append(value)
                    nxt = child
                    break
            else:
                if nxt is not None:
                    if np or node.star is not None or node.rest:
                        stack.append((node, i, 1, len(caps)))
                elif alt == np + 1 and node.star is not None:
                    alt += 1
                    if _valid(seg):
                        if node.rest:
                            stack.append((node, i, alt, len(caps)))
                        caps.append(seg)
                        nxt = node.star
                elif alt <= np + 2 and node.rest:
                    tail = segs[i:]
                    if all(map(_valid, tail)):
                        caps.append("/".join(tail))
                        return node.rest[0], caps
            if nxt is not None:
                node, i, alt = nxt, i + 1, 0
                continue
        if not stack:
            return None
        node, i, alt, ncaps = stack.pop()
        del caps[ncaps:]


def _collect(node: _Node[V], segs: list[str], i: int, n: int, caps: list[Any],
             out: list[tuple[str, V, dict[str, Any]]]) -> None:
    if i == n:
        out.extend((e.pattern.text, e.value, _params(e.names, caps)) for e in node.values)
        return
    seg = segs[i]
    child = node.static.get(seg)
    if child is not None:
        _collect(child, segs, i + 1, n, caps, out)
    for kind, child in node.params:
        value = _capture(kind, seg)
        if value is not None:
            caps.append(value)
            _collect(child, segs, i + 1, n, caps, out)
            caps.pop()
    if node.star is not None and _valid(seg):
        caps.append(seg)
        _collect(node.star, segs, i + 1, n, caps, out)
        caps.pop()
    if node.rest and all(map(_valid, segs[i:])):
        caps.append("/".join(segs[i:]))
        out.extend((e.pattern.text, e.value, _params(e.names, caps)) for e in node.rest)
        caps.pop()


