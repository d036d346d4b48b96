"""The durable hand-off: one file per incoming message, fsynced and renamed into place.

Maildir-like: a message is written to `<queue>/tmp/`, fsynced, renamed into `<queue>/new/`
and the directory fsynced, so a file in `new/` is complete and survives a crash. The first
line of each file is a JSON envelope (who handed it over, for what); the rest is the mail
exactly as received. Stdlib only: this runs in the MTA's pipe on every message.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

POSTS = "posts"
REPORTS = "reports"


@dataclass(frozen=True)
class SpooledMessage:
    path: Path
    envelope: dict
    raw: bytes

    @property
    def name(self) -> str:
        return self.path.name


def queue_dir(spool: Path, queue: str) -> Path:
    return spool / queue


def _fsync_dir(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def store(spool: Path, queue: str, envelope: dict, raw: bytes) -> Path:
    """Write one message durably into a queue and return its final path."""
    tmp_dir, new_dir = spool / queue / "tmp", spool / queue / "new"
    for folder in (tmp_dir, new_dir):
        folder.mkdir(parents=True, exist_ok=True)
    name = f"{time.time_ns()}.{os.getpid()}.{secrets.token_hex(6)}"
    draft = tmp_dir / name
    header = json.dumps(envelope, separators=(",", ":"), ensure_ascii=True).encode() + b"\n"
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
    try:
        view = memoryview(header + raw)
        while view:
            written = os.write(descriptor, view)
            view = view[written:]
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    final = new_dir / name
    os.rename(draft, final)
    _fsync_dir(new_dir)
    return final


def read(path: Path) -> SpooledMessage:
    data = path.read_bytes()
    header, _, raw = data.partition(b"\n")
    return SpooledMessage(path=path, envelope=json.loads(header), raw=raw)


def pending(spool: Path, queue: str, limit: int | None = None) -> Iterator[Path]:
    """Files waiting in a queue, oldest first (names start with the time they arrived)."""
    new_dir = spool / queue / "new"
    try:
        names = sorted(os.listdir(new_dir))
    except FileNotFoundError:
        return
    for name in names[:limit]:
        yield new_dir / name


def done(path: Path) -> None:
    """Remove a file once what it holds is committed to the database."""
    path.unlink(missing_ok=True)
