"""Paths and route patterns: ``subsystem://segment/segment``.

A *path* names one destination: a subsystem (letters, digits, ``_``, ``-`` and ``.``; it starts
with a letter), ``://``, then one or more ``/``-separated segments. A segment is any non-empty
text without ``/``, whitespace, ``{``, ``}`` or ``*`` (those spell patterns).

A *pattern* is a path whose segments may also be

- ``{name}`` or ``{name:type}``: one segment captured into ``msg.params[name]``; ``type`` is
  ``str`` (the default), ``int`` or ``float`` and the segment must convert;
- ``*``: any one segment (not captured);
- ``**``: only as the last segment, one or more remaining segments, captured joined with
  ``/`` as ``msg.params["**"]``.

Everything here raises ``ValueError`` naming the part that is wrong.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

__all__ = [
    "PARAM_TYPES",
    "Pattern",
    "Segment",
    "parse_path",
    "parse_pattern",
    "split_path",
]

_SUBSYSTEM = re.compile(r"[A-Za-z][A-Za-z0-9_.\-]*\Z")
_PARAM = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?::([A-Za-z]+))?\}\Z")
_BAD_CHARS = re.compile(r"[\s{}*]")
_INT = re.compile(r"[+-]?\d+\Z")
_FLOAT = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\Z")

# kinds, in matching priority order (lower wins at the same position)
STATIC, INT, FLOAT, STR, STAR, REST = range(6)
PARAM_TYPES: Final = {"int": INT, "float": FLOAT, "str": STR}


def split_path(path: str) -> tuple[str, str]:
    """``"users://a/b"`` -> ``("users", "a/b")``; checks only the ``://`` and the subsystem."""
    if not isinstance(path, str):
        raise TypeError(f"a path is a str like 'users://profile/42', not {type(path).__name__}")
    sub, sep, rest = path.partition("://")
    if not sep:
        raise ValueError(
            f"path {path!r} has no '://': write it as 'subsystem://segment/segment'")
    if not _SUBSYSTEM.match(sub):
        raise ValueError(
            f"path {path!r}: subsystem {sub!r} must start with a letter and hold only letters, "
            "digits, '_', '-' or '.'")
    if not rest:
        raise ValueError(f"path {path!r} has no segments after '{sub}://'")
    return sub, rest


def parse_path(path: str) -> tuple[str, list[str]]:
    """Validate a concrete path and return ``(subsystem, segments)``.

    Raises ``ValueError`` naming the bad part (the subsystem, an empty segment, a pattern
    character) and ``TypeError`` for a non-string.
    """
    sub, rest = split_path(path)
    segments = rest.split("/")
    for i, seg in enumerate(segments):
        if not seg:
            raise ValueError(f"path {path!r}: segment {i + 1} is empty (a '//' or a trailing '/')")
        if _BAD_CHARS.search(seg):
            raise ValueError(
                f"path {path!r}: segment {seg!r} holds whitespace or one of '{{', '}}', '*', "
                "which only patterns may use")
    return sub, segments


@dataclass(frozen=True, slots=True)
class Segment:
    kind: int
    """One of STATIC, INT, FLOAT, STR, STAR, REST (also their priority: lower wins)."""
    text: str
    """The literal for STATIC, the parameter name for params, ``*``/``**`` otherwise."""


@dataclass(frozen=True, slots=True)
class Pattern:
    """A parsed route pattern."""

    text: str
    subsystem: str
    segments: tuple[Segment, ...]

    @property
    def is_static(self) -> bool:
        return all(s.kind == STATIC for s in self.segments)

    @property
    def shape(self) -> tuple[tuple[int, str], ...]:
        """What the matcher sees: two patterns with one shape are ambiguous."""
        return tuple((s.kind, s.text if s.kind == STATIC else "") for s in self.segments)

    @property
    def param_names(self) -> tuple[str | None, ...]:
        """Per captured position (params, ``**``): its name; ``None`` for ``*``."""
        out: list[str | None] = []
        for s in self.segments:
            if s.kind in (INT, FLOAT, STR):
                out.append(s.text)
            elif s.kind == STAR:
                out.append(None)
            elif s.kind == REST:
                out.append("**")
        return tuple(out)


def parse_pattern(pattern: str, *, subsystem: str | None = None) -> Pattern:
    """Parse a route pattern (see the module docs).

    ``subsystem``: when given, ``pattern`` may be relative (``"profile/{id}"``) and an absolute
    one must name that subsystem. Raises ``ValueError`` naming the bad segment.
    """
    if subsystem is not None and "://" not in pattern:
        pattern = f"{subsystem}://{pattern}"
    sub, rest = split_path(pattern)
    if subsystem is not None and sub != subsystem:
        raise ValueError(
            f"pattern {pattern!r} names subsystem {sub!r} but is registered on {subsystem!r}")
    raw = rest.split("/")
    segments: list[Segment] = []
    names: set[str] = set()
    for i, seg in enumerate(raw):
        where = f"pattern {pattern!r}, segment {i + 1} {seg!r}"
        if not seg:
            raise ValueError(f"pattern {pattern!r}: segment {i + 1} is empty")
        if seg == "**":
            if i != len(raw) - 1:
                raise ValueError(f"{where}: '**' may only be the last segment")
            segments.append(Segment(REST, "**"))
        elif seg == "*":
            segments.append(Segment(STAR, "*"))
        elif seg.startswith("{"):
            m = _PARAM.match(seg)
            if m is None:
                raise ValueError(f"{where}: write a parameter as {{name}} or {{name:int}}")
            name, typ = m.group(1), m.group(2) or "str"
            kind = PARAM_TYPES.get(typ)
            if kind is None:
                raise ValueError(
                    f"{where}: unknown parameter type {typ!r}; use one of {sorted(PARAM_TYPES)}")
            if name in names:
                raise ValueError(f"{where}: parameter {name!r} appears twice")
            names.add(name)
            segments.append(Segment(kind, name))
        elif _BAD_CHARS.search(seg):
            raise ValueError(
                f"{where}: a segment is a literal, {{name}}, {{name:type}}, '*' or a last '**'")
        else:
            segments.append(Segment(STATIC, seg))
    return Pattern(pattern, sub, tuple(segments))


def convert(kind: int, seg: str) -> object:
    """Convert a captured segment; ``None`` when it does not fit the type."""
    if kind == STR:
        return seg
    if kind == INT:
        return int(seg) if _INT.match(seg) else None
    return float(seg) if _FLOAT.match(seg) else None
