"""htmx fragments as blocks of the page's own template, so a page and its parts never drift."""

from __future__ import annotations

from typing import Any

from flask import current_app


def render_block(template_name: str, block_name: str, **context: Any) -> str:
    """Render one `{% block %}` of a template with the same context the whole page gets."""
    app = current_app._get_current_object()  # noqa: SLF001 - Flask's documented way
    template = app.jinja_env.get_or_select_template(template_name)
    app.update_template_context(context)
    render = template.blocks.get(block_name)
    if render is None:
        raise LookupError(f"template {template_name} has no block {block_name!r}")
    return "".join(render(template.new_context(context)))
