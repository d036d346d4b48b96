"""Site configuration: `listtrack.conf` in sympa.conf syntax (`key value`, `#` comments).

Stdlib only, because the MTA hand-off reads it on every delivery and must start fast.
Every key is declared once in `SITE_KEYS`; anything else in the file stops start-up
with one line naming the file, the line and what is allowed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path

from listtrack import paths

# No dataclasses, typing or secrets at import time: every MTA hand-off pays for imports.

ON_OFF = ("on", "off")
MDN_VALUES = ("on", "on_demand", "off")
TRACKING_VISIBILITY = ("owner", "private")
VERP_RATES = ("0%", "2%", "5%", "10%", "20%", "25%", "33%", "50%", "100%")

SECRET_KEY_FILE = "secret_key"


class ConfigError(Exception):
    """A configuration problem, already phrased as the one line a person needs."""


class Key:
    """One configuration key: how to read it, what is allowed, its built-in default."""

    __slots__ = ("name", "parse", "allowed", "default", "description")

    def __init__(self, name: str, parse: Callable[[str], object], allowed: str,
                 default: object = None, description: str = "") -> None:
        self.name = name
        self.parse = parse
        self.allowed = allowed
        self.default = default
        self.description = description


def _choice(values: tuple[str, ...]) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if text not in values:
            raise ValueError
        return text

    return parse


def _int_range(low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        if not re.fullmatch(r"[0-9]+", text):
            raise ValueError
        number = int(text)
        if not low <= number <= high:
            raise ValueError
        return number

    return parse


_HOSTNAME = re.compile(r"(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
                       r"(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")
_LOCAL_PART_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,31}")


def _matching(pattern: re.Pattern[str]) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if not pattern.fullmatch(text):
            raise ValueError
        return text

    return parse


def _text(text: str) -> str:
    if not text:
        raise ValueError
    return text


def _secret(text: str) -> str:
    if len(text) < 16:
        raise ValueError
    return text


SITE_KEYS: dict[str, Key] = {
    key.name: key
    for key in (
        Key("domain", _matching(_HOSTNAME), "a host name such as lists.example.org",
            "localhost", "Mail domain of the lists and of the VERP return path."),
        Key("listmaster", _matching(_EMAIL), "an e-mail address", None,
            "Address of the site administrators (default: listmaster@<domain>)."),
        Key("db_url", _text, "an SQLAlchemy URL such as postgresql+psycopg://user@host/db", None,
            "Database (default: SQLite file listtrack.db in the instance folder)."),
        Key("smtp_host", _matching(_HOSTNAME), "a host name or IP address", "localhost",
            "SMTP server that distributes the copies."),
        Key("smtp_port", _int_range(1, 65535), "a port number 1-65535", 25,
            "Port of that SMTP server."),
        Key("smtp_connections", _int_range(1, 64), "a number 1-64", 4,
            "SMTP connections used in parallel when distributing one message."),
        Key("bounce_email_prefix", _matching(_LOCAL_PART_WORD),
            "letters, digits, '.', '_' or '-' (at most 32)", "bounce",
            "Local part of the VERP return path: <prefix>+<token>@<domain>."),
        Key("tracking_delivery_status_notification", _choice(ON_OFF), "on, off", "off",
            "Ask for delivery status notifications (DSN) by default."),
        Key("tracking_message_disposition_notification", _choice(MDN_VALUES),
            "on, on_demand, off", "off",
            "Ask for read receipts (MDN) by default; on_demand when the post asks for one."),
        Key("tracking_retention_period", _int_range(1, 3650), "a number of days 1-3650", 90,
            "Days that tracking records and their evidence are kept."),
        Key("tracking_visibility", _choice(TRACKING_VISIBILITY), "owner, private", "owner",
            "Who sees tracking: list owners, or also subscribers (private)."),
        Key("verp_rate", _choice(VERP_RATES), ", ".join(VERP_RATES), "0%",
            "Share of untracked messages sent with VERP (tracked ones always use VERP)."),
        Key("secret_key", _secret, "at least 16 characters", None,
            "Signs sessions and VERP tokens (default: generated once into the instance)."),
        Key("spool_dir", _text, "a directory path", None,
            "Where the MTA hand-off stores incoming mail (default: spool/ in the instance)."),
        Key("max_report_size", _int_range(1024, 1 << 30), "a number of bytes 1024-1073741824",
            5 * 1024 * 1024, "Reports larger than this are cut to this size and quarantined."),
        Key("web_url", _matching(re.compile(r"https?://[^\s/]+(/[^\s]*)?")),
            "an http:// or https:// URL", "http://127.0.0.1:5000",
            "Address of the web archive, for links in mails to owners."),
        Key("alert_quiet_period", _int_range(1, 10080), "a number of minutes 1-10080", 15,
            "Minutes without new failures before the owners get the failure summary."),
        Key("max_post_size", _int_range(1024, 1 << 30), "a number of bytes 1024-1073741824",
            25 * 1024 * 1024, "Posts larger than this are refused."),
    )
}

TRACKING_DEFAULT_KEYS = {
    "delivery_status_notification": "tracking_delivery_status_notification",
    "message_disposition_notification": "tracking_message_disposition_notification",
    "tracking_visibility": "tracking_visibility",
    "retention_period": "tracking_retention_period",
    "verp_rate": "verp_rate",
}


class SiteConfig:
    """The effective site configuration, with where each value came from."""

    __slots__ = ("values", "sources", "path", "instance")

    def __init__(self, values: Mapping[str, object], sources: Mapping[str, str] | None = None,
                 path: Path | None = None, instance: Path | None = None) -> None:
        self.values = values
        self.sources = sources or {}
        self.path = path
        self.instance = instance or paths.instance_path()

    def __getattr__(self, name: str) -> object:
        try:
            return self.values[name]
        except KeyError:
            raise AttributeError(name) from None

    def with_values(self, **overrides: object) -> SiteConfig:
        """The same site with some values replaced (e.g. the demo's loopback SMTP port)."""
        return SiteConfig({**self.values, **overrides}, self.sources, self.path, self.instance)

    @property
    def spool_path(self) -> Path:
        return Path(self.values["spool_dir"])


def parse_config_text(text: str, filename: str) -> tuple[dict[str, object], dict[str, str]]:
    """Read `key value` lines; raise ConfigError with `file:line: problem` on the first error."""
    values: dict[str, object] = {}
    sources: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        name, _, raw_value = stripped.partition(" ")
        if "\t" in name:
            name, _, rest = name.partition("\t")
            raw_value = rest + raw_value
        value_text = raw_value.strip()
        where = f"{filename}:{number}"
        key = SITE_KEYS.get(name)
        if key is None:
            raise ConfigError(
                f"{where}: unknown key '{name}' (allowed keys: {', '.join(sorted(SITE_KEYS))})"
            )
        if name in values:
            raise ConfigError(f"{where}: duplicate key '{name}' (first set at {sources[name]})")
        try:
            values[name] = key.parse(value_text)
        except ValueError:
            shown = value_text if value_text else "(empty)"
            raise ConfigError(
                f"{where}: bad value '{shown}' for '{name}' (allowed: {key.allowed})"
            ) from None
        sources[name] = where
    return values, sources


def load_site_config(
    path: Path | None = None,
    environ: Mapping[str, str] | None = None,
    create_secret: bool = True,
) -> SiteConfig:
    """Read the site file (if it exists), apply built-in defaults and environment overrides."""
    environ = os.environ if environ is None else environ
    instance = paths.instance_path()
    path = path or paths.config_path()
    values: dict[str, object] = {}
    sources: dict[str, str] = {}
    if path.exists():
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise ConfigError(f"{path}: cannot be read ({error})") from None
        values, sources = parse_config_text(text, str(path))
    elif "LISTTRACK_CONFIG" in environ:
        raise ConfigError(f"{path}: no such file (named by LISTTRACK_CONFIG)")

    for name, key in SITE_KEYS.items():
        if name not in values:
            values[name] = key.default
            sources[name] = "built-in default"
    if values["listmaster"] is None:
        values["listmaster"] = f"listmaster@{values['domain']}"
    if values["db_url"] is None:
        values["db_url"] = f"sqlite:///{instance / 'listtrack.db'}"
    if environ.get("LISTTRACK_DB_URL"):
        values["db_url"] = environ["LISTTRACK_DB_URL"]
        sources["db_url"] = "environment LISTTRACK_DB_URL"
    if values["spool_dir"] is None:
        values["spool_dir"] = str(instance / "spool")
    if values["secret_key"] is None:
        values["secret_key"] = read_or_create_secret(instance, create=create_secret)
        sources["secret_key"] = f"{instance / SECRET_KEY_FILE}"
    return SiteConfig(values=values, sources=sources, path=path, instance=instance)


def read_or_create_secret(instance: Path, create: bool = True) -> str | None:
    """The generated site secret: made once, 0600, never printed."""
    secret_file = instance / SECRET_KEY_FILE
    try:
        return secret_file.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        if not create:
            return None
    import secrets

    instance.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    draft = instance / f".{SECRET_KEY_FILE}.{os.getpid()}"
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(secret + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    try:
        os.link(draft, secret_file)  # atomic, and fails if another process was first
    except FileExistsError:
        secret = secret_file.read_text(encoding="ascii").strip()
    finally:
        draft.unlink()
    return secret


def safe_url(url: str) -> str:
    """A database URL with its password hidden, for messages."""
    hidden = re.sub(r"(://[^:/@]*):.*@", r"\1:***@", url, count=1)
    return re.sub(r"([?&]password=)[^&]*", r"\1***", hidden, flags=re.IGNORECASE)
