"""Where the loopback MTA's reports go: a command, as an MTA's pipe alias runs it, or memory.

``handoff_command`` reproduces Postfix local(8) delivery to a command: the ``From `` line,
Return-Path, X-Original-To and Delivered-To prepended, and RECIPIENT, EXTENSION, ... set.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence

RECIPIENT_PLACEHOLDER = "{recipient}"
DEFAULT_HANDOFF = ("listtrack-ingest", "report", "--recipient", RECIPIENT_PLACEHOLDER)


class HandoffError(RuntimeError):
    """The hand-off command failed (non-zero exit, e.g. 75 = EX_TEMPFAIL)."""

    def __init__(self, argv: Sequence[str], returncode: int, stderr: bytes) -> None:
        detail = stderr.decode("utf-8", errors="replace").strip()
        super().__init__(f"{' '.join(argv)} exited {returncode}: {detail}")
        self.returncode = returncode


def local_delivery_environment(recipient: str, sender: str = "") -> dict[str, str]:
    """The variables Postfix local(8) sets for a command (LOCAL and EXTENSION lower-cased)."""
    local, _, domain = recipient.rpartition("@")
    local = local.lower()
    environment = {
        "SENDER": sender,
        "RECIPIENT": recipient,
        "ORIGINAL_RECIPIENT": recipient,
        "LOCAL": local,
        "DOMAIN": domain.lower(),
        "CLIENT_HOSTNAME": "localhost",
        "CLIENT_ADDRESS": "127.0.0.1",
        "CLIENT_PROTOCOL": "ESMTP",
    }
    if "+" in local:
        environment["EXTENSION"] = local.split("+", 1)[1]
    return environment


def local_delivery_headers(raw: bytes, recipient: str, sender: str = "") -> bytes:
    """Prepend what local(8) writes before a piped message, in the message's own line ends."""
    newline = b"\r\n" if raw.find(b"\r\n") != -1 else b"\n"
    stamp = time.asctime(time.gmtime())  # "Thu Dec  4 15:26:01 2025", as Postfix writes it
    lines = [
        f"From {sender or 'MAILER-DAEMON'}  {stamp}",
        f"Return-Path: <{sender}>",
        f"X-Original-To: {recipient}",
        f"Delivered-To: {recipient}",
    ]
    return newline.join(line.encode("utf-8") for line in lines) + newline + raw


def handoff_command(
    argv: Sequence[str] = DEFAULT_HANDOFF,
    *,
    timeout: float = 60.0,
    extra_env: Mapping[str, str] | None = None,
    local_delivery_format: bool = True,
) -> Callable[[bytes, str], None]:
    """A ``deliver_report`` that pipes each report into ``argv`` like an MTA's alias.

    ``{recipient}`` in any argument becomes the envelope recipient. Raises HandoffError on a
    non-zero exit, so the loopback MTA counts and logs the failure.
    """
    base_argv = tuple(argv)

    def deliver(raw: bytes, envelope_recipient: str) -> None:
        args = [arg.replace(RECIPIENT_PLACEHOLDER, envelope_recipient) for arg in base_argv]
        env = {**os.environ, **(extra_env or {}), **local_delivery_environment(envelope_recipient)}
        data = local_delivery_headers(raw, envelope_recipient) if local_delivery_format else raw
        result = subprocess.run(
            args, input=data, capture_output=True, env=env, timeout=timeout, check=False
        )
        if result.returncode != 0:
            raise HandoffError(args, result.returncode, result.stderr)

    return deliver


class ReportCollector:
    """A ``deliver_report`` that keeps reports in memory, for tests (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self.reports: list[tuple[str, bytes]] = []

    def __call__(self, raw: bytes, envelope_recipient: str) -> None:
        with self._lock:
            self.reports.append((envelope_recipient, raw))
            self._lock.notify_all()

    def for_recipient(self, envelope_recipient: str) -> list[bytes]:
        with self._lock:
            return [raw for rcpt, raw in self.reports if rcpt == envelope_recipient]

    def wait_for(self, count: int, timeout: float = 10.0) -> bool:
        """Wait until at least ``count`` reports arrived; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._lock:
            return self._lock.wait_for(
                lambda: len(self.reports) >= count, max(0.0, deadline - time.monotonic())
            )
