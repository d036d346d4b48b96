"""The sender's slot and journal: one sending process per spool, and a record of what the
MTA took that survives the process being killed.

The slot is an flock on `<spool>/sending/lock`: the kernel drops it when its holder dies,
even by kill -9. So whoever holds it knows that rows left in `sending` belong to a process
that is gone. The journal, `<spool>/sending/journal`, gets one line per copy the MTA answered
250 for, written the instant the reply arrives (one `write` to an O_APPEND file, which kill -9
cannot undo); it is cleared once the database says the same. On restart it tells which of the
rows left in `sending` were taken by the MTA (mark sent) and which were not (send them).
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

SENDING_DIR = "sending"


class SendJournal:
    """Append-only record of copies the MTA accepted, not yet marked sent in the database."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)

    def record(self, delivery_id: int) -> None:
        """Note that the MTA accepted this delivery's copy (safe from several threads)."""
        os.write(self._fd, f"{delivery_id} {time.time():.6f}\n".encode())

    def accepted(self) -> dict[int, datetime]:
        """Deliveries recorded since the last clear, with when the MTA accepted them."""
        found: dict[int, datetime] = {}
        try:
            text = self.path.read_text(encoding="ascii", errors="replace")
        except FileNotFoundError:
            return found
        for line in text.splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[0].isdigit():
                try:
                    found[int(parts[0])] = datetime.fromtimestamp(float(parts[1]), UTC)
                except ValueError:
                    continue
        return found

    def clear(self) -> None:
        """Forget what the database now records."""
        os.ftruncate(self._fd, 0)

    def close(self) -> None:
        os.close(self._fd)


@contextmanager
def sending_slot(spool_dir: Path) -> Iterator[SendJournal | None]:
    """The journal, with the sending slot held; None when another live process has it."""
    folder = spool_dir / SENDING_DIR
    folder.mkdir(parents=True, exist_ok=True)
    lock = os.open(folder / "lock", os.O_RDWR | os.O_CREAT, 0o640)
    try:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield None
            return
        journal = SendJournal(folder / "journal")
        try:
            yield journal
        finally:
            journal.close()
    finally:
        os.close(lock)  # releases the flock
