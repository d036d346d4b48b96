"""`listtrack-ingest`: what the MTA's aliases run. Store the mail durably, then exit.

    listtrack-ingest post LIST@DOMAIN      a post to a list (stdin: the message)
    listtrack-ingest report [--recipient]  a DSN, MDN or other report (stdin: the report)

Exit codes (sysexits, as MTAs read them): 0 stored; 75 could not store (the MTA retries);
67 unknown list; 77 post refused by the list's send policy. Nothing heavy is imported here:
no Flask, no SQLAlchemy; the worker does the rest.
"""

from __future__ import annotations

import os
import sys
import time

EX_OK = 0
EX_USAGE = 64  # not used for MTA calls: a broken alias must keep the mail queued (75)
EX_NOUSER = 67
EX_TEMPFAIL = 75
EX_NOPERM = 77

USAGE = "usage: listtrack-ingest post LIST@DOMAIN | listtrack-ingest report [--recipient ADDR]"


def fail(code: int, message: str) -> int:
    sys.stderr.write(f"listtrack-ingest: {message}\n")
    return code


def read_stdin(limit: int) -> tuple[bytes, bool]:
    """Read the whole input (the MTA must not get SIGPIPE) but keep at most `limit` bytes."""
    stream = sys.stdin.buffer
    kept = bytearray()
    total = 0
    while chunk := stream.read(1 << 16):
        total += len(chunk)
        if len(kept) < limit:
            kept += chunk[: limit - len(kept)]
    return bytes(kept), total > limit


def main(argv: list[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else argv
    os.umask(0o027)  # spooled mail is for the worker's group, not for every local user
    if not arguments or arguments[0] not in ("post", "report"):
        return fail(EX_TEMPFAIL, USAGE)
    try:
        from listtrack.config import ConfigError, load_site_config

        try:
            site = load_site_config(create_secret=False)
        except ConfigError as error:
            return fail(EX_TEMPFAIL, str(error))
        if arguments[0] == "post":
            from ingest.post_handoff import hand_off_post

            return hand_off_post(site, arguments[1:])
        from ingest.report_handoff import hand_off_report

        return hand_off_report(site, arguments[1:])
    except Exception as error:  # noqa: BLE001 - the MTA must get a temp failure, never a crash
        return fail(EX_TEMPFAIL, f"could not store the message: {type(error).__name__}: {error}")


def envelope_basics() -> dict:
    """What every spooled message records about its hand-off."""
    return {"received": time.time(), "sender": os.environ.get("SENDER")}


if __name__ == "__main__":
    sys.exit(main())
