"""htmx fragments are blocks of the page's own template, so a page and its parts never drift."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, make_response, render_template, request


def render_block(template_name: str, block_name: str, **context: Any) -> str:
    """Render one `{% block %}` of a page template with the same context the page gets.

    A block rendered alone does not run the template's top level: macros it uses are
    imported inside the block itself."""
    current_app.update_template_context(context)
    template = current_app.jinja_env.get_template(template_name)
    render = template.blocks.get(block_name)
    if render is None:
        raise LookupError(f"template {template_name} has no block {block_name!r}")
    return "".join(render(template.new_context(context)))


def is_fragment_request() -> bool:
    """An htmx request that swaps part of the page (boosted requests and history restores
    after a cache miss want the whole page)."""
    headers = request.headers
    return headers.get("HX-Request") == "true" and headers.get("HX-Boosted") != "true" \
        and headers.get("HX-History-Restore-Request") != "true"


def render_page_or_block(template_name: str, block_name: str, **context: Any) -> Response:
    """The whole page for a plain request, only `block_name` for an htmx one (Vary says so)."""
    if is_fragment_request():
        body = render_block(template_name, block_name, **context)
    else:
        body = render_template(template_name, **context)
    response = make_response(body)
    response.vary.add("HX-Request")
    return response
