"""One SMTP connection that sends one transaction per recipient, with the DSN parameters.

smtplib greets and reads the EHLO keywords; the transactions are written by hand so that
MAIL, RCPT and DATA go in one write when the server offers PIPELINING (RFC 2920), and so
that every command and reply lands in a transcript, kept as evidence when a copy is refused.
"""

from __future__ import annotations

import re
import smtplib
from dataclasses import dataclass, field
from enum import StrEnum

SMTP_TIMEOUT_SECONDS = 120
_ENHANCED = re.compile(r"^([245])\.(\d{1,3})\.(\d{1,3})\b")


class Result(StrEnum):
    SENT = "sent"  # the server took the copy (250 after DATA)
    REFUSED = "refused"  # a 5xx: permanent
    DEFERRED = "deferred"  # a 4xx or a lost connection: try again later


@dataclass
class Attempt:
    """How one transaction went: the result, the deciding reply, what was said."""

    result: Result
    code: int
    reply: str
    transcript: list[str] = field(default_factory=list)

    @property
    def status_code(self) -> str:
        """The enhanced status code (RFC 3463) of the reply, or one made from its class."""
        found = _ENHANCED.match(self.reply)
        if found:
            return ".".join(found.groups())
        return f"{self.code // 100}.0.0" if self.code >= 400 else "4.4.2"

    @property
    def diagnostic(self) -> str:
        return f"smtp; {self.code} {self.reply}" if self.code else f"x-listtrack; {self.reply}"


def xtext(text: str) -> str:
    """RFC 3461 xtext: printable ASCII but '+' and '=' as is, every other octet as +XX."""
    return "".join(chr(byte) if 33 <= byte <= 126 and byte not in (43, 61) else f"+{byte:02X}"
                   for byte in text.encode("utf-8"))


def utf8_addr_xtext(address: str) -> str:
    """RFC 6533 utf-8-addr-xtext: like xtext, but each non-ASCII character as \\x{HEX}."""
    return "".join(char if 33 <= ord(char) <= 126 and char not in "+=\\"
                   else f"\\x{{{ord(char):X}}}" for char in address)


def original_recipient(address: str) -> str:
    """The ORCPT value for a recipient: rfc822 type, or utf-8 for an internationalised one."""
    if address.isascii():
        return f"rfc822;{xtext(address)}"
    return f"utf-8;{utf8_addr_xtext(address)}"


class SmtpSession:
    """A connection to the distributing MTA, opened on first use and reused."""

    def __init__(self, host: str, port: int, helo_name: str,
                 timeout: float = SMTP_TIMEOUT_SECONDS) -> None:
        self.host, self.port, self.helo_name, self.timeout = host, port, helo_name, timeout
        self.client: smtplib.SMTP | None = None
        self.dsn = self.pipelining = self.smtputf8 = self.eightbitmime = False

    @property
    def peer(self) -> str:
        return f"{self.host}:{self.port}"

    def open(self) -> None:
        """Connect and greet; raises OSError or smtplib.SMTPException when it cannot."""
        client = smtplib.SMTP(self.host, self.port, local_hostname=self.helo_name,
                              timeout=self.timeout)
        try:
            code, reply = client.ehlo()
            if code != 250:
                raise smtplib.SMTPHeloError(code, reply)
        except BaseException:
            client.close()
            raise
        self.client = client
        self.dsn = client.has_extn("dsn")
        self.pipelining = client.has_extn("pipelining")
        self.smtputf8 = client.has_extn("smtputf8")
        self.eightbitmime = client.has_extn("8bitmime")

    def close(self) -> None:
        if self.client is None:
            return
        try:
            self.client.quit()
        except (OSError, smtplib.SMTPException):
            self.client.close()
        self.client = None

    def _drop(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None

    def send(self, sender: str, mail_options: list[str], recipient: str,
             rcpt_options: list[str], data: bytes) -> Attempt:
        """One transaction: MAIL, RCPT, DATA; `data` is on the wire (ends CRLF "." CRLF)."""
        reused = self.client is not None
        if self.client is None:
            self.open()
        transcript: list[str] = []
        try:
            attempt = self._transaction(sender, mail_options, recipient, rcpt_options, data,
                                        transcript)
        except (OSError, smtplib.SMTPServerDisconnected) as error:
            self._drop()
            if reused and not any(line.startswith("<<<") for line in transcript):
                # An idle connection the server had closed: nothing was taken, start afresh.
                return self.send(sender, mail_options, recipient, rcpt_options, data)
            reason = f"connection to {self.peer} lost: {error or type(error).__name__}"
            transcript.append(f"--- {reason}")
            return Attempt(Result.DEFERRED, 0, reason, transcript)
        if attempt.code == 421:  # the server is closing the connection (RFC 5321 3.8)
            self._drop()
        return attempt

    def _command(self, line: str, transcript: list[str]) -> bytes:
        transcript.append(f">>> {line}")
        return line.encode("utf-8") + b"\r\n"

    def _reply(self, transcript: list[str]) -> tuple[int, str]:
        assert self.client is not None
        code, message = self.client.getreply()
        text = message.decode("utf-8", "replace").replace("\n", " ")
        transcript.append(f"<<< {code} {text}")
        return code, text

    def _transaction(self, sender: str, mail_options: list[str], recipient: str,
                     rcpt_options: list[str], data: bytes, transcript: list[str]) -> Attempt:
        assert self.client is not None
        mail = " ".join([f"MAIL FROM:<{sender}>", *mail_options])
        rcpt = " ".join([f"RCPT TO:<{recipient}>", *rcpt_options])
        commands = [mail, rcpt, "DATA"]
        if self.pipelining:
            self.client.send(b"".join(self._command(line, transcript) for line in commands))
            replies = [self._reply(transcript) for _ in commands]
        else:
            replies = []
            for line in commands:
                self.client.send(self._command(line, transcript))
                replies.append(self._reply(transcript))
                if not 200 <= replies[-1][0] < 400:
                    break
        for expected, (code, text) in zip((250, 250, 354), replies, strict=False):
            if code // 100 != expected // 100:
                self._reset(transcript, data_open=replies[-1][0] == 354)
                return Attempt(_result_of(code), code, text, transcript)
        transcript.append(f">>> ({len(data)} octets of message data)")
        self.client.send(data)
        code, text = self._reply(transcript)
        return Attempt(Result.SENT if code // 100 == 2 else _result_of(code), code, text,
                       transcript)

    def _reset(self, transcript: list[str], data_open: bool) -> None:
        """Leave a failed transaction so the connection can carry the next one."""
        assert self.client is not None
        if data_open:  # pipelined DATA was accepted although RCPT failed: send no message
            self.client.send(b".\r\n")
            self._reply(transcript)
        self.client.send(self._command("RSET", transcript))
        self._reply(transcript)


def _result_of(code: int) -> Result:
    return Result.REFUSED if code // 100 == 5 else Result.DEFERRED
