"""The listtrack web app: the factory only wires configuration, extensions and blueprints."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from flask import Flask

from listtrack import paths
from listtrack.config import SiteConfig, load_site_config
from listtrack.database import configure_sqlite, engine_options
from listtrack.schema import MIGRATIONS_DIR
from webapp.extensions import csrf, db, login_manager, migrate

HTMX_FILE = "htmx-2.0.11.min.js"


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    site: SiteConfig = (test_config or {}).get("SITE") or load_site_config()
    app = Flask(
        __name__,
        instance_path=str(site.instance),
        static_folder=str(paths.PROJECT_ROOT / "static"),
        template_folder=str(paths.PROJECT_ROOT / "templates"),
    )
    app.config.from_mapping(
        SECRET_KEY=site.secret_key,
        SQLALCHEMY_DATABASE_URI=site.db_url,
        SQLALCHEMY_ENGINE_OPTIONS=engine_options(site.db_url),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=str(site.web_url).startswith("https://"),
        SITE=site,
    )
    if test_config:
        app.config.update(test_config)

    db.init_app(app)
    with app.app_context():
        configure_sqlite(db.engine)
    migrate.init_app(app, db, directory=str(MIGRATIONS_DIR))
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message_category = "info"

    from webapp import archive, auth

    app.register_blueprint(auth.bp)
    app.register_blueprint(archive.bp)

    from webapp import tracking

    app.register_blueprint(tracking.bp)

    from webapp import admin

    app.register_blueprint(admin.bp)

    app.after_request(_no_framing)
    app.jinja_env.globals["htmx_file"] = HTMX_FILE
    app.jinja_env.globals["htmx_integrity"] = _integrity(paths.PROJECT_ROOT / "static" / HTMX_FILE)
    return app


def _no_framing(response):  # noqa: ANN001, ANN202
    """No page of ours may be framed (clickjacking of the admin forms)."""
    response.headers.setdefault("X-Frame-Options", "DENY")
    policy = response.headers.get("Content-Security-Policy")
    if policy is None:
        response.headers["Content-Security-Policy"] = "frame-ancestors 'none'"
    elif "frame-ancestors" not in policy:
        response.headers["Content-Security-Policy"] = policy + "; frame-ancestors 'none'"
    return response


def _integrity(path) -> str:  # noqa: ANN001
    """Subresource-integrity value of a vendored file, computed once at start-up."""
    digest = hashlib.sha384(path.read_bytes()).digest()
    return "sha384-" + base64.b64encode(digest).decode()
