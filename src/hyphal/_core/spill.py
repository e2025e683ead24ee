"""Disk-backed FIFO overflow for ``Overflow.SPILL`` channels.

Items are pickled in batches into an anonymous temporary file (unlinked at creation, so even a
crash leaves nothing behind). Memory holds at most one write batch and one read batch; the file
is truncated whenever the queue drains, so a channel that spills now and then does not grow
its file without bound.
"""

from __future__ import annotations

import os
import pickle
import struct
import tempfile
from collections import deque
from typing import IO, Any

__all__ = ["SpillQueue"]

_LEN = struct.Struct("<I")


class SpillQueue:
    """A FIFO of picklable items kept on disk. Not thread-safe; one event loop uses it."""

    __slots__ = ("_batch", "_count", "_dir", "_file", "_read_at", "_reading", "_write_at",
                 "batch_items", "bytes_written")

    def __init__(self, directory: str | None = None, batch_items: int = 512) -> None:
        self._dir = directory
        self._file: IO[bytes] | None = None
        self._batch: list[Any] = []  # newest items, not yet written
        self._reading: deque[Any] = deque()  # oldest items, read back from the file
        self._read_at = 0
        self._write_at = 0
        self._count = 0
        self.batch_items = batch_items
        self.bytes_written = 0

    def __len__(self) -> int:
        return self._count

    def push(self, item: Any) -> None:
        """Append ``item``. Raises ``TypeError``/``pickle.PicklingError`` for unpicklable items
        (checked when the batch is written, so at most ``batch_items`` later)."""
        self._batch.append(item)
        self._count += 1
        if len(self._batch) >= self.batch_items:
            self._flush()

    def _flush(self) -> None:
        batch = self._batch
        if not batch:
            return
        data = pickle.dumps(batch, protocol=pickle.HIGHEST_PROTOCOL)
        if self._file is None:
            # closed in close(); anonymous, so the OS reclaims it even after a crash
            self._file = tempfile.TemporaryFile(dir=self._dir, prefix="hyphal-spill-")  # noqa: SIM115
        f = self._file
        f.seek(self._write_at)
        f.write(_LEN.pack(len(data)))
        f.write(data)
        self._write_at += _LEN.size + len(data)
        self.bytes_written += _LEN.size + len(data)
        self._batch = []

    def pop_many(self, limit: int) -> list[Any]:
        """Remove and return up to ``limit`` of the oldest items (at least one if any)."""
        out: list[Any] = []
        reading = self._reading
        while len(out) < limit and self._count:
            if not reading:
                if self._read_at < self._write_at:
                    self._load_record()
                else:  # everything left is still in the write batch
                    reading.extend(self._batch)
                    self._batch = []
            take = min(limit - len(out), len(reading))
            out.extend(reading.popleft() for _ in range(take))
            self._count -= take
        if not self._count:
            self._reset_file()
        return out

    def _load_record(self) -> None:
        f = self._file
        assert f is not None
        f.flush()
        f.seek(self._read_at)
        (size,) = _LEN.unpack(f.read(_LEN.size))
        self._reading.extend(pickle.loads(f.read(size)))
        self._read_at += _LEN.size + size

    def _reset_file(self) -> None:
        self._read_at = self._write_at = 0
        if self._file is not None:
            self._file.truncate(0)

    def close(self) -> None:
        """Drop every item and delete the file."""
        self._batch = []
        self._reading.clear()
        self._count = 0
        if self._file is not None:
            self._file.close()
            self._file = None

    @property
    def path_exists(self) -> bool:
        """Whether a backing file is open (for tests; the file itself has no name)."""
        return self._file is not None and not self._file.closed and os.name != "nt"
