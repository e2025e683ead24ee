"""Kernel paths and route patterns as NATS subjects, and back (sans-IO).

A NATS subject is a ``.``-separated list of tokens; a token is a wildcard when it is exactly
``*`` (one token) or ``>`` (the rest), and may not hold whitespace. Kernel paths allow almost any
text in a segment (``.``, ``>``, non-ASCII...), so each segment -- and the subsystem, which may
hold ``.`` -- is *escaped*: every byte of its UTF-8 form outside ``[A-Za-z0-9_-~:@!$&'()+,;=]``
becomes ``%XX`` (upper-case hex, ``%`` itself included). Escaping is injective and
reversible, so any legal path maps to a legal subject and back:

====================================  ===============================================
``users://profile/42``                ``users.profile.42``
``files://a.txt``                     ``files.a%2Etxt``
``users://profile/{id}``  (pattern)   ``users.profile.*``
``logs://app/**``         (pattern)   ``logs.app.>``
====================================  ===============================================

Publishes travel under :data:`PUBLISH_PREFIX` (and a token naming the publisher), durable
sends under :data:`DURABLE_PREFIX`, so a ``publish`` never reaches a route's queue group and
a ``send`` never reaches a subscriber (subsystems start with a letter, so no route subject
starts with ``_``).
"""

from __future__ import annotations

import re
from urllib.parse import quote, unquote

from hyphal.kernel.paths import REST, STATIC, parse_path, parse_pattern

__all__ = [
    "DURABLE_PREFIX",
    "PUBLISH_PREFIX",
    "escape",
    "path_to_subject",
    "pattern_to_subject",
    "subject_to_path",
    "unescape",
]

PUBLISH_PREFIX = "_hpub"
DURABLE_PREFIX = "_hdur"
_SAFE = "-_~:@!$&'()+,;="  # besides letters and digits: printable, no '.', '*', '>', '%'
_PLAIN = re.compile(r"[A-Za-z0-9\-_~:@!$&'()+,;=]+\Z")


def escape(text: str) -> str:
    """``text`` as one legal, non-wildcard subject token (see the module docs)."""
    if _PLAIN.match(text):
        return text
    return quote(text, safe=_SAFE).replace(".", "%2E")  # quote keeps '.'


def unescape(token: str) -> str:
    """The text :func:`escape` made ``token`` from."""
    return unquote(token, errors="strict") if "%" in token else token


def path_to_subject(path: str) -> str:
    """The subject a concrete path travels on. Raises ``ValueError`` for a malformed path."""
    sub, segments = parse_path(path)
    return ".".join([escape(sub), *map(escape, segments)])


def subject_to_path(subject: str, prefix: str | None = None) -> str:
    """The path :func:`path_to_subject` made ``subject`` from (``prefix``: a leading token to
    strip, e.g. :data:`PUBLISH_PREFIX`). Raises ``ValueError`` for a subject no path maps to."""
    tokens = subject.split(".")
    if prefix is not None:
        if tokens[0] != prefix:
            raise ValueError(f"subject {subject!r} does not start with {prefix!r}")
        tokens = tokens[1:]
    if len(tokens) < 2:
        raise ValueError(f"subject {subject!r} has no route segments")
    return f"{unescape(tokens[0])}://{'/'.join(map(unescape, tokens[1:]))}"


def pattern_to_subject(pattern: str) -> str:
    """The subject a route pattern subscribes to: parameters and ``*`` become ``*``, a trailing
    ``**`` becomes ``>``. Raises ``ValueError`` for a malformed pattern."""
    parsed = parse_pattern(pattern)
    tokens = [escape(parsed.subsystem)]
    for seg in parsed.segments:
        if seg.kind == STATIC:
            tokens.append(escape(seg.text))
        elif seg.kind == REST:
            tokens.append(">")
        else:
            tokens.append("*")
    return ".".join(tokens)
