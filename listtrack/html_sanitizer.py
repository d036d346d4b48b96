"""Archived HTML made safe to show inside our pages (nh3/ammonia, allow-lists only).

No script, no event handlers, no javascript: URLs, no frames or plugins, no remote images
unless the reader asks for them, links open apart with rel="noopener noreferrer".
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import unquote

import nh3

TAGS = frozenset({
    "a", "abbr", "b", "bdi", "bdo", "blockquote", "br", "caption", "center", "cite", "code",
    "col", "colgroup", "dd", "del", "details", "dfn", "div", "dl", "dt", "em", "figcaption",
    "figure", "font", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li",
    "mark", "ol", "p", "pre", "q", "s", "samp", "small", "span", "strike", "strong", "sub",
    "summary", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "tt", "u", "ul",
    "var", "wbr",
})
# Removed with everything inside them (the rest of unknown tags keeps its text).
CONTENT_DROPPED = frozenset({"script", "style", "title", "head", "template", "noscript",
                             "iframe", "object", "embed", "svg", "math", "textarea", "select"})
GENERIC_ATTRIBUTES = frozenset({"align", "valign", "dir", "lang", "title", "style", "width",
                                "height", "bgcolor"})
ATTRIBUTES = {
    "*": set(GENERIC_ATTRIBUTES),
    "a": {"href", "hreflang"},
    "img": {"src", "alt", "border"},
    "td": {"colspan", "rowspan", "nowrap"},
    "th": {"colspan", "rowspan", "nowrap", "scope"},
    "table": {"border", "cellpadding", "cellspacing", "summary"},
    "col": {"span"}, "colgroup": {"span"},
    "ol": {"start", "type"}, "ul": {"type"}, "li": {"value"},
    "font": {"color", "face", "size"},
    "blockquote": {"cite"}, "q": {"cite"}, "del": {"cite", "datetime"},
    "ins": {"cite", "datetime"},
}
URL_SCHEMES = {"http", "https", "mailto", "cid", "data"}
LINK_SCHEMES = ("http:", "https:", "mailto:")
INLINE_IMAGE_DATA = re.compile(r"data:image/(png|gif|jpeg|webp);base64,[A-Za-z0-9+/=\s]*\Z",
                               re.IGNORECASE)

# Style properties a message may keep; anything else (position, z-index, behaviour, ...) goes.
STYLE_PROPERTIES = frozenset({
    "background-color", "border", "border-bottom", "border-collapse", "border-color",
    "border-left", "border-radius", "border-right", "border-spacing", "border-style",
    "border-top", "border-width", "color", "direction", "display", "font", "font-family",
    "font-size", "font-style", "font-variant", "font-weight", "height", "letter-spacing",
    "line-height", "list-style-type", "margin", "margin-bottom", "margin-left", "margin-right",
    "margin-top", "max-height", "max-width", "min-height", "min-width", "overflow-wrap",
    "padding", "padding-bottom", "padding-left", "padding-right", "padding-top", "text-align",
    "text-decoration", "text-indent", "text-transform", "vertical-align", "white-space",
    "width", "word-break", "word-spacing", "word-wrap",
})
# Values that load something or run something, whatever the property.
STYLE_VALUE_FORBIDDEN = re.compile(r"url\s*\(|expression|javascript:|@import|\\|image-set|"
                                   r"-moz-binding|behavior", re.IGNORECASE)
BLOCK_END = re.compile(r"(?i)<\s*(br|/p|/div|/tr|/li|/h[1-6]|/blockquote)\b[^>]*>")


@dataclass
class SanitizedHtml:
    html: str
    remote_images_blocked: int


def clean_style(value: str) -> str | None:
    """Keep only allowed CSS declarations whose values load nothing."""
    kept = []
    for declaration in value.split(";"):
        name, colon, property_value = declaration.partition(":")
        name = name.strip().lower()
        property_value = property_value.strip()
        if not colon or name not in STYLE_PROPERTIES or not property_value:
            continue
        if STYLE_VALUE_FORBIDDEN.search(property_value) or "<" in property_value:
            continue
        kept.append(f"{name}: {property_value}")
    return "; ".join(kept) or None


def sanitize_html(
    markup: str,
    *,
    remote_images: bool = False,
    cid_url: Callable[[str], str | None] | None = None,
) -> SanitizedHtml:
    """Clean a message's HTML; `cid_url` maps a Content-ID to the URL that serves that part."""
    blocked = 0

    def filter_attribute(tag: str, attribute: str, value: str) -> str | None:
        if attribute == "style":
            return clean_style(value)
        if tag == "img" and attribute == "src":
            return _image_source(value)
        if attribute == "href":  # absolute web and mail links only, never into this site
            return value if value.strip().lower().startswith(LINK_SCHEMES) else None
        return value

    def _image_source(value: str) -> str | None:
        nonlocal blocked
        stripped = value.strip()
        lowered = stripped.lower()
        if lowered.startswith("cid:"):
            return cid_url(_content_id(stripped[4:])) if cid_url else None
        if lowered.startswith("data:"):
            return stripped if INLINE_IMAGE_DATA.match(stripped) else None
        if lowered.startswith(("http:", "https:", "//")):
            if remote_images and not lowered.startswith("//"):
                return stripped
            blocked += 1
            return None
        return None  # relative URLs would point into this site: never

    cleaned = nh3.clean(
        markup,
        tags=set(TAGS),
        clean_content_tags=set(CONTENT_DROPPED),
        attributes={tag: set(names) for tag, names in ATTRIBUTES.items()},
        attribute_filter=filter_attribute,
        url_schemes=set(URL_SCHEMES),
        link_rel="noopener noreferrer",
        set_tag_attribute_values={"a": {"target": "_blank"}},
        strip_comments=True,
    )
    return SanitizedHtml(cleaned, blocked)


def html_to_text(markup: str) -> str:
    """The readable text of an HTML body (for the search extract), tags and scripts gone."""
    without_tags = nh3.clean(
        BLOCK_END.sub("\n", markup), tags=set(), clean_content_tags=set(CONTENT_DROPPED),
        attributes={}, link_rel=None,
    )
    return html.unescape(without_tags)


def _content_id(text: str) -> str:
    return unquote(text).strip().strip("<>")
