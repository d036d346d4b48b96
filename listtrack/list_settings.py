"""Each list's settings ("Bounce management and tracking"): validation and the change log.

The settings form and `listtrack list set` both call `update_list_settings`, so a value is
checked one way and every change is logged (who, when, old → new) whichever door it came in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from listtrack.config import (
    MDN_VALUES,
    ON_OFF,
    SITE_KEYS,
    TRACKING_DEFAULT_KEYS,
    TRACKING_VISIBILITY,
    VERP_RATES,
    SiteConfig,
    safe_url,
)
from listtrack.lists import ARCHIVE_VISIBILITIES, SEND_POLICIES, log_change
from listtrack.models import ListSettingChange, MailingList

SITE_DEFAULT = "default"  # what a form or the CLI sends for "follow the site's value"
SITE_DEFAULT_TEXT = "site default"  # how the change log writes it
RETENTION_RANGE = (1, 3650)


@dataclass(frozen=True)
class ListSetting:
    """One list setting as people see it: what it does, what it accepts."""

    name: str
    label: str
    help: str
    kind: str  # "choice", "days" or "switch"
    choices: tuple[str, ...] = ()
    warning: str = ""

    @property
    def inherits(self) -> bool:
        """Whether the setting may follow the site default."""
        return self.name in TRACKING_DEFAULT_KEYS


LIST_SETTINGS: dict[str, ListSetting] = {setting.name: setting for setting in (
    ListSetting("delivery_status_notification", "Delivery status notifications (DSN)",
                "Ask the mail servers to report, per recipient, whether each copy was "
                "delivered, delayed or refused.", "choice", ON_OFF),
    ListSetting("message_disposition_notification", "Read receipts (MDN)",
                "Ask each recipient's mail program to report when the message is displayed "
                "or deleted; on_demand only when the post itself asked for a read receipt.",
                "choice", MDN_VALUES,
                warning="Subscribers see a read-receipt prompt: use this only on lists whose "
                        "subscribers have been told."),
    ListSetting("tracking_visibility", "Who sees the tracking",
                "owner: the list owners (and the sender) only; private: subscribers too.",
                "choice", TRACKING_VISIBILITY),
    ListSetting("retention_period", "Retention period (days)",
                "Days that tracking records and their evidence are kept before the purge "
                "removes them; archived messages stay.", "days"),
    ListSetting("verp_rate", "VERP rate",
                "Share of untracked messages sent with a per-recipient return path to "
                "detect bouncing addresses (tracked messages always use it).",
                "choice", VERP_RATES),
    ListSetting("send_policy", "Who may post",
                "public: anyone; subscribers: subscribers only; owners: the list owners only.",
                "choice", SEND_POLICIES),
    ListSetting("archive_visibility", "Who may read the archive",
                "public: anyone; private: subscribers; owner: the list owners only.",
                "choice", ARCHIVE_VISIBILITIES),
    ListSetting("mask_addresses", "Address masking",
                "Show addresses as j***@example.org in the archive and tracking pages "
                "(downloaded evidence stays exact).",
                "switch", ON_OFF),
    ListSetting("alert_owners_on_failure", "Owner alerts on failures",
                "Mail the owners one summary when a tracked message gets its first failed "
                "deliveries.", "switch", ON_OFF),
)}


# How the form and `listtrack list show` group them (the first as Sympa names it).
SETTING_GROUPS: dict[str, tuple[str, ...]] = {
    "Bounce management and tracking": (
        "delivery_status_notification", "message_disposition_notification",
        "tracking_visibility", "retention_period", "verp_rate", "alert_owners_on_failure"),
    "Sending and archive": ("send_policy", "archive_visibility", "mask_addresses"),
}


class ListSettingsInvalid(ValueError):
    """Values that cannot be set; `errors` maps each setting to its one-line message."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{name}: {message}" for name, message in errors.items()))
        self.errors = errors


def _allowed(setting: ListSetting) -> str:
    if setting.kind == "days":
        words = [f"{RETENTION_RANGE[0]}-{RETENTION_RANGE[1]} days"]
    else:
        words = list(setting.choices)
    if setting.inherits:
        words.append(SITE_DEFAULT)
    return ", ".join(words[:-1]) + " or " + words[-1] if len(words) > 1 else words[0]


def parse_setting(name: str, value: Any) -> Any:
    """The value to store for one setting (None = site default); ValueError says what is allowed."""
    setting = LIST_SETTINGS.get(name)
    if setting is None:
        raise ValueError(f"unknown setting (settings: {', '.join(LIST_SETTINGS)})")
    if isinstance(value, bool) and setting.kind == "switch":
        return value
    text = "" if value is None else str(value).strip().lower()
    if setting.inherits and text in (SITE_DEFAULT, SITE_DEFAULT_TEXT):
        return None
    if not text:
        raise ValueError(f"choose {_allowed(setting)}")
    if setting.kind == "days":
        if not text.isdigit():
            raise ValueError(f"'{value}' is not a number of days: give {_allowed(setting)}")
        days = int(text)
        low, high = RETENTION_RANGE
        if not low <= days <= high:
            raise ValueError(f"{days} days is out of range: give {_allowed(setting)}")
        return days
    if setting.name == "verp_rate" and text.isdigit():
        text += "%"
    if text not in setting.choices:
        raise ValueError(f"'{value}' is not allowed: choose {_allowed(setting)}")
    return text == "on" if setting.kind == "switch" else text


def validate_setting(name: str, value: Any) -> str | None:
    """The error message for one proposed value, or None when it is acceptable."""
    try:
        parse_setting(name, value)
    except ValueError as error:
        return str(error)
    return None


def setting_text(name: str, stored: Any) -> str:
    """A stored value as the change log and the CLI write it."""
    if stored is None and LIST_SETTINGS[name].inherits:
        return SITE_DEFAULT_TEXT
    if isinstance(stored, bool):
        return "on" if stored else "off"
    return str(stored)


def site_value(name: str, site: SiteConfig) -> Any:
    """The site's value that a list set to "site default" follows."""
    return site.values[TRACKING_DEFAULT_KEYS[name]]


def form_value(mailing_list: MailingList, name: str) -> str:
    """The list's own value as a form or CLI word (`default` when it follows the site)."""
    stored = getattr(mailing_list, name)
    return SITE_DEFAULT if stored is None and LIST_SETTINGS[name].inherits \
        else setting_text(name, stored)


@dataclass(frozen=True)
class SettingState:
    setting: ListSetting
    own: str  # the list's own word, or `default`
    effective: str  # what applies now
    inherited: bool
    site: str | None  # the site's current value for inheritable settings


def list_settings_state(mailing_list: MailingList, site: SiteConfig) -> list[SettingState]:
    """Every setting of a list: its own value, the one in effect, and the site's."""
    states = []
    for name, setting in LIST_SETTINGS.items():
        own = form_value(mailing_list, name)
        site_text = str(site_value(name, site)) if setting.inherits else None
        inherited = own == SITE_DEFAULT
        effective = site_text if inherited else own
        states.append(SettingState(setting, own, effective or "", inherited, site_text))
    return states


def update_list_settings(session: Session, mailing_list: MailingList, changes: dict[str, Any],
                         changed_by: str) -> list[ListSettingChange]:
    """Check every value first, then apply the ones that differ and log each change."""
    errors: dict[str, str] = {}
    parsed: dict[str, Any] = {}
    for name, value in changes.items():
        try:
            parsed[name] = parse_setting(name, value)
        except ValueError as error:
            errors[name] = str(error)
    if errors:
        raise ListSettingsInvalid(errors)
    logged = []
    for name, new in parsed.items():
        old = getattr(mailing_list, name)
        if old == new:
            continue
        setattr(mailing_list, name, new)
        logged.append(log_change(session, mailing_list, name, setting_text(name, old),
                                 setting_text(name, new), changed_by))
    session.flush()
    return logged


def change_log(session: Session, mailing_list: MailingList,
               limit: int = 200) -> list[ListSettingChange]:
    """The list's recorded changes, newest first."""
    return list(session.scalars(
        select(ListSettingChange).where(ListSettingChange.list_id == mailing_list.id)
        .order_by(ListSettingChange.changed_at.desc(), ListSettingChange.id.desc())
        .limit(limit)
    ))


@dataclass(frozen=True)
class SiteSettingRow:
    key: str
    value: str
    source: str
    description: str


HIDDEN = "(hidden)"


def describe_site_settings(site: SiteConfig) -> list[SiteSettingRow]:
    """The effective site settings for the listmaster's page: secrets hidden, passwords masked."""
    rows = []
    for name, key in SITE_KEYS.items():
        value = site.values.get(name)
        if name == "secret_key":
            shown = HIDDEN
        elif name == "db_url" and value:
            shown = safe_url(str(value))
        else:
            shown = "" if value is None else str(value)
        rows.append(SiteSettingRow(name, shown, site.sources.get(name, "built-in default"),
                                   key.description))
    return rows
