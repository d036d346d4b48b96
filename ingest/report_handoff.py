"""`listtrack-ingest report`: store what reached the VERP return address, then exit 0.

This runs in the MTA's pipe for every report, so it only reads stdin, notes who the mail
was addressed to and writes one spool file; the worker parses and matches it later.
Stdlib only, and nothing beyond what `ingest.handoff` and the spool already import.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from ingest import spool
from ingest.handoff import EX_OK, EX_TEMPFAIL, envelope_basics, fail, read_stdin

REPORT_USAGE = "usage: listtrack-ingest report [--recipient ADDR]"


def envelope_recipients(environ: Mapping[str, str], given: str | None) -> list[list[str]]:
    """Every envelope recipient the MTA told us, as [source, address], most exact first.

    Postfix local(8) sets ORIGINAL_RECIPIENT and RECIPIENT; Exim's pipe transport sets
    LOCAL_PART, LOCAL_PART_SUFFIX (the `+token` with `local_part_suffix = +*`) and DOMAIN;
    the alias may also pass `--recipient`. Headers are read later, by the worker.
    """
    found: list[list[str]] = []
    seen: set[str] = set()

    def add(source: str, address: str | None) -> None:
        address = (address or "").strip()
        if address and "@" in address and address.lower() not in seen:
            seen.add(address.lower())
            found.append([source, address])

    add("env:ORIGINAL_RECIPIENT", environ.get("ORIGINAL_RECIPIENT"))
    add("env:RECIPIENT", environ.get("RECIPIENT"))
    if environ.get("LOCAL_PART") and environ.get("DOMAIN"):
        local = (environ.get("LOCAL_PART_PREFIX", "") + environ["LOCAL_PART"]
                 + environ.get("LOCAL_PART_SUFFIX", ""))
        add("env:LOCAL_PART", f"{local}@{environ['DOMAIN']}")
    add("--recipient", given)
    return found


def parse_arguments(args: list[str]) -> str | None:
    """The `--recipient` value, if any; ValueError with the usage line for anything else."""
    recipient = None
    position = 0
    while position < len(args):
        argument = args[position]
        if argument == "--recipient" and position + 1 < len(args):
            recipient = args[position + 1]
            position += 2
        elif argument.startswith("--recipient="):
            recipient = argument.partition("=")[2]
            position += 1
        else:
            raise ValueError(f"unexpected argument '{argument[:80]}' ({REPORT_USAGE})")
    return recipient


def hand_off_report(site: object, args: list[str]) -> int:
    """Store one report from stdin in the reports spool; 0 once stored, 75 if it cannot be.

    A wrong command line also answers 75, so the MTA keeps the report queued (and logs the
    reason) until the alias is fixed, instead of bouncing it.
    """
    try:
        given = parse_arguments(args)
    except ValueError as error:
        return fail(EX_TEMPFAIL, str(error))
    raw, truncated = read_stdin(site.max_report_size)
    envelope = envelope_basics()
    envelope["recipients"] = envelope_recipients(os.environ, given)
    if truncated:
        envelope["truncated"] = True
    try:
        spool.store(site.spool_path, spool.REPORTS, envelope, raw)
    except OSError as error:
        return fail(EX_TEMPFAIL, f"could not store the report in {site.spool_path}: {error}")
    return EX_OK
