"""Fixtures: every test gets a fresh instance folder, a migrated database, an app, a client.

Database tests marked `all_databases` run on SQLite, PostgreSQL and MariaDB. Under CI=true
an unreachable database fails the run; elsewhere those backends skip with the variable
to set. Each run creates its own databases (through the migrations) and drops them after.
"""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from listtrack.config import SiteConfig, load_site_config
from listtrack.database import make_engine, make_session_factory
from listtrack.models import Base
from listtrack.schema import upgrade_database

IN_CI = os.environ.get("CI", "").lower() == "true"
REPO_ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

SERVER_BACKENDS = {
    "postgresql": ("LISTTRACK_TEST_POSTGRESQL_URL",
                   "postgresql+psycopg://postgres@127.0.0.1:5432/test"),
    "mariadb": ("LISTTRACK_TEST_MARIADB_URL",
                "mysql+pymysql://root@127.0.0.1:3306/test?charset=utf8mb4"),
}
BACKENDS = ("sqlite", *SERVER_BACKENDS)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "database_url" in metafunc.fixturenames:
        wanted = BACKENDS if metafunc.definition.get_closest_marker("all_databases") \
            else ("sqlite",)
        metafunc.parametrize("database_url", wanted, indirect=True)


def require_or_skip(reason: str) -> None:
    """Skip with a reason outside CI; under CI=true what matters must not skip."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: this must run)")
    pytest.skip(reason)


def server_admin_url(backend: str) -> str:
    variable, ci_default = SERVER_BACKENDS[backend]
    url = os.environ.get(variable) or (ci_default if IN_CI else None)
    if not url:
        pytest.skip(f"set {variable} (e.g. {ci_default}) to run the {backend} tests")
    return url


def _create_server_database(backend: str) -> tuple[str, Engine, str]:
    admin_url = server_admin_url(backend)
    name = f"listtrack_test_{os.getpid()}_{secrets.token_hex(3)}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            if backend == "postgresql":
                connection.execute(text(f'CREATE DATABASE "{name}"'))
            else:
                connection.execute(
                    text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
                )
    except Exception as error:  # noqa: BLE001 - any connection failure means the same here
        admin.dispose()
        first_line = str(error).strip().splitlines()[0]
        require_or_skip(f"{backend} at {make_url(admin_url).render_as_string()} "
                        f"unreachable: {first_line}")
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    return url, admin, name


class _Databases:
    """One migrated database per backend for the whole run, emptied after each test."""

    def __init__(self, tmp_root: Path) -> None:
        self.tmp_root = tmp_root
        self.urls: dict[str, str] = {}
        self.engines: dict[str, Engine] = {}
        self.drops: list[Callable[[], None]] = []

    def url(self, backend: str) -> str:
        if backend not in self.urls:
            if backend == "sqlite":
                url = f"sqlite:///{self.tmp_root / 'test.db'}"
            else:
                url, admin, name = _create_server_database(backend)

                def drop(admin: Engine = admin, name: str = name, backend: str = backend) -> None:
                    quoted = f'"{name}"' if backend == "postgresql" else f"`{name}`"
                    with admin.connect() as connection:
                        if backend == "postgresql":
                            connection.execute(text(
                                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                "WHERE datname = :name AND pid <> pg_backend_pid()"
                            ), {"name": name})
                        connection.execute(text(f"DROP DATABASE IF EXISTS {quoted}"))
                    admin.dispose()

                self.drops.append(drop)
            upgrade_database(url)
            self.urls[backend] = url
            self.engines[backend] = make_engine(url)
        return self.urls[backend]

    def empty(self, backend: str) -> None:
        engine = self.engines[backend]
        with engine.begin() as connection:
            if backend == "mariadb":
                connection.execute(text("SET FOREIGN_KEY_CHECKS=0"))
            for table in reversed(Base.metadata.sorted_tables):
                connection.execute(table.delete())
            if backend == "mariadb":
                connection.execute(text("SET FOREIGN_KEY_CHECKS=1"))

    def close(self) -> None:
        for engine in self.engines.values():
            engine.dispose()
        for drop in self.drops:
            drop()


@pytest.fixture(scope="session")
def databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Databases]:
    registry = _Databases(tmp_path_factory.mktemp("databases"))
    yield registry
    registry.close()


@pytest.fixture
def database_url(request: pytest.FixtureRequest, databases: _Databases) -> Iterator[str]:
    backend = getattr(request, "param", "sqlite")
    url = databases.url(backend)
    yield url
    databases.empty(backend)


@pytest.fixture
def backend(database_url: str) -> str:
    return make_url(database_url).get_backend_name()


@pytest.fixture
def instance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh instance folder, with the environment pointing at it."""
    folder = tmp_path / "instance"
    folder.mkdir()
    monkeypatch.setenv("LISTTRACK_INSTANCE", str(folder))
    monkeypatch.delenv("LISTTRACK_CONFIG", raising=False)
    monkeypatch.delenv("LISTTRACK_DB_URL", raising=False)
    return folder


@pytest.fixture
def write_config(instance: Path) -> Callable[..., Path]:
    """Write `listtrack.conf` in the instance from lines of text."""

    def write(*lines: str) -> Path:
        path = instance / "listtrack.conf"
        path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
        return path

    return write


@pytest.fixture
def site(instance: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> SiteConfig:
    """The site configuration of this test's instance, on this test's database."""
    monkeypatch.setenv("LISTTRACK_DB_URL", database_url)
    return load_site_config()


@pytest.fixture
def session(site: SiteConfig):  # noqa: ANN201
    """A plain SQLAlchemy session (no Flask), as the worker and the ingest path use."""
    engine = make_engine(site.db_url)
    with make_session_factory(engine)() as db_session:
        yield db_session
    engine.dispose()


@pytest.fixture
def app(site: SiteConfig):  # noqa: ANN201
    from webapp import create_app

    application = create_app({"TESTING": True, "SITE": site})
    yield application
    from webapp.extensions import db

    with application.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):  # noqa: ANN001, ANN201
    return app.test_client()


@pytest.fixture
def runner(app):  # noqa: ANN001, ANN201
    return app.test_cli_runner()


@pytest.fixture
def cli_env(instance: Path, database_url: str) -> dict[str, str]:
    """Environment for running the installed console scripts against this test's site."""
    env = dict(os.environ)
    env.update(LISTTRACK_INSTANCE=str(instance), LISTTRACK_DB_URL=database_url)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


def csrf_token_from(html: str) -> str:
    import re

    found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
        r'name="csrf-token" content="([^"]+)"', html)
    assert found, "no CSRF token on the page"
    return found.group(1)


@pytest.fixture
def make_user(app):  # noqa: ANN001, ANN201
    """Create a user with a password through the same function the CLI uses."""
    from listtrack.accounts import create_user
    from webapp.extensions import db

    def make(email: str, password: str = "correct horse", listmaster: bool = False):  # noqa: ANN202
        with app.app_context():
            user = create_user(db.session, email, password, listmaster=listmaster)
            db.session.commit()
            return user.id

    return make


@pytest.fixture
def sign_in(client):  # noqa: ANN001, ANN201
    """Sign in through the real form, CSRF token included, as a browser would."""

    def do(email: str, password: str = "correct horse"):  # noqa: ANN202
        page = client.get("/login")
        token = csrf_token_from(page.get_data(as_text=True))
        return client.post("/login", data={"email": email, "password": password,
                                           "csrf_token": token})

    return do


@pytest.fixture
def live_server(app):  # noqa: ANN001, ANN201
    """The app served over real HTTP on loopback (for the browser and over-HTTP tests)."""
    import threading

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.url = f"http://127.0.0.1:{server.server_port}"
    yield server
    server.shutdown()
    thread.join(timeout=5)


CHROMIUM = "/usr/bin/chromium"


@pytest.fixture
def browser_page():  # noqa: ANN201
    """A page in Debian's headless Chromium driven by Playwright (no browser download)."""
    if not Path(CHROMIUM).exists():
        require_or_skip(f"{CHROMIUM} is missing: install Debian's chromium (.ci/install-chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        require_or_skip("playwright is not installed: pip install -e '.[test]'")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync"],
        )
        page = browser.new_page()
        page.set_default_timeout(15_000)
        yield page
        browser.close()
