"""How messages and replies cross a network transport: a compact MessagePack envelope.

A message travels as the array ``[id, node, trace_id, ts, meta, body]`` (``trace_id`` is
``None`` when it equals ``id``, ``meta`` ``None`` when empty); its path is the NATS subject, so
it is not repeated. An id nobody has read yet travels as its parts -- the sequence number in
``id`` and the creating process in ``node`` (else ``None``) -- and is formatted on arrival:
formatting costs the sender more than the rest of the envelope.

Several envelopes to one path may travel as one *batch*: a MessagePack array of envelopes
(:func:`encode_batch` joins already-encoded envelopes without re-encoding them;
:func:`decode_messages` reads either form).

A reply is ``[0, result]``, ``[1, error_type_name, error_message]`` for a failed handler, or
``[2, path, closest]`` when the receiving kernel had no route after all.

MessagePack through ``msgspec`` was chosen by measurement: for a small dict body the envelope
is 86 bytes (orjson: 115), encodes as fast as orjson and decodes 1.5x faster, and it carries
``bytes`` bodies natively. Bodies may hold ``None``, ``bool``, ``int`` (64-bit), ``float``, ``str``,
``bytes``, lists/tuples (they arrive as lists), dicts, dataclasses, datetimes and UUIDs; anything
else raises :class:`UnserializableBody` at the sender.
"""

from __future__ import annotations

from typing import Any

import msgspec

from hyphal._core.errors import HyphalError
from hyphal.kernel.errors import NoRoute, error_message, error_type_name, rebuild_error
from hyphal.kernel.message import _NODE, Message, format_id

__all__ = [
    "UnserializableBody",
    "decode_message",
    "decode_messages",
    "decode_reply",
    "encode_batch",
    "encode_error",
    "encode_message",
    "encode_result",
]

_encode = msgspec.msgpack.Encoder().encode
_decode = msgspec.msgpack.Decoder().decode
_OK, _FAILED, _NO_ROUTE = 0, 1, 2


class UnserializableBody(HyphalError, TypeError):
    """A message body (or a handler's result) cannot be encoded to cross the transport."""


def _unserializable(what: str, exc: Exception) -> UnserializableBody:
    return UnserializableBody(
        f"{what} cannot cross the network: {exc}. Send data built from None, bool, int, float, "
        "str, bytes, lists, dicts, dataclasses, datetimes or UUIDs (e.g. convert objects to "
        "dicts first)")


def encode_message(msg: Message) -> bytes:
    """``msg`` as an envelope. Raises :class:`UnserializableBody` naming the path."""
    root = msg._root
    mid = getattr(msg, "_id", None)  # unset until somebody reads msg.id
    try:
        return _encode([msg._seq if mid is None else mid, _NODE if mid is None else None,
                        None if root is None else root.id, msg.ts, msg._meta or None, msg.body])
    except (TypeError, ValueError, OverflowError) as exc:
        raise _unserializable(f"the body (or meta) of the message to {msg.path!r}", exc) from None


def encode_batch(envelopes: list[bytes]) -> bytes:
    """One MessagePack array holding the already-encoded ``envelopes`` (at most 65535)."""
    n = len(envelopes)
    head = bytes((0x90 | n,)) if n < 16 else b"\xdc" + n.to_bytes(2, "big")
    return head + b"".join(envelopes)


def _restore(path: str, fields: Any, reply_to: str | None) -> Message:
    mid, node, trace, ts, meta, body = fields
    if node is not None:
        mid = format_id(ts, node, mid)
    return Message.restore(path, body, meta, id=mid, trace_id=trace or mid, ts=ts,
                           reply_to=reply_to)


def decode_message(path: str, data: bytes, reply_to: str | None = None) -> Message:
    """The message an envelope holds, with its original id, trace and timestamp. Raises
    ``ValueError`` for bytes that are not an envelope."""
    try:
        return _restore(path, _decode(data), reply_to)
    except (msgspec.DecodeError, TypeError, ValueError) as exc:
        raise ValueError(f"not a hyphal message envelope ({len(data)} bytes): {exc}") from None


def decode_messages(path: str, data: bytes) -> list[Message]:
    """The messages an envelope or a batch holds, in order. Raises ``ValueError`` for bytes
    that are neither."""
    try:
        fields = _decode(data)
        if fields and type(fields[0]) is list:
            return [_restore(path, f, None) for f in fields]
        return [_restore(path, fields, None)]
    except (msgspec.DecodeError, TypeError, ValueError) as exc:
        raise ValueError(f"not a hyphal message envelope ({len(data)} bytes): {exc}") from None


def encode_result(result: Any) -> bytes:
    """A successful reply; an unencodable result becomes an :class:`UnserializableBody` reply
    (the caller sees that error, the handler's kernel logs nothing more)."""
    try:
        return _encode([_OK, result])
    except (TypeError, ValueError, OverflowError) as exc:
        return encode_error(_unserializable("the handler's result", exc))


def encode_error(exc: BaseException) -> bytes:
    """A failed reply: the error's type name and message (a :class:`NoRoute` keeps its parts)."""
    if isinstance(exc, NoRoute):
        return _encode([_NO_ROUTE, exc.path, exc.closest])
    return _encode([_FAILED, error_type_name(exc), error_message(exc)])


def decode_reply(data: bytes) -> Any:
    """The result a reply carries; a failed reply's error is rebuilt and raised (see
    :func:`hyphal.kernel.errors.rebuild_error`). Raises ``ValueError`` for malformed bytes."""
    try:
        reply = _decode(data)
        kind = reply[0]
    except (msgspec.DecodeError, TypeError, IndexError, KeyError) as exc:
        raise ValueError(f"not a hyphal reply envelope ({len(data)} bytes): {exc}") from None
    if kind == _OK:
        return reply[1]
    if kind == _NO_ROUTE:
        raise NoRoute(reply[1], reply[2])
    raise rebuild_error(reply[1], reply[2])
