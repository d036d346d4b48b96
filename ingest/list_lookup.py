"""The post hand-off's read-only look-up: does the list exist, and may this sender post?

It runs in the MTA's pipe for every post, so it talks to the database through the DB-API
directly (sqlite3, PyMySQL) or through libpq by ctypes for PostgreSQL: importing SQLAlchemy
costs ~220 ms and psycopg ~150 ms, more than the whole hand-off's budget.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:  # ctypes, glob and urllib are imported only by the backends that need them
    import ctypes

CONNECT_TIMEOUT_SECONDS = 10
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")


class LookupUnavailable(Exception):
    """The database cannot be reached or read; the message is one line for a person."""


@dataclass(frozen=True)
class ListFacts:
    """What the hand-off needs to know about a list."""

    id: int
    send_policy: str
    closed: bool


class Database(Protocol):
    """A read-only connection with one `rows(sql, params)` method; `?` placeholders."""

    def rows(self, sql: str, params: Sequence[Any]) -> list[tuple]: ...

    def close(self) -> None: ...


class _DbApiDatabase:
    def __init__(self, connection: Any, placeholder: str) -> None:
        self.connection = connection
        self.placeholder = placeholder

    def rows(self, sql: str, params: Sequence[Any]) -> list[tuple]:
        cursor = self.connection.cursor()
        try:
            cursor.execute(sql.replace("?", self.placeholder), tuple(params))
            return list(cursor.fetchall())
        finally:
            cursor.close()

    def close(self) -> None:
        self.connection.close()


class _LibpqDatabase:
    """Just enough of libpq (text parameters and results) for a few SELECTs."""

    CONNECTION_OK = 0
    PGRES_TUPLES_OK = 2

    def __init__(self, library: ctypes.CDLL, conninfo: str) -> None:

        self.pq = library
        self._declare()
        self.connection = self.pq.PQconnectdb(conninfo.encode())
        if self.pq.PQstatus(self.connection) != self.CONNECTION_OK:
            reason = self._error()
            self.close()
            raise LookupUnavailable(f"cannot reach the database: {reason}")

    def _declare(self) -> None:
        import ctypes

        pq, pointer, text = self.pq, ctypes.c_void_p, ctypes.c_char_p
        for name, result, arguments in (
            ("PQconnectdb", pointer, [text]),
            ("PQstatus", ctypes.c_int, [pointer]),
            ("PQerrorMessage", text, [pointer]),
            ("PQexecParams", pointer, [pointer, text, ctypes.c_int, pointer,
                                       ctypes.POINTER(text), pointer, pointer, ctypes.c_int]),
            ("PQresultStatus", ctypes.c_int, [pointer]),
            ("PQresultErrorMessage", text, [pointer]),
            ("PQntuples", ctypes.c_int, [pointer]),
            ("PQnfields", ctypes.c_int, [pointer]),
            ("PQgetvalue", text, [pointer, ctypes.c_int, ctypes.c_int]),
            ("PQgetisnull", ctypes.c_int, [pointer, ctypes.c_int, ctypes.c_int]),
            ("PQclear", None, [pointer]),
            ("PQfinish", None, [pointer]),
        ):
            function = getattr(pq, name)
            function.restype, function.argtypes = result, arguments

    def _error(self) -> str:
        message = self.pq.PQerrorMessage(self.connection) or b""
        return _first_line(message.decode("utf-8", "replace"))

    def rows(self, sql: str, params: Sequence[Any]) -> list[tuple]:
        import ctypes

        pieces = sql.split("?")
        numbered = pieces[0] + "".join(
            f"${number}{piece}" for number, piece in enumerate(pieces[1:], start=1))
        values = (ctypes.c_char_p * max(len(params), 1))(
            *[None if value is None else str(value).encode() for value in params])
        result = self.pq.PQexecParams(self.connection, numbered.encode(), len(params), None,
                                      values, None, None, 0)
        try:
            if self.pq.PQresultStatus(result) != self.PGRES_TUPLES_OK:
                message = (self.pq.PQresultErrorMessage(result) or b"").decode("utf-8", "replace")
                raise LookupUnavailable(f"database query failed: {_first_line(message)}")
            fields = self.pq.PQnfields(result)
            return [
                tuple(None if self.pq.PQgetisnull(result, row, column)
                      else self.pq.PQgetvalue(result, row, column).decode()
                      for column in range(fields))
                for row in range(self.pq.PQntuples(result))
            ]
        finally:
            self.pq.PQclear(result)

    def close(self) -> None:
        if self.connection:
            self.pq.PQfinish(self.connection)
            self.connection = None


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[0] if lines else "unknown error"


def _load_libpq() -> ctypes.CDLL | None:
    """The system's libpq, else the one psycopg's binary wheel ships; None if neither."""
    import ctypes
    import glob
    import os
    import sys

    candidates = ["libpq.so.5", "libpq.5.dylib"]
    for folder in sys.path:
        candidates += sorted(glob.glob(os.path.join(folder, "psycopg_binary.libs", "libpq*.so*")))
    for candidate in candidates:
        try:
            return ctypes.CDLL(candidate)
        except OSError:
            continue
    return None


def _postgresql(url: str) -> Database:
    conninfo = "postgresql" + url[url.index("://"):]
    extra = [] if "connect_timeout=" in conninfo else [f"connect_timeout={CONNECT_TIMEOUT_SECONDS}"]
    host = conninfo.split("://", 1)[1].split("/", 1)[0].rpartition("@")[2].rsplit(":", 1)[0]
    if "sslmode=" not in conninfo and host.strip("[]") in LOOPBACK_HOSTS:
        extra.append("sslmode=disable")  # no TLS handshake with ourselves
    if extra:
        conninfo += ("&" if "?" in conninfo else "?") + "&".join(extra)
    library = _load_libpq()
    if library is not None:
        return _LibpqDatabase(library, conninfo)
    import psycopg  # slower to import, but always there with the postgresql extra

    try:
        return _DbApiDatabase(psycopg.connect(conninfo, autocommit=True), "%s")
    except psycopg.Error as error:
        raise LookupUnavailable(f"cannot reach the database: {_first_line(str(error))}") from None


def _mysql(url: str) -> Database:
    from urllib.parse import parse_qsl, unquote, urlsplit

    import pymysql

    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    options: dict[str, Any] = {
        "host": parts.hostname or "localhost",
        "port": parts.port or 3306,
        "user": unquote(parts.username or ""),
        "password": unquote(parts.password or ""),
        "database": unquote(parts.path.lstrip("/")),
        "charset": query.get("charset", "utf8mb4"),
        "connect_timeout": CONNECT_TIMEOUT_SECONDS,
    }
    if "unix_socket" in query:
        options["unix_socket"] = query["unix_socket"]
    if not any(key.startswith("ssl") for key in query) and (
            "unix_socket" in query or options["host"] in LOOPBACK_HOSTS):
        options["ssl_disabled"] = True  # PyMySQL would set up TLS (60 ms) to talk to itself
    try:
        return _DbApiDatabase(pymysql.connect(**options), "%s")
    except pymysql.Error as error:
        raise LookupUnavailable(f"cannot reach the database: {_first_line(str(error))}") from None


def _sqlite(url: str) -> Database:
    import sqlite3

    path = url.split("://", 1)[1]
    path = path[1:] if path.startswith("/") else path
    path = path.split("?", 1)[0]
    if not path or path == ":memory:":
        raise LookupUnavailable("an in-memory SQLite database holds no lists")
    try:
        # Read-only: a wrong path must not create an empty database.
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True,
                                     timeout=CONNECT_TIMEOUT_SECONDS)
        connection.execute("SELECT 1 FROM lists LIMIT 1")
    except sqlite3.Error as error:
        raise LookupUnavailable(f"cannot read the database {path}: {error}") from None
    return _DbApiDatabase(connection, "?")


def open_database(url: str) -> Database:
    """A read-only handle on the database named by an SQLAlchemy URL."""
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    backend = scheme.split("+", 1)[0]
    if backend == "sqlite":
        return _sqlite(url)
    if backend in ("postgresql", "postgres"):
        return _postgresql(url)
    if backend in ("mysql", "mariadb"):
        return _mysql(url)
    raise LookupUnavailable(f"unsupported database URL scheme '{scheme or url[:20]}'")


def find_list(database: Database, name: str, domain: str) -> ListFacts | None:
    """The list `name@domain`, or None."""
    found = database.rows("SELECT id, send_policy, closed FROM lists "
                          "WHERE name = ? AND domain = ?", (name, domain))
    if not found:
        return None
    list_id, send_policy, closed = found[0]
    return ListFacts(int(list_id), str(send_policy), _truthy(closed))


def _truthy(value: Any) -> bool:
    return value not in (None, 0, "0", "f", "false", False)


def is_owner(database: Database, list_id: int, address: str) -> bool:
    return bool(database.rows("SELECT 1 FROM list_owners WHERE list_id = ? AND email = ?",
                              (list_id, address)))


def is_subscriber(database: Database, list_id: int, address: str) -> bool:
    return bool(database.rows("SELECT 1 FROM subscribers WHERE list_id = ? AND email = ?",
                              (list_id, address)))


def post_refusal(database: Database, facts: ListFacts, sender: str | None) -> str | None:
    """Why the list's send policy refuses this sender, or None when the post may go.

    `public`: anyone; `subscribers`: subscribers and owners; `owners`: owners only.
    """
    if facts.send_policy == "public":
        return None
    if not sender:
        return "the post has no sender address, and only known senders may post"
    if is_owner(database, facts.id, sender):
        return None
    if facts.send_policy == "owners":
        return f"only the list owners may post; {sender} is not one"
    if facts.send_policy == "subscribers" and is_subscriber(database, facts.id, sender):
        return None
    if facts.send_policy == "subscribers":
        return f"only subscribers may post; {sender} is not subscribed"
    return f"the list's send policy '{facts.send_policy}' is not understood"
