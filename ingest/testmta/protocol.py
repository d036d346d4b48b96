"""aiosmtpd's SMTP server taught DSN (RFC 3461): exact MAIL/RCPT parameters, scripted replies.

aiosmtpd refuses MAIL/RCPT parameters it does not know and upper-cases those it keeps; this
subclass parses them itself (``esmtp_parameters``) and records every transaction.
"""

from __future__ import annotations

import logging
import re
from typing import Any, Protocol

from aiosmtpd.smtp import SMTP, Envelope, Session, syntax

from ingest.testmta.behaviours import Behaviour, Kind
from ingest.testmta.esmtp_parameters import (
    ParameterError,
    read_mail_parameters,
    read_rcpt_parameters,
    split_parameters,
)
from ingest.testmta.mail_text import now_utc, queue_id
from ingest.testmta.records import Outcome, RecipientRecord, Transaction

log = logging.getLogger(__name__)

# RFC 3461 section 4: DSN parameters lengthen MAIL by up to 110 and RCPT by up to 500 octets.
_MAIL_LINE_LIMIT = 512 + 26 + 10 + 110
_RCPT_LINE_LIMIT = 512 + 500
# <local@domain> with a dot-atom local part (UTF-8 allowed, RFC 6531) and a plain domain.
_PLAIN_PATH = re.compile(
    r"<(?P<address>[A-Za-z0-9!#$%&'*+/=?^_`{|}~\x80-\U0010ffff-]+"
    r"(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~\x80-\U0010ffff-]+)*"
    r"@[A-Za-z0-9\x80-\U0010ffff-]+(?:\.[A-Za-z0-9\x80-\U0010ffff-]+)*)>(?P<rest>(?:\s.*)?)$",
    re.DOTALL,
)


class TransactionSink(Protocol):
    """What the SMTP side needs from the loopback MTA."""

    advertise_dsn: bool

    def next_connection_id(self) -> int: ...

    def note_command(self) -> None: ...

    def behaviour_for(self, address: str) -> Behaviour: ...

    def count_attempt(self, address: str) -> int: ...

    def accepted(self, tx: Transaction) -> None: ...

    def finished(self, tx: Transaction) -> None: ...


class DsnHandler:
    """aiosmtpd handler hooks: the EHLO keywords and the end of DATA."""

    async def handle_EHLO(
        self, server: DsnSMTP, session: Session, envelope: Envelope, hostname: str, responses
    ) -> list[str]:
        session.host_name = hostname
        extra = ["250-PIPELINING"]
        if server.sink.advertise_dsn:
            extra.append("250-DSN")
            server.command_size_limits["MAIL"] = _MAIL_LINE_LIMIT
            server.command_size_limits["RCPT"] = _RCPT_LINE_LIMIT
        return [*responses[:-1], *extra, responses[-1]]

    async def handle_DATA(self, server: DsnSMTP, session: Session, envelope: Envelope) -> str:
        return server.end_of_data(envelope)


class DsnSMTP(SMTP):
    """One SMTP connection to the loopback MTA."""

    def __init__(self, handler: DsnHandler, *, sink: TransactionSink, **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self.sink = sink
        self.connection_id = 0
        self._tx: Transaction | None = None

    # -- connection life ---------------------------------------------------------------
    def connection_made(self, transport) -> None:  # type: ignore[override]
        self.connection_id = self.sink.next_connection_id()
        super().connection_made(transport)

    def connection_lost(self, error: Exception | None) -> None:
        self._finish(Outcome.DROPPED)
        super().connection_lost(error)

    def _set_rset_state(self) -> None:
        """RSET, HELO, EHLO (and a new connection) end any open transaction."""
        self._finish(Outcome.ABORTED)
        super()._set_rset_state()

    async def push(self, status: str | bytes) -> None:
        # After a scripted drop the socket is closing: say nothing more.
        if self.transport is None or self.transport.is_closing():
            return
        await super().push(status)

    @syntax("QUIT")
    async def smtp_QUIT(self, arg: str) -> None:
        self._finish(Outcome.ABORTED)
        await super().smtp_QUIT(arg)

    def _drop(self) -> None:
        assert self.transport is not None
        self.transport.close()

    def _finish(self, outcome: Outcome) -> None:
        tx, self._tx = self._tx, None
        if tx is not None:
            tx.outcome = outcome
            self.sink.finished(tx)

    # -- commands ----------------------------------------------------------------------
    @syntax("MAIL FROM: <address>", extended=" [SP <mail-parameters>]")
    async def smtp_MAIL(self, arg: str | None) -> None:
        if await self.check_helo_needed() or await self.check_auth_needed("MAIL"):
            return
        assert self.session is not None and self.envelope is not None
        self.sink.note_command()
        syntax_error = "501 5.5.4 Syntax: MAIL FROM:<address>"
        if self._tx is not None:
            await self.push("503 5.5.1 Error: nested MAIL command")
            return
        arg = self._strip_command_keyword("FROM:", arg or "")
        if arg is None:
            await self.push(syntax_error)
            return
        address, rest = _read_path(self, arg)
        if address is None:
            await self.push("501 5.1.7 Bad sender address syntax")
            return
        if rest.strip() and not self.session.extended_smtp:
            await self.push(syntax_error)
            return
        try:
            params = split_parameters(rest)
            dsn = read_mail_parameters(
                params,
                dsn_enabled=self.sink.advertise_dsn,
                smtputf8_enabled=self.enable_SMTPUTF8,
                size_limit=self.data_size_limit,
            )
        except ParameterError as refused:
            await self.push(refused.reply)
            return
        self.envelope.mail_from = address
        self.envelope.mail_options = [str(param) for param in params]
        self.envelope.smtp_utf8 = dsn.smtputf8
        self._tx = Transaction(
            connection_id=self.connection_id,
            peer=_peer(self.session),
            helo=self.session.host_name or "",
            mail_from=address,
            mail_params=params,
            dsn=dsn,
            started_at=now_utc(),
        )
        await self.push("250 2.1.0 Ok")

    @syntax("RCPT TO: <address>", extended=" [SP <mail-parameters>]")
    async def smtp_RCPT(self, arg: str | None) -> None:
        if await self.check_helo_needed() or await self.check_auth_needed("RCPT"):
            return
        assert self.session is not None and self.envelope is not None
        tx = self._tx
        if tx is None:
            await self.push("503 5.5.1 Error: need MAIL command")
            return
        arg = self._strip_command_keyword("TO:", arg or "")
        address, rest = _read_path(self, arg) if arg is not None else (None, "")
        if not address:
            await self.push("501 5.1.3 Bad recipient address syntax")
            return
        if rest.strip() and not self.session.extended_smtp:
            await self.push("501 5.5.4 Syntax: RCPT TO:<address>")
            return
        try:
            params = split_parameters(rest)
            dsn = read_rcpt_parameters(
                params, dsn_enabled=self.sink.advertise_dsn, smtputf8=tx.dsn.smtputf8
            )
        except ParameterError as refused:
            await self.push(refused.reply)
            return
        behaviour = self._effective_behaviour(address)
        record = RecipientRecord(address, params, dsn, behaviour, reply=None)
        tx.recipients.append(record)
        if behaviour.kind is Kind.DROP_AT_RCPT:
            self._drop()
            return
        if behaviour.kind in (Kind.REFUSE, Kind.TEMPFAIL):
            record.reply = behaviour.rcpt_reply(address)
        else:
            record.reply = "250 2.1.5 Ok"
            self.envelope.rcpt_tos.append(address)
            self.envelope.rcpt_options.extend(str(param) for param in params)
        await self.push(record.reply)

    def _effective_behaviour(self, address: str) -> Behaviour:
        """The scripted behaviour, turned into plain delivery once its failing tries are used."""
        behaviour = self.sink.behaviour_for(address)
        retried_kinds = (Kind.TEMPFAIL, Kind.DROP_AT_RCPT, Kind.DROP_AT_DATA)
        if (
            behaviour.kind in retried_kinds
            and behaviour.attempts is not None
            and self.sink.count_attempt(address) > behaviour.attempts
        ):
            return Behaviour(kind=Kind.DELIVER, later=behaviour.later)
        return behaviour

    def end_of_data(self, envelope: Envelope) -> str:
        """Called when the message is in: record it, plan the reports, answer."""
        tx, self._tx = self._tx, None
        assert tx is not None
        self.sink.note_command()
        tx.data = envelope.original_content or b""
        tx.received_at = now_utc()
        if any(r.behaviour.kind is Kind.DROP_AT_DATA for r in tx.accepted_recipients):
            tx.outcome = Outcome.DROPPED
            self.sink.finished(tx)
            self._drop()
            return "421 4.4.2 Connection dropped"  # never sent: the socket is closing
        tx.queue_id = queue_id()
        tx.outcome = Outcome.ACCEPTED
        self.sink.accepted(tx)
        self.sink.finished(tx)
        return f"250 2.0.0 Ok: queued as {tx.queue_id}"


def _read_path(server: SMTP, arg: str) -> tuple[str | None, str]:
    """``<address> params`` -> (address, params); "<>" is the null path, None if malformed.

    The plain ``<dot-atom@domain>`` form is read with a regex (the email package's parser
    costs a third of the server's time); anything else goes through aiosmtpd's.
    """
    stripped = arg.lstrip()
    if not stripped:
        return None, ""
    if stripped.startswith("<>"):
        return "", stripped[2:]
    plain = _PLAIN_PATH.match(stripped)
    if plain is not None:
        return plain["address"], plain["rest"]
    address, rest = server._getaddr(arg)
    return address, rest or ""


def _peer(session: Session) -> str:
    peer = session.peer
    if isinstance(peer, tuple) and len(peer) >= 2:
        return f"{peer[0]}:{peer[1]}"
    return str(peer)
