"""Human phrases for enhanced mail system status codes (RFC 3463 class.subject.detail).

Owners read "5.1.1" as "permanent failure: bad destination mailbox address"; the panel, the
notification dialog and the CSV export all describe codes through `status_phrase`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# RFC 3463 section 3.1: the class says whether the report is a success or a failure.
CLASS_PHRASES = {
    "2": "Success",
    "4": "Persistent transient failure",
    "5": "Permanent failure",
}

# RFC 3463 section 3.2: the subject says which part of the system the detail is about.
SUBJECT_PHRASES = {
    "0": "other or undefined status",
    "1": "addressing status",
    "2": "mailbox status",
    "3": "mail system status",
    "4": "network and routing status",
    "5": "mail delivery protocol status",
    "6": "message content or media status",
    "7": "security or policy status",
}

# RFC 3463 sections 3.3 to 3.10, then a few later entries of the IANA registry that real
# servers send often (the RFC that defined each is named beside it).
DETAIL_PHRASES = {
    "0.0": "other undefined status",
    "1.0": "other address status",
    "1.1": "bad destination mailbox address",
    "1.2": "bad destination system address",
    "1.3": "bad destination mailbox address syntax",
    "1.4": "destination mailbox address ambiguous",
    "1.5": "destination address valid",
    "1.6": "destination mailbox has moved, no forwarding address",
    "1.7": "bad sender's mailbox address syntax",
    "1.8": "bad sender's system address",
    "1.10": "recipient address has null MX",  # RFC 7505
    "2.0": "other or undefined mailbox status",
    "2.1": "mailbox disabled, not accepting messages",
    "2.2": "mailbox full",
    "2.3": "message length exceeds administrative limit",
    "2.4": "mailing list expansion problem",
    "3.0": "other or undefined mail system status",
    "3.1": "mail system full",
    "3.2": "system not accepting network messages",
    "3.3": "system not capable of selected features",
    "3.4": "message too big for system",
    "3.5": "system incorrectly configured",
    "4.0": "other or undefined network or routing status",
    "4.1": "no answer from host",
    "4.2": "bad connection",
    "4.3": "directory server failure",
    "4.4": "unable to route",
    "4.5": "mail system congestion",
    "4.6": "routing loop detected",
    "4.7": "delivery time expired",
    "5.0": "other or undefined protocol status",
    "5.1": "invalid command",
    "5.2": "syntax error",
    "5.3": "too many recipients",
    "5.4": "invalid command arguments",
    "5.5": "wrong protocol version",
    "6.0": "other or undefined media error",
    "6.1": "media not supported",
    "6.2": "conversion required and prohibited",
    "6.3": "conversion required but not supported",
    "6.4": "conversion with loss performed",
    "6.5": "conversion failed",
    "6.7": "non-ASCII addresses not permitted for that sender or recipient",  # RFC 6531
    "7.0": "other or undefined security status",
    "7.1": "delivery not authorized, message refused",
    "7.2": "mailing list expansion prohibited",
    "7.3": "security conversion required but not possible",
    "7.4": "security features not supported",
    "7.5": "cryptographic failure",
    "7.6": "cryptographic algorithm not supported",
    "7.7": "message integrity failure",
    "7.8": "authentication credentials invalid",  # RFC 4954
    "7.13": "user account disabled",  # RFC 5248
    "7.23": "SPF validation failed",  # RFC 7372
    "7.26": "multiple authentication checks failed",  # RFC 7372
    "7.27": "sender address has null MX",  # RFC 7505
}

# RFC 3463 section 2: class "." subject "." detail, up to three digits each after the class.
STATUS_CODE = re.compile(r"([245])\.(\d{1,3})\.(\d{1,3})")


@dataclass(frozen=True)
class StatusMeaning:
    """What an enhanced status code says, part by part."""

    code: str
    class_phrase: str
    subject_phrase: str
    detail_phrase: str | None  # None: a detail this table does not know

    @property
    def phrase(self) -> str:
        """One line: the class, then the detail (or, when unknown, the subject); X.0.0 says
        nothing more than its class, so '2.0.0' reads 'Success'."""
        if self.code.endswith(".0.0"):
            return self.class_phrase
        return f"{self.class_phrase}: {self.detail_phrase or self.subject_phrase}"


def describe_status(code: str | None) -> StatusMeaning | None:
    """Split and describe a code such as '5.1.1'; None when it is not an RFC 3463 code."""
    if not code:
        return None
    found = STATUS_CODE.fullmatch(code.strip())
    if found is None:
        return None
    klass, subject, detail = found.groups()
    subject, detail = str(int(subject)), str(int(detail))
    return StatusMeaning(
        code=f"{klass}.{subject}.{detail}",
        class_phrase=CLASS_PHRASES[klass],
        subject_phrase=SUBJECT_PHRASES.get(subject, f"subject {subject} (not defined)"),
        detail_phrase=DETAIL_PHRASES.get(f"{subject}.{detail}"),
    )


def status_phrase(code: str | None) -> str:
    """The human phrase for a code, or '' when there is no valid code to describe."""
    meaning = describe_status(code)
    return meaning.phrase if meaning else ""
