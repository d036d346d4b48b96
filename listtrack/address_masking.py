"""Address masking for lists whose owners must not see subscribers' addresses in full.

`j***@example.org` keeps the first character and the domain (enough to tell rows apart and
see which provider refused) and hides the length of the local part.
"""

from __future__ import annotations

import re

MASK = "***"

# Address-shaped words in free text (diagnostics, report sources): a dot-atom or quoted
# local part, '@', a domain of one or more labels. Broad on purpose: masking too much is safe.
ADDRESS_IN_TEXT = re.compile(
    r"""(?:"[^"\r\n]{1,64}"|[\w.!#$%&'*+/=?^`{|}~-]{1,64})@[\w-]+(?:\.[\w-]+)*""",
    re.UNICODE,
)


def mask_address(address: str | None) -> str:
    """'john@example.org' -> 'j***@example.org'; text without '@' keeps only its first char."""
    if not address:
        return ""
    local, at, domain = address.rpartition("@")
    if not at:
        return address[:1] + MASK
    first = local.lstrip('"')[:1]
    return f"{first}{MASK}@{domain}"


def mask_addresses_in_text(text: str | None) -> str:
    """Every address-shaped word in `text` masked, the rest left as it is."""
    if not text:
        return ""
    return ADDRESS_IN_TEXT.sub(lambda found: mask_address(found.group(0)), text)
