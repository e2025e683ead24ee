"""The actor and stream names promised to users are importable from ``hyphal``."""

from __future__ import annotations

import subprocess
import sys

import hyphal

NAMES = ["Actor", "ActorRef", "ActorSystem", "Supervisor", "SupervisionError", "MailboxSpec",
         "DeadLetter", "DeadLetters", "MessageDropped", "ActorStatistics",
         "SupervisorStatistics", "SystemStatistics", "Stream", "StreamStatistics"]


def test_names_exist_and_stream_is_core() -> None:
    assert [n for n in NAMES if not hasattr(hyphal, n)] == []
    assert "Stream" in hyphal.__all__


def test_import_hyphal_does_not_load_actors() -> None:
    code = "import sys, hyphal; print('hyphal.actors' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"
