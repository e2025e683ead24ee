"""hyphal actors: stateful actors with mailboxes, ``tell``/``ask`` and supervision trees.

The public names are re-exported lazily from :mod:`hyphal` (``hyphal.Actor``,
``hyphal.ActorSystem`` ...); importing this package directly works too.
"""

import logging

from hyphal.actors.actor import Actor
from hyphal.actors.mailbox import MailboxSpec
from hyphal.actors.ref import ActorRef, MessageDropped
from hyphal.actors.stats import ActorStatistics, SupervisorStatistics, SystemStatistics
from hyphal.actors.supervisor import Strategy, SupervisionError, Supervisor
from hyphal.actors.system import ActorSystem, DeadLetter, DeadLetters

logging.getLogger("hyphal.actors").addHandler(logging.NullHandler())  # the app decides

__all__ = [
    "Actor",
    "ActorRef",
    "ActorStatistics",
    "ActorSystem",
    "DeadLetter",
    "DeadLetters",
    "MailboxSpec",
    "MessageDropped",
    "Strategy",
    "SupervisionError",
    "Supervisor",
    "SupervisorStatistics",
    "SystemStatistics",
]
