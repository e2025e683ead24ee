"""A small JavaScript tokenizer: enough to find identifier references in a module.

The module linker (:mod:`hyphal.js.modules`) makes imported bindings live by rewriting each
reference to an imported name into a property read on the exporting module's namespace. That
needs to tell an identifier apart from the same letters inside a string, a template literal, a
comment or a regular expression, and to know what token comes before and after it. This module
does only that: :func:`tokenize` splits source text into :class:`Token` objects (identifiers,
punctuators, literals), skipping whitespace and comments. It is not a parser; the linker's
heuristics on top of it are documented there.

The one classic ambiguity -- ``/`` as division or as the start of a regular expression -- is
decided by the previous token, as most tokenizers do: after an identifier (other than a keyword
such as ``return``), a number, a literal, ``)``, ``]`` or ``}`` it is division.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Token", "tokenize"]

_SPACE = re.compile(r"(?:\s+|//[^\n]*|/\*.*?\*/)+", re.S)
_IDENT = re.compile(r"#?[A-Za-z_$\u0080-\uffff][\w$\u0080-\uffff]*")
_NUMBER = re.compile(r"0[xXoObB][\da-fA-F_]+n?|(?:\d[\d_]*\.?[\d_]*|\.\d[\d_]*)"
                     r"(?:[eE][+-]?\d+)?n?")
_PUNCT = re.compile(r">>>=|\.\.\.|===|!==|\*\*=|<<=|>>=|>>>|&&=|\|\|=|\?\?=|=>|==|!=|<=|>=|"
                    r"&&|\|\||\?\?|\?\.(?!\d)|\+\+|--|[-+*/%&|^]=|\*\*|<<|>>|"
                    r"[{}()\[\];,<>+\-*/%&|^!~?:=.@]")
_STRING = {"'": re.compile(r"'(?:[^'\\\n]|\\.|\\\n)*'?", re.S),
           '"': re.compile(r'"(?:[^"\\\n]|\\.|\\\n)*"?', re.S)}
_TEMPLATE_PART = re.compile(r"(?:[^`\\$]|\\.|\$(?!\{))*", re.S)
_REGEX = re.compile(r"/(?:[^/\\\[\n]|\\.|\[(?:[^\]\\\n]|\\.)*\])+/[A-Za-z]*")
# After these an expression starts, so "/" opens a regular expression.
_KEYWORDS_BEFORE_EXPRESSION = frozenset(
    ("return", "typeof", "instanceof", "in", "of", "new", "delete", "void", "throw", "case",
     "do", "else", "yield", "await"))


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # "id", "punct", "num", "str" (strings, template parts, regexps)
    text: str
    start: int
    end: int


def tokenize(source: str) -> list[Token]:
    """The tokens of ``source``. Unterminated literals end at the end of the text (the engine
    reports the syntax error when it runs the code)."""
    tokens: list[Token] = []
    append = tokens.append
    templates: list[int] = []  # brace depth at each open "${" of a template literal
    depth = 0
    pos = 0
    n = len(source)
    while True:
        m = _SPACE.match(source, pos)
        if m:
            pos = m.end()
        if pos >= n:
            return tokens
        ch = source[pos]
        if ch == "`" or (ch == "}" and templates and templates[-1] == depth):
            if ch == "}":
                templates.pop()
            end = _TEMPLATE_PART.match(source, pos + 1).end()  # type: ignore[union-attr]
            if source.startswith("${", end):
                templates.append(depth)
                end += 2
            elif end < n:
                end += 1  # the closing backtick
            append(Token("str", source[pos:end], pos, end))
            pos = end
            continue
        m = _IDENT.match(source, pos)
        if m:
            append(Token("id", m.group(), pos, m.end()))
            pos = m.end()
            continue
        if ch.isdigit() or (ch == "." and source[pos + 1:pos + 2].isdigit()):
            m = _NUMBER.match(source, pos)
            end = m.end() if m else pos + 1
            append(Token("num", source[pos:end], pos, end))
            pos = end
            continue
        if ch in _STRING:
            end = _STRING[ch].match(source, pos).end()  # type: ignore[union-attr]
            append(Token("str", source[pos:end], pos, end))
            pos = end
            continue
        if ch == "/" and _regex_allowed(tokens):
            m = _REGEX.match(source, pos)
            if m:
                append(Token("str", m.group(), pos, m.end()))
                pos = m.end()
                continue
        m = _PUNCT.match(source, pos)
        end = m.end() if m else pos + 1
        text = source[pos:end]
        if text == "{":
            depth += 1
        elif text == "}":
            depth -= 1
        append(Token("punct", text, pos, end))
        pos = end


def _regex_allowed(tokens: list[Token]) -> bool:
    if not tokens:
        return True
    last = tokens[-1]
    if last.kind == "id":
        return last.text in _KEYWORDS_BEFORE_EXPRESSION
    if last.kind in ("num", "str"):
        return last.text.endswith("${")  # right after a template's "${"
    return last.text not in (")", "]", "}", "++", "--")
