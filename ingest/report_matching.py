"""From one incoming report to a verdict: which delivery its signed token names, what the
parser read in it, or why it must go to the quarantine. No database work here.

The token is looked for where the MTA and the reporter write the return path: the
envelope recipient the MTA gave the hand-off, our MTA's Delivered-To / X-Original-To /
Envelope-to lines, the report's own To, the DSN's Original-Envelope-Id (our ENVID is the
token), and last a return path quoted inside the report. Only a token signed with this
site's secret counts, so a forged or guessed report never reaches a delivery.
"""

from __future__ import annotations

import email
import functools
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.policy import compat32
from itertools import chain
from pathlib import Path

from ingest import spool
from ingest.report_envelope import header_recipients, split_mta_prefix
from ingest.reports import Report as ParsedReport
from ingest.reports import parse_report
from ingest.verp import BadToken, read_token, token_from_address
from listtrack.evidence import sha256_hex

# A report that names nobody can still be filed when the token says whose copy it was.
FILED_WITHOUT_RECIPIENTS = ("arf",)
_TOKEN_SHAPE = re.compile(r"[0-9a-z]+-[a-z2-7]+", re.IGNORECASE)
_MIME_DEFECTS = frozenset((
    "StartBoundaryNotFoundDefect", "CloseBoundaryNotFoundDefect",
    "MultipartInvariantViolationDefect", "NoBoundaryInMultipartDefect",
    "MultipartConversionError", "InvalidMultipartContentTransferEncodingDefect",
    "InvalidBase64PaddingDefect", "InvalidBase64CharactersDefect",
    "InvalidBase64LengthDefect", "MissingHeaderBodySeparatorDefect",
))


@dataclass
class IncomingReport:
    """One report to file: the bytes as the reporter wrote them and how it reached us."""

    raw: bytes
    mta_prefix: bytes
    received_at: datetime
    envelope_recipients: list[tuple[str, str]]
    truncated: bool = False
    spool_name: str | None = None
    sha256: str = field(init=False)

    def __post_init__(self) -> None:
        self.sha256 = sha256_hex(self.raw)

    @property
    def first_recipient(self) -> str | None:
        return self.envelope_recipients[0][1] if self.envelope_recipients else None


def incoming_from_spool(path: Path) -> IncomingReport:
    """Read one spool file; a damaged envelope line never loses the mail behind it."""
    try:
        message = spool.read(path)
        envelope, data = message.envelope, message.raw
    except ValueError:  # not a JSON first line: keep every byte as the mail
        envelope, data = {}, path.read_bytes()
    if not isinstance(envelope, dict):
        envelope = {}
    prefix, raw = split_mta_prefix(data)
    try:
        received_at = datetime.fromtimestamp(float(envelope["received"]), UTC)
    except (KeyError, TypeError, ValueError, OverflowError):
        received_at = datetime.fromtimestamp(path.stat().st_mtime, UTC)
    recipients = [
        (str(item[0]), str(item[1])) for item in envelope.get("recipients") or []
        if isinstance(item, list | tuple) and len(item) == 2
    ]
    return IncomingReport(
        raw=raw,
        mta_prefix=prefix,
        received_at=received_at,
        envelope_recipients=recipients,
        truncated=bool(envelope.get("truncated")),
        spool_name=path.name,
    )


@functools.cache
def _quoted_tokens(prefix: str) -> re.Pattern[bytes]:
    """`<prefix>+TOKEN@` anywhere in a report's bytes."""
    return re.compile(rb"(?<![\w.+-])" + re.escape(prefix.encode()) + rb"\+([0-9A-Za-z-]{3,40})@",
                      re.IGNORECASE)


@dataclass
class TokenMatch:
    """Where the token was found and the delivery it names, or why there is none."""

    delivery_id: int | None
    address: str | None
    problem: str | None = None  # no_token | bad_token
    detail: str = ""


def find_token(incoming: IncomingReport, envelope_id: str | None, prefix: str,
               secret: str) -> TokenMatch:
    """The first correctly signed token, in the order the sources are trusted."""
    bad: str | None = None
    first_address: str | None = None
    sources = chain(incoming.envelope_recipients,
                    header_recipients(incoming.mta_prefix, incoming.raw))
    for source, address in sources:
        first_address = first_address or address
        try:
            token = token_from_address(address, prefix)
        except BadToken:
            continue  # not our return path
        try:
            return TokenMatch(read_token(token, secret), address)
        except BadToken as error:
            bad = bad or f"{source} <{address[:120]}>: {error}"
    if envelope_id:
        try:
            return TokenMatch(read_token(envelope_id, secret), first_address)
        except BadToken as error:
            if bad is None and _TOKEN_SHAPE.fullmatch(envelope_id.strip()):
                bad = f"Original-Envelope-Id {envelope_id[:80]}: {error}"
    # Last, a return path quoted inside the report: a feedback loop's Original-Mail-From,
    # the Return-Path of the returned message. Only a correctly signed token counts here.
    for token in _quoted_tokens(prefix).findall(incoming.raw):
        try:
            return TokenMatch(read_token(token.decode("ascii", "replace"), secret),
                              first_address)
        except BadToken:
            continue
    if bad:
        return TokenMatch(None, first_address, "bad_token", bad)
    where = f"(envelope recipient: {first_address})" if first_address else "(no recipient given)"
    return TokenMatch(None, first_address, "no_token",
                      f"no {prefix}+TOKEN address and no listtrack ENVID {where}")


@dataclass
class Verdict:
    """What examining one report found: a delivery to file it on, or a quarantine reason."""

    incoming: IncomingReport
    parsed: ParsedReport | None = None
    delivery_id: int | None = None
    address: str | None = None
    reason: str | None = None
    detail: str = ""

    def quarantine(self, reason: str, detail: str) -> Verdict:
        self.reason, self.detail = reason, detail
        return self


def summary(parsed: ParsedReport | None) -> str:
    """A short account of what the parser read, for a quarantine line."""
    if parsed is None or parsed.kind == "unrecognized":
        return ""
    said = ", ".join(
        f"{r.address} {r.action or r.feedback_type or '-'}{' ' + r.status if r.status else ''}"
        for r in parsed.recipients[:3]
    )
    more = f" and {len(parsed.recipients) - 3} more" if len(parsed.recipients) > 3 else ""
    return f"; it is a {parsed.kind}" + (f" about {said}{more}" if said else "")


def examine(incoming: IncomingReport, prefix: str, secret: str) -> Verdict:
    """Parse one report and find its delivery id; never raises for any input."""
    verdict = Verdict(incoming)
    if not incoming.raw.strip():
        told = "only the lines our MTA adds" if incoming.mta_prefix.strip() else "no bytes"
        return verdict.quarantine("empty", f"the hand-off received {told}, no report")
    if incoming.truncated:
        match = find_token(incoming, None, prefix, secret)
        about = f" (token for delivery {match.delivery_id})" if match.delivery_id else ""
        return verdict.quarantine(
            "truncated", f"larger than max_report_size: only the first {len(incoming.raw)} "
            f"bytes were kept{about}")
    verdict.parsed = parsed = parse_report(incoming.raw)
    match = find_token(incoming, parsed.envelope_id, prefix, secret)
    verdict.address = match.address
    if match.delivery_id is None:
        return verdict.quarantine(match.problem or "no_token", match.detail + summary(parsed))
    verdict.delivery_id = match.delivery_id
    if not parsed.recipients and parsed.kind not in FILED_WITHOUT_RECIPIENTS:
        return verdict.quarantine(*unreadable(incoming.raw, parsed))
    return verdict


def unreadable(raw: bytes, parsed: ParsedReport) -> tuple[str, str]:
    """Why nothing could be read: an undecodable charset, broken MIME, or an unknown form."""
    problems = "; ".join(parsed.problems) or "no recipient found"
    if any("charset" in problem for problem in parsed.problems):
        return "bad_charset", f"nothing could be read ({problems})"
    defects = mime_defects(raw)
    if defects or any(problem.startswith("unparsable") for problem in parsed.problems):
        return "broken_mime", f"nothing could be read ({', '.join(defects) or problems})"
    return "unrecognized", f"no report format recognised ({problems})"


def mime_defects(raw: bytes) -> list[str]:
    """Names of the MIME structure defects the standard parser notes in a message."""
    try:
        message = email.message_from_bytes(raw, policy=compat32)
    except Exception:  # noqa: BLE001 - a message the parser cannot even split is broken
        return ["unparsable"]
    found: list[str] = []
    for part in message.walk():
        for defect in getattr(part, "defects", []):
            name = type(defect).__name__
            if name in _MIME_DEFECTS and name not in found:
                found.append(name)
    return found

