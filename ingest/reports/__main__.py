"""python -m ingest.reports FILE... : one JSON line per file, the shape of
`listtrack report parse` (file, kind, recipients with address, action, status, diagnostic).
"""

from __future__ import annotations

import json
import sys

from . import parse_report, report_as_json


def main(argv: list[str] | None = None) -> int:
    """Parse each named file; a file that cannot be read is reported and makes the exit 1."""
    paths = sys.argv[1:] if argv is None else argv
    if not paths:
        print("usage: python -m ingest.reports FILE...", file=sys.stderr)
        return 2
    status = 0
    for path in paths:
        try:
            with open(path, "rb") as handle:
                raw = handle.read()
        except OSError as exc:
            print(f"{path}: {exc.strerror or exc}", file=sys.stderr)
            status = 1
            continue
        print(json.dumps(report_as_json(parse_report(raw), path), ensure_ascii=False))
    return status


if __name__ == "__main__":
    sys.exit(main())
