"""What the loopback MTA does for one recipient: the scripted "rest of the Internet".

A behaviour is chosen per RCPT by a rule (``address -> Behaviour``); two rules are ready: by
the local part's prefix (``fail-bob@...``), and a weighted hash of the address for the demo.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    """The remote system's reaction; the values are the local-part prefixes."""

    DELIVER = "deliver"  # accept; success DSN if NOTIFY has SUCCESS
    REFUSE = "refuse"  # 5xx at RCPT
    TEMPFAIL = "tempfail"  # 4xx at RCPT (``attempts`` times, then deliver)
    DROP_AT_RCPT = "drop"  # close the connection instead of answering RCPT
    DROP_AT_DATA = "dropdata"  # take the whole message, then close without answering
    FAIL = "fail"  # accept, then a failure DSN
    DELAY = "delay"  # accept, a delay DSN, ``later`` seconds after it a success DSN
    DISPLAY = "display"  # deliver, then the reader's MDN "displayed"
    DELETE = "delete"  # deliver, then the reader's MDN "deleted"


@dataclass(frozen=True)
class Behaviour:
    """One recipient's script; unset texts default to what a Postfix server would say."""

    kind: Kind = Kind.DELIVER
    attempts: int | None = None  # TEMPFAIL/DROP_*: tries that fail first; None: every try
    reply: str | None = None  # REFUSE/TEMPFAIL: the whole SMTP reply line
    status: str | None = None  # FAIL/DELAY: the DSN Status
    diagnostic: str | None = None  # FAIL/DELAY: the next hop's reply, for Diagnostic-Code
    later: float = 0.2  # DELAY: delay DSN -> success DSN; DISPLAY/DELETE: success -> MDN

    def rcpt_reply(self, address: str) -> str:
        """The reply to RCPT for REFUSE and TEMPFAIL."""
        if self.reply:
            return self.reply
        if self.kind is Kind.TEMPFAIL:
            return f"450 4.2.0 <{address}>: Recipient address rejected: Greylisted, try again"
        return (
            f"550 5.1.1 <{address}>: Recipient address rejected: "
            "User unknown in local recipient table"
        )

    def dsn_status(self) -> str:
        """The DSN Status for FAIL and DELAY."""
        if self.status:
            return self.status
        return "4.2.2" if self.kind is Kind.DELAY else "5.1.1"

    def next_hop_reply(self, address: str) -> str:
        """What the (simulated) mailbox host answered, quoted in Diagnostic-Code."""
        if self.diagnostic:
            return self.diagnostic
        if self.kind is Kind.DELAY:
            return f"452 4.2.2 <{address}>: Recipient address rejected: Mailbox full"
        return (
            f"550 5.1.1 <{address}>: Recipient address rejected: "
            "User unknown in virtual mailbox table"
        )


BehaviourRule = Callable[[str], Behaviour]

DELIVER = Behaviour()
_PREFIX = re.compile(r"^(?P<kind>[a-z]+?)(?P<attempts>\d*)-", re.IGNORECASE)
_KINDS = {kind.value: kind for kind in Kind}


def behaviour_from_local_part(address: str, later: float = 0.2) -> Behaviour | None:
    """``fail-x@``, ``tempfail2-x@`` (two 450s, then accepted), ... or None without a prefix."""
    match = _PREFIX.match(address.rpartition("@")[0] or address)
    if not match or match["kind"].lower() not in _KINDS:
        return None
    attempts = int(match["attempts"]) if match["attempts"] else None
    return Behaviour(kind=_KINDS[match["kind"].lower()], attempts=attempts, later=later)


def local_part_rule(later: float = 0.2) -> BehaviourRule:
    """The default rule: the local part's prefix says what happens, anything else delivers."""

    def rule(address: str) -> Behaviour:
        return behaviour_from_local_part(address, later) or Behaviour(later=later)

    return rule


DEMO_WEIGHTS: Mapping[Kind, float] = {
    Kind.DELIVER: 0.45,
    Kind.DISPLAY: 0.22,
    Kind.DELETE: 0.03,
    Kind.DELAY: 0.08,
    Kind.FAIL: 0.06,
    Kind.REFUSE: 0.06,
    Kind.TEMPFAIL: 0.10,
}


def demo_rule(weights: Mapping[Kind, float] = DEMO_WEIGHTS, later: float = 5.0) -> BehaviourRule:
    """A varied, repeatable mix for the demo: a prefix still wins, else a hash of the address.

    TEMPFAIL picked this way refuses once and then accepts, so a retry shows up.
    """
    total = sum(weights.values())
    steps = []
    running = 0.0
    for kind, weight in weights.items():
        running += weight / total
        steps.append((running, kind))

    def rule(address: str) -> Behaviour:
        explicit = behaviour_from_local_part(address, later)
        if explicit is not None:
            return explicit
        digest = hashlib.sha256(address.lower().encode("utf-8")).digest()
        point = int.from_bytes(digest[:8], "big") / 2**64
        kind = next((k for edge, k in steps if point < edge), steps[-1][1])
        attempts = 1 if kind is Kind.TEMPFAIL else None
        return Behaviour(kind=kind, attempts=attempts, later=later)

    return rule


RULES: Mapping[str, Callable[..., BehaviourRule]] = {
    "local-part": local_part_rule,
    "demo": demo_rule,
}
