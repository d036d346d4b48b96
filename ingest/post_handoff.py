"""`listtrack-ingest post LIST@DOMAIN`: check the list and its send policy, spool, exit.

What the MTA waits for is only this: a small read-only look-up and one fsynced file. The
worker archives and distributes later (`ingest.distribution`). No SQLAlchemy, no Flask.
"""

from __future__ import annotations

import os

from ingest import spool
from ingest.handoff import (
    EX_NOPERM,
    EX_NOUSER,
    EX_OK,
    EX_TEMPFAIL,
    envelope_basics,
    fail,
    read_stdin,
)
from ingest.header_block import field_value, first_address, split_header_block
from ingest.list_lookup import LookupUnavailable, find_list, open_database, post_refusal
from listtrack.config import SiteConfig

USAGE = "usage: listtrack-ingest post LIST@DOMAIN (the message on standard input)"


def post_author(raw: bytes, envelope_sender: str | None) -> str | None:
    """Who posts, for the send policy: the From address, else the envelope sender."""
    header, _ = split_header_block(raw)
    author = first_address(field_value(header, b"from"))
    if author:
        return author
    sender = (envelope_sender or "").strip().strip("<>").strip().lower()
    return sender if "@" in sender else None


def is_own_copy(raw: bytes, name: str, domain: str) -> bool:
    """A copy this list sent, come back to it (an auto-forward, a misconfigured alias)."""
    header, _ = split_header_block(raw)
    list_id = field_value(header, b"list-id") or ""
    return f"<{name}.{domain}>" in list_id.lower()


def hand_off_post(site: SiteConfig, args: list[str]) -> int:
    """Store one post for the worker; the exit code tells the MTA what happened."""
    if len(args) != 1 or "@" not in args[0]:
        return fail(EX_TEMPFAIL, USAGE)  # a broken alias: keep the mail queued, not bounced
    address = args[0].strip().lower()
    name, _, domain = address.rpartition("@")
    raw, too_big = read_stdin(site.max_post_size)
    if too_big:
        return fail(EX_NOPERM, f"post to {address} refused: the message is larger than "
                               f"{site.max_post_size} bytes (max_post_size)")
    if is_own_copy(raw, name, domain):
        return fail(EX_NOPERM, f"post to {address} refused: mail loop, the message already "
                               f"carries this list's List-Id <{name}.{domain}>")
    author = post_author(raw, os.environ.get("SENDER"))
    try:
        database = open_database(site.db_url)
        try:
            facts = find_list(database, name, domain)
            refusal = None if facts is None else post_refusal(database, facts, author)
        finally:
            database.close()
    except LookupUnavailable as error:
        return fail(EX_TEMPFAIL, str(error))
    except Exception as error:  # noqa: BLE001 - any driver error: the MTA must retry later
        return fail(EX_TEMPFAIL, f"cannot read the database: {type(error).__name__}: "
                                 f"{str(error).strip().splitlines()[0] if str(error) else ''}")
    if facts is None or facts.closed:
        return fail(EX_NOUSER, f"no list {address}")
    if refusal is not None:
        return fail(EX_NOPERM, f"post to {address} refused: {refusal}")
    envelope = {**envelope_basics(), "queue": spool.POSTS, "list": address, "author": author}
    try:
        spool.store(site.spool_path, spool.POSTS, envelope, raw)
    except OSError as error:
        return fail(EX_TEMPFAIL, f"could not store the post in {site.spool_path}: "
                                 f"{error.strerror or error}")
    return EX_OK
