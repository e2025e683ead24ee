"""The mailbox state machine, driven without an event loop."""

from __future__ import annotations

from hyphal import Overflow
from hyphal.actors.mailbox import Mailbox, MailboxSpec, Outcome


def test_offer_and_take_keep_order_and_take_empties() -> None:
    mb = Mailbox(MailboxSpec())
    for i in range(5):
        assert mb.offer(i)
    assert mb.take() == [0, 1, 2, 3, 4]
    assert len(mb) == 0
    mb.put_back([7, 8])
    mb.offer(9)
    assert mb.take() == [7, 8, 9]


def test_full_mailbox_outcomes_per_policy() -> None:
    block = Mailbox(MailboxSpec(capacity=1))
    assert block.offer("a")
    assert not block.offer("b")
    assert block.offer_full("b") == (Outcome.FULL, "b")

    newest = Mailbox(MailboxSpec(capacity=1, overflow=Overflow.DROP_NEWEST))
    newest.offer("a")
    assert newest.offer_full("b") == (Outcome.REJECTED, "b")
    assert newest.take() == ["a"]

    oldest = Mailbox(MailboxSpec(capacity=2, overflow=Overflow.DROP_OLDEST))
    oldest.offer("a")
    oldest.offer("b")
    assert oldest.offer_full("c") == (Outcome.EVICTED, "a")
    assert oldest.take() == ["b", "c"]
    assert oldest.dropped == 1


def test_closed_mailbox_accepts_nothing_but_keeps_what_it_has() -> None:
    mb = Mailbox(MailboxSpec())
    mb.offer(1)
    mb.close()
    assert mb.closed
    assert not mb.offer(2)
    assert mb.offer_full(2) == (Outcome.CLOSED, 2)
    assert mb.take() == [1]
