"""Where the instance folder lives, found without importing Flask (the MTA hand-off needs it)."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def instance_path() -> Path:
    """The instance folder: `LISTTRACK_INSTANCE`, else `instance/` beside the code."""
    configured = os.environ.get("LISTTRACK_INSTANCE")
    return Path(configured).resolve() if configured else PROJECT_ROOT / "instance"


def config_path() -> Path:
    """The site configuration file: `LISTTRACK_CONFIG`, else `listtrack.conf` in the instance."""
    configured = os.environ.get("LISTTRACK_CONFIG")
    return Path(configured).resolve() if configured else instance_path() / "listtrack.conf"
