"""What the loopback MTA saw: one record per SMTP transaction, for tests to assert on."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from ingest.testmta.behaviours import Behaviour
from ingest.testmta.esmtp_parameters import EsmtpParameter, MailParameters, RcptParameters


class Outcome(StrEnum):
    """How a transaction ended."""

    ACCEPTED = "accepted"  # DATA answered 250
    ABORTED = "aborted"  # RSET, HELO/EHLO or QUIT before DATA completed
    DROPPED = "dropped"  # connection closed (by us or the client) mid-transaction


@dataclass
class RecipientRecord:
    """One RCPT TO: the address, its parameters as sent, and what we answered."""

    address: str
    params: tuple[EsmtpParameter, ...]
    dsn: RcptParameters
    behaviour: Behaviour
    reply: str | None  # None when the connection was dropped instead of answering

    @property
    def accepted(self) -> bool:
        return self.reply is not None and self.reply.startswith("2")

    @property
    def notify(self) -> tuple[str, ...] | None:
        return self.dsn.notify

    @property
    def orcpt(self) -> str | None:
        return self.dsn.orcpt

    def param(self, keyword: str) -> str | None:
        """The value of ``keyword`` (any case) exactly as sent, or None."""
        return _lookup(self.params, keyword)


@dataclass
class Transaction:
    """MAIL FROM to end of DATA (or abort) on one connection."""

    connection_id: int
    peer: str
    helo: str
    mail_from: str
    mail_params: tuple[EsmtpParameter, ...]
    dsn: MailParameters
    started_at: datetime
    recipients: list[RecipientRecord] = field(default_factory=list)
    data: bytes | None = None
    queue_id: str | None = None  # given in the "250 2.0.0 Ok: queued as ..." reply
    received_at: datetime | None = None
    outcome: Outcome | None = None

    @property
    def envid(self) -> str | None:
        return self.dsn.envid

    @property
    def ret(self) -> str | None:
        return self.dsn.ret

    @property
    def accepted_recipients(self) -> list[RecipientRecord]:
        return [rcpt for rcpt in self.recipients if rcpt.accepted]

    def param(self, keyword: str) -> str | None:
        """The value of MAIL parameter ``keyword`` (any case) exactly as sent, or None."""
        return _lookup(self.mail_params, keyword)


def _lookup(params: tuple[EsmtpParameter, ...], keyword: str) -> str | None:
    for param in params:
        if param.keyword.upper() == keyword.upper():
            return param.value
    return None
