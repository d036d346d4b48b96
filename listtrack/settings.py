"""Effective per-list settings: the list's own value where set, else the site default.

This is the one place where that rule lives; the web app, the CLI and the worker all ask here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from listtrack.config import TRACKING_DEFAULT_KEYS, SiteConfig

SITE_DEFAULT = None  # a list column left NULL means "follow the site default"


@dataclass(frozen=True)
class EffectiveSetting:
    value: Any
    inherited: bool  # True when the value comes from the site configuration


def effective_setting(mailing_list: Any, name: str, site: SiteConfig) -> EffectiveSetting:
    """The value of one overridable setting for a list, and whether it was inherited."""
    site_key = TRACKING_DEFAULT_KEYS[name]
    own = getattr(mailing_list, name)
    if own is SITE_DEFAULT:
        return EffectiveSetting(site.values[site_key], inherited=True)
    return EffectiveSetting(own, inherited=False)


@dataclass(frozen=True)
class TrackingSettings:
    delivery_status_notification: str
    message_disposition_notification: str
    tracking_visibility: str
    retention_period: int
    verp_rate: str


def effective_tracking(mailing_list: Any, site: SiteConfig) -> TrackingSettings:
    """All overridable settings of a list at once."""
    return TrackingSettings(
        **{name: effective_setting(mailing_list, name, site).value
           for name in TRACKING_DEFAULT_KEYS}
    )
