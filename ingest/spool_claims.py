"""Claiming spooled files, so that two workers never process the same file at once.

A worker claims a file by renaming it from `<queue>/new/` into its own folder under
`<queue>/claimed/` (rename is atomic: exactly one worker wins). The folder carries a lock
file that the worker holds (flock) for as long as it lives; the kernel drops the lock when
the process dies, even by kill -9, so any worker can tell an abandoned folder from a busy
one and put its files back in `new/`. Nothing is lost: a file leaves the spool only once
what it holds is committed, and processing it twice changes nothing (see report_processing).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import secrets
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from ingest import spool

log = logging.getLogger("listtrack.spool")

CLAIMED = "claimed"
LOCK_FILE = ".lock"
REMOVER_THREADS = 8
_REMOVERS: ThreadPoolExecutor | None = None


class SpoolClaims:
    """This process's claim folder in one queue, locked for as long as the process lives."""

    def __init__(self, spool_dir: Path, queue: str) -> None:
        self.new_dir = spool_dir / queue / "new"
        self.claimed_dir = spool_dir / queue / CLAIMED
        self.new_dir.mkdir(parents=True, exist_ok=True)
        self.claimed_dir.mkdir(parents=True, exist_ok=True)
        name = f"{os.getpid()}.{secrets.token_hex(4)}"
        draft = self.claimed_dir / f".{name}"  # locked before anyone can see it
        draft.mkdir()
        self._lock = os.open(draft / LOCK_FILE, os.O_CREAT | os.O_RDWR, 0o640)
        fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        self.folder = self.claimed_dir / name
        os.rename(draft, self.folder)
        self._removing: dict[str, Future] = {}

    def claim(self, path: Path) -> Path | None:
        """Take one file from `new/`; None when another worker was first."""
        target = self.folder / path.name
        try:
            os.rename(path, target)
        except FileNotFoundError:
            return None
        return target

    def release(self, path: Path) -> None:
        """Give a claimed file back to `new/`, for a later pass."""
        with contextlib.suppress(FileNotFoundError):
            os.rename(path, self.new_dir / path.name)

    def remove(self, paths: Sequence[Path]) -> None:
        """Delete files whose contents are committed, in the background and several at a
        time: on file systems that discard freed blocks (SSDs, VM disks) each unlink waits
        for the device, the kernel batches concurrent ones, and the next batch need not
        wait. A file whose removal a crash interrupts is filed again later, as a duplicate
        that changes nothing."""
        global _REMOVERS
        if _REMOVERS is None:
            _REMOVERS = ThreadPoolExecutor(REMOVER_THREADS, thread_name_prefix="spool-rm")
        for path in paths:
            self._removing[path.name] = _REMOVERS.submit(path.unlink, missing_ok=True)

    def wait_removed(self) -> None:
        """Wait until every file handed to `remove` is gone."""
        for name, future in self._removing.items():
            try:
                future.result()
            except OSError as error:  # left in our folder: filed again later, as a duplicate
                log.warning("could not remove spool file %s: %s", name, error)
        self._removing.clear()

    def held(self) -> list[Path]:
        """Files still claimed by this process (left over by an interrupted pass)."""
        self._removing = {name: future for name, future in self._removing.items()
                          if not future.done()}
        return sorted(p for p in self.folder.iterdir()
                      if p.name != LOCK_FILE and p.name not in self._removing)

    def recover_abandoned(self) -> int:
        """Put back in `new/` the files claimed by workers that have died; how many."""
        recovered = 0
        for folder in self.claimed_dir.iterdir():
            if folder.name.startswith(".") or folder == self.folder:
                continue
            recovered += _recover_folder(folder, self.new_dir)
        return recovered


def _recover_folder(folder: Path, new_dir: Path) -> int:
    try:
        lock = os.open(folder / LOCK_FILE, os.O_RDWR)
    except (FileNotFoundError, NotADirectoryError):
        return 0
    try:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return 0  # its worker is alive
        moved = 0
        for path in folder.iterdir():
            if path.name == LOCK_FILE:
                continue
            try:
                os.rename(path, new_dir / path.name)
                moved += 1
            except FileNotFoundError:
                continue
        if moved:
            log.warning("returned %d file(s) claimed by a stopped worker (%s) to the spool",
                        moved, folder.name)
        (folder / LOCK_FILE).unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            folder.rmdir()
        return moved
    finally:
        os.close(lock)


_CLAIMS: dict[tuple[str, str], SpoolClaims] = {}


def claims_for(spool_dir: Path, queue: str) -> SpoolClaims:
    """The claim folder of this process in a queue (made on first use)."""
    key = (str(spool_dir), queue)
    claims = _CLAIMS.get(key)
    if claims is None or not claims.folder.is_dir():
        claims = _CLAIMS[key] = SpoolClaims(spool_dir, queue)
    return claims


def claim_batch(spool_dir: Path, queue: str, size: int) -> list[Path]:
    """Up to `size` files claimed for this process, oldest first, leftovers before new ones."""
    claims = claims_for(spool_dir, queue)
    batch = claims.held()[:size]
    if len(batch) < size:
        claims.recover_abandoned()
        for path in spool.pending(spool_dir, queue, limit=(size - len(batch)) * 2):
            claimed = claims.claim(path)
            if claimed is not None:
                batch.append(claimed)
                if len(batch) == size:
                    break
    return batch
