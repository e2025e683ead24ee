"""Paths and patterns as NATS subjects (sans-IO), and the message envelope."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hyphal.kernel.envelope import (
    UnserializableBody,
    decode_message,
    decode_messages,
    decode_reply,
    encode_batch,
    encode_error,
    encode_message,
    encode_result,
)
from hyphal.kernel.errors import NoRoute, RemoteError
from hyphal.kernel.message import Message
from hyphal.kernel.paths import parse_path
from hyphal.kernel.subjects import (
    escape,
    path_to_subject,
    pattern_to_subject,
    subject_to_path,
    unescape,
)

# what nats-server accepts as a literal token: no whitespace, no '.', not a wildcard
LEGAL_TOKEN = re.compile(r"[!-~]+\Z")
subsystems = st.from_regex(r"[A-Za-z][A-Za-z0-9_.\-]{0,8}", fullmatch=True)
segments = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=12).filter(
    lambda s: not re.search(r"[\s{}*/]", s))


@given(subsystems, st.lists(segments, min_size=1, max_size=5))
def test_any_legal_path_round_trips_through_a_legal_subject(sub: str, segs: list[str]) -> None:
    path = f"{sub}://{'/'.join(segs)}"
    parse_path(path)  # it is legal
    subject = path_to_subject(path)
    tokens = subject.split(".")
    assert len(tokens) == 1 + len(segs)
    for token in tokens:
        assert LEGAL_TOKEN.match(token) and token not in ("*", ">"), token
    assert subject_to_path(subject) == path


@given(st.text(min_size=1, max_size=20))
def test_escape_is_reversible(text: str) -> None:
    assert unescape(escape(text)) == text


def test_examples() -> None:
    assert path_to_subject("users://profile/42") == "users.profile.42"
    assert path_to_subject("files://a.txt/>") == "files.a%2Etxt.%3E"
    assert path_to_subject("my.sub://x%y") == "my%2Esub.x%25y"
    assert path_to_subject("u://é") == "u.%C3%A9"
    assert pattern_to_subject("users://profile/{id:int}") == "users.profile.*"
    assert pattern_to_subject("logs://app/*/x/**") == "logs.app.*.x.>"
    with pytest.raises(ValueError, match="segment"):
        path_to_subject("users://a//b")


def test_envelope_keeps_identity_and_carries_bytes() -> None:
    msg = Message("a://b", {"k": [1, 2.5, None, b"\xff"]}, {"h": "v"})
    back = decode_message("a://b", encode_message(msg), "inbox")
    assert (back.id, back.trace_id, back.ts, back.meta, back.body, back.reply_to) == (
        msg.id, msg.trace_id, msg.ts, {"h": "v"}, msg.body, "inbox")
    with pytest.raises(UnserializableBody, match="a://b"):
        encode_message(Message("a://b", object()))
    with pytest.raises(ValueError, match="not a hyphal message"):
        decode_message("a://b", b"\x01garbage")


def test_replies_carry_results_and_errors() -> None:
    assert decode_reply(encode_result({"x": 1})) == {"x": 1}
    with pytest.raises(ValueError, match="bad"):
        decode_reply(encode_error(ValueError("bad")))
    with pytest.raises(NoRoute) as info:
        decode_reply(encode_error(NoRoute("a://b", "a://c")))
    assert info.value.closest == "a://c"
    with pytest.raises(RemoteError):
        decode_reply(encode_error(type("Odd", (Exception,), {"__module__": "x.y"})("m")))
    with pytest.raises(UnserializableBody, match="result"):
        decode_reply(encode_result(object()))


@given(st.lists(st.one_of(st.integers(-(2**63), 2**63 - 1), st.text(max_size=5),
                          st.binary(max_size=5)), min_size=1, max_size=100))
def test_batches_carry_every_message_in_order(bodies: list[object]) -> None:
    sent = [Message("a://b", body) for body in bodies]
    data = encode_batch([encode_message(m) for m in sent]) if len(sent) > 1 else (
        encode_message(sent[0]))
    got = decode_messages("a://b", data)
    assert [(m.id, m.body) for m in got] == [(m.id, m.body) for m in sent]
