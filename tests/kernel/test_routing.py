"""Route matching: the trie agrees with a simple reference matcher; priorities, ambiguity,
10k routes, removal and the hot-path cache."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hyphal.kernel.paths import parse_path, parse_pattern
from hyphal.kernel.routing import AmbiguousRoute, RouteTable

# -- a reference matcher: per pattern, segment by segment; the best is the smallest rank ------

_RANK = {"static": 0, "int": 1, "float": 2, "str": 3, "*": 4, "**": 5}


def _ref_one(psegs: list[str], segs: list[str]) -> tuple[list[int], dict[str, Any]] | None:
    rank: list[int] = []
    params: dict[str, Any] = {}
    for i, ps in enumerate(psegs):
        if ps == "**":
            if i >= len(segs):
                return None
            rank.append(_RANK["**"])
            params["**"] = "/".join(segs[i:])
            return rank, params
        if i >= len(segs):
            return None
        s = segs[i]
        if ps == "*":
            rank.append(_RANK["*"])
        elif ps.startswith("{"):
            name, _, typ = ps[1:-1].partition(":")
            typ = typ or "str"
            if typ == "int":
                if not re.fullmatch(r"[+-]?\d+", s):
                    return None
                params[name] = int(s)
            elif typ == "float":
                if not re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", s):
                    return None
                params[name] = float(s)
            else:
                params[name] = s
            rank.append(_RANK[typ])
        else:
            if ps != s:
                return None
            rank.append(_RANK["static"])
    if len(psegs) != len(segs):
        return None
    return rank, params


def reference(patterns: list[str], path: str) -> list[tuple[list[int], str, dict[str, Any]]]:
    """Every matching pattern as (rank, pattern, params), best first."""
    sub, rest = path.split("://", 1)
    out = []
    for p in patterns:
        psub, prest = p.split("://", 1)
        if psub != sub:
            continue
        r = _ref_one(prest.split("/"), rest.split("/"))
        if r is not None:
            out.append((r[0], p, r[1]))
    out.sort(key=lambda t: t[0])
    return out


LITERALS = ["x", "y", "7", "-2", "3.5"]
pattern_segment = st.sampled_from([*LITERALS, "{p}", "{p:int}", "{p:float}", "*"])


@st.composite
def patterns(draw: Any) -> str:
    segs = draw(st.lists(pattern_segment, min_size=1, max_size=4))
    segs = [s.replace("{p", f"{{p{i}") for i, s in enumerate(segs)]
    if draw(st.booleans()):
        segs.append("**")
    return f"{draw(st.sampled_from(['a', 'b']))}://{'/'.join(segs)}"


paths = st.builds(
    lambda sub, segs: f"{sub}://{'/'.join(segs)}",
    st.sampled_from(["a", "b", "c"]),
    st.lists(st.sampled_from(LITERALS), min_size=1, max_size=6),
)


def _build(pats: list[str], unique: bool = True) -> tuple[RouteTable[str], list[str]]:
    table: RouteTable[str] = RouteTable(unique=unique)
    kept = []
    for p in pats:
        try:
            table.add(parse_pattern(p), p)
        except AmbiguousRoute:
            continue
        kept.append(p)
    return table, kept


@given(st.lists(patterns(), max_size=25), st.lists(paths, min_size=1, max_size=20))
def test_match_agrees_with_the_reference_matcher(pats: list[str], probes: list[str]) -> None:
    table, kept = _build(pats)
    for path in probes:
        expected = reference(kept, path)
        got = table.match(path)
        if not expected:
            assert got is None, path
        else:
            assert got is not None, path
            _, pattern, params = expected[0]
            assert got[0] == pattern, (path, kept)
            assert dict(got[1]) == params
        assert table.match(path) == got  # the cached answer is the same answer


@given(st.lists(patterns(), max_size=15), st.lists(paths, min_size=1, max_size=10))
def test_match_all_returns_every_matching_pattern(pats: list[str], probes: list[str]) -> None:
    table, kept = _build(pats, unique=False)
    for path in probes:
        expected = sorted(p for _, p, _ in reference(kept, path))
        got = table.match_all(path)
        assert sorted(p for p, _, _ in got) == expected
        assert [p for p, _, _ in got][:1] == [p for _, p, _ in reference(kept, path)][:1]


@given(st.lists(patterns(), min_size=1, max_size=20), st.data())
def test_removal_leaves_the_rest_matching_like_the_reference(pats: list[str],
                                                             data: st.DataObject) -> None:
    table, kept = _build(pats)
    gone = data.draw(st.lists(st.sampled_from(kept), unique=True))
    for p in gone:
        assert table.remove(parse_pattern(p))
    left = [p for p in kept if p not in gone]
    assert len(table) == len(left)
    for path in data.draw(st.lists(paths, min_size=1, max_size=10)):
        expected = reference(left, path)
        got = table.match(path)
        assert (got[0] if got else None) == (expected[0][1] if expected else None)


def test_priority_static_over_param_over_star_over_rest() -> None:
    table, _ = _build(["a://u/me", "a://u/{id}", "a://u/*", "a://u/**", "a://u/{n:int}"])
    assert table.match("a://u/me") == ("a://u/me", {})
    assert table.match("a://u/42")[0] == "a://u/{n:int}"  # type: ignore[index]
    assert table.match("a://u/bob")[0] == "a://u/{id}"  # type: ignore[index]
    assert table.match("a://u/x/y")[0] == "a://u/**"  # type: ignore[index]
    assert dict(table.match("a://u/x/y")[1]) == {"**": "x/y"}  # type: ignore[index]


def test_backtracks_when_the_preferred_branch_dead_ends() -> None:
    table, _ = _build(["a://x/y/z", "a://{p}/y/w"])
    assert table.match("a://x/y/w")[0] == "a://{p}/y/w"  # type: ignore[index]


@pytest.mark.parametrize(("first", "second"), [
    ("a://u/{id}", "a://u/{name}"),
    ("a://u/{id:int}/x", "a://u/{n:int}/x"),
    ("a://u/static", "a://u/static"),
    ("a://u/**", "a://u/**"),
])
def test_same_shape_is_ambiguous_at_registration(first: str, second: str) -> None:
    table: RouteTable[int] = RouteTable()
    table.add(parse_pattern(first), 1)
    with pytest.raises(AmbiguousRoute, match=re.escape(repr(first))):
        table.add(parse_pattern(second), 2)


def test_params_of_different_names_share_a_node_but_keep_their_names() -> None:
    table, _ = _build(["a://x/{id}/b", "a://x/{name}/c"])
    assert dict(table.match("a://x/1/b")[1]) == {"id": "1"}  # type: ignore[index]
    assert dict(table.match("a://x/1/c")[1]) == {"name": "1"}  # type: ignore[index]


def test_ten_thousand_routes_resolve_correctly() -> None:
    table: RouteTable[int] = RouteTable()
    for i in range(10_000):
        table.add(parse_pattern(f"s{i % 7}://static{i}/leaf"), i)
        table.add(parse_pattern(f"s{i % 7}://item{i}/{{id:int}}"), -i)
    assert len(table) == 20_000
    for i in range(0, 10_000, 37):
        assert table.match(f"s{i % 7}://static{i}/leaf") == (i, {})
        value, params = table.match(f"s{i % 7}://item{i}/{i * 3}")  # type: ignore[misc]
        assert (value, dict(params)) == (-i, {"id": i * 3})
        assert table.match(f"s{i % 7}://item{i}/nope") is None
    assert table.closest("s3://item10/x/y") is not None


def test_adding_a_pattern_invalidates_cached_dynamic_matches() -> None:
    table: RouteTable[str] = RouteTable()
    table.add(parse_pattern("a://u/*"), "star")
    assert table.match("a://u/7") == ("star", {})
    table.add(parse_pattern("a://u/{id:int}"), "int")
    assert table.match("a://u/7")[0] == "int"  # type: ignore[index]
    table.add(parse_pattern("a://u/7"), "static")
    assert table.match("a://u/7")[0] == "static"  # type: ignore[index]
    table.remove(parse_pattern("a://u/7"))
    table.remove(parse_pattern("a://u/{id:int}"))
    assert table.match("a://u/7")[0] == "star"  # type: ignore[index]


def test_params_are_read_only() -> None:
    table, _ = _build(["a://u/{id}"])
    with pytest.raises(TypeError):
        table.match("a://u/1")[1]["id"] = "2"  # type: ignore[index]


@pytest.mark.parametrize(("path", "names"), [
    ("users", "'://'"),
    ("1users://a", "subsystem '1users'"),
    ("users://", "no segments"),
    ("users://a//b", "segment 2 is empty"),
    ("users://a/", "segment 2 is empty"),
    ("users://a/{b}", "segment '{b}'"),
    ("users://a b", "segment 'a b'"),
])
def test_malformed_paths_raise_naming_the_bad_part(path: str, names: str) -> None:
    with pytest.raises(ValueError, match=re.escape(names)):
        parse_path(path)
    table, _ = _build(["users://a/{x}"])
    with pytest.raises(ValueError, match=re.escape(names)):
        table.match(path)


@pytest.mark.parametrize(("pattern", "names"), [
    ("a://x/**/y", "'**' may only be the last"),
    ("a://x/{id", "segment 2 '{id'"),
    ("a://x/{id:uuid}", "unknown parameter type 'uuid'"),
    ("a://{id}/{id}", "'id' appears twice"),
    ("a://x/a*", "segment 2 'a*'"),
])
def test_malformed_patterns_raise_naming_the_bad_segment(pattern: str, names: str) -> None:
    with pytest.raises(ValueError, match=re.escape(names)):
        parse_pattern(pattern)


def test_non_string_path_is_a_type_error() -> None:
    table, _ = _build(["a://x"])
    with pytest.raises(TypeError):
        table.match(42)  # type: ignore[arg-type]
