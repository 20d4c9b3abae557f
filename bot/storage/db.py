"""Engine and sessions for our database (SQLite by default, PostgreSQL in production).

Engines never put statement parameters (message text, contact details) into
error messages or logs, and give up on a locked or unreachable database
after a few seconds: `with_retry` then tries a little longer, and the
caller tells the person plainly.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar, cast

from sqlalchemy import CursorResult, Engine, Result, Row, Select, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, MultipleResultsFound, NoResultFound, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from bot.settings import get_settings

#: Seconds a statement waits for a locked SQLite database, or for a
#: PostgreSQL connection.
WAIT_SECONDS = 2
T = TypeVar("T")


def make_engine(url: str, **options: Any) -> Engine:
    """Create an engine; SQLite gets its folder, WAL mode and foreign keys."""
    parsed = make_url(url)
    if parsed.drivername == "postgresql":  # the driver we install is psycopg 3
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() != "sqlite":
        defaults = {"pool_pre_ping": True, "hide_parameters": True, "connect_args": {"connect_timeout": WAIT_SECONDS}}
        return create_engine(parsed, **(defaults | options))
    if parsed.database:
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(parsed, hide_parameters=True, connect_args={"timeout": WAIT_SECONDS})

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    return engine


@lru_cache
def get_engine() -> Engine:
    return make_engine(get_settings().database_url)


def read_engine(engine: Engine) -> Engine:
    """An engine for single read statements on a chat turn's path (read
    them with `read_one`).

    On PostgreSQL it runs in autocommit: one statement sees one snapshot
    anyway, and the read then costs its own round trip alone, not BEGIN and
    ROLLBACK as well (measured: about 1 ms a read against 0.3 ms). Nor does
    it ping a connection before each use (another round trip on every
    turn): `read_one` reads once more when the database had dropped the
    connection, and SQLAlchemy then replaces the pool's other connections
    too. On SQLite it is `engine` itself: switching a connection to
    autocommit costs more there than the transaction it saves.
    """
    if engine.dialect.name == "sqlite":
        return engine
    url = engine.url.render_as_string(hide_password=False)
    return make_engine(url, isolation_level="AUTOCOMMIT", pool_pre_ping=False)


def read_one(engine: Engine, statement: Select[Any], params: dict[str, Any]) -> Sequence[Any]:
    """The one row of a read statement. On SQLite it runs as SQL compiled
    once (see `PreparedRead`); on PostgreSQL it is read again on a new
    connection when the database had dropped the one taken from the pool
    (it restarted)."""
    if engine.dialect.name == "sqlite":
        return _prepared(engine, statement).one(params)
    try:
        return _one(engine, statement, params)
    except DBAPIError as exc:
        if not exc.connection_invalidated:
            raise
    return _one(engine, statement, params)


def _one(engine: Engine, statement: Select[Any], params: dict[str, Any]) -> Row[Any]:
    with engine.connect() as connection:
        return connection.execute(statement, params).one()


@dataclass(frozen=True)
class PreparedRead:
    """A read statement compiled once for an engine and run on the driver's
    connection: its SQL, each parameter's name, default and conversion, and
    each column's conversion, all from SQLAlchemy's compiler and types. On
    SQLite, SQLAlchemy's execution around a read cost the front door ten
    times the read itself on every turn (0.5 ms a turn against 0.05 ms)."""

    engine: Engine
    sql: str
    parameters: tuple[tuple[str, Any, Callable[[Any], Any] | None], ...]
    columns: tuple[Callable[[Any], Any] | None, ...]

    def one(self, params: dict[str, Any]) -> tuple[Any, ...]:
        args = [_converted(convert, params.get(name, default)) for name, default, convert in self.parameters]
        dbapi_error = self.engine.dialect.loaded_dbapi.Error
        try:
            with self.engine.raw_connection() as connection:
                cursor = connection.cursor()
                cursor.execute(self.sql, args)
                rows = cursor.fetchall()
                cursor.close()
        except dbapi_error as exc:  # as SQLAlchemy raises it, without the parameters
            raise DBAPIError.instance(self.sql, None, exc, dbapi_error, hide_parameters=True) from exc
        if len(rows) != 1:
            raise NoResultFound("no row") if not rows else MultipleResultsFound("several rows")
        return tuple(_converted(convert, value) for convert, value in zip(self.columns, rows[0], strict=True))


def _converted(convert: Callable[[Any], Any] | None, value: Any) -> Any:
    return convert(value) if convert else value


@lru_cache(maxsize=16)
def _prepared(engine: Engine, statement: Select[Any]) -> PreparedRead:
    dialect = engine.dialect
    compiled = statement.compile(dialect=dialect)
    binds = [compiled.binds[name] for name in compiled.positiontup or ()]
    return PreparedRead(
        engine,
        str(compiled),
        tuple((bind.key, bind.value, bind.type.bind_processor(dialect)) for bind in binds),
        tuple(column.type.result_processor(dialect, None) for column in statement.selected_columns),
    )


@lru_cache
def get_read_engine() -> Engine:
    return read_engine(get_engine())


@lru_cache
def _session_factory() -> sessionmaker[Session]:
    return sessionmaker(get_engine(), expire_on_commit=False)


@contextmanager
def session_scope() -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    session = _session_factory()()
    try:
        yield session
        session.commit()
    except Exception:
        session.rollback()
        raise
    finally:
        session.close()


def rows_changed(result: Result[Any]) -> int:
    """How many rows an UPDATE or DELETE changed."""
    return cast("CursorResult[Any]", result).rowcount


def ping() -> None:
    """Raise if the database does not answer."""
    with get_engine().connect() as connection:
        connection.execute(text("SELECT 1"))


def with_retry(work: Callable[[], T], attempts: int = 3, pause: float = 0.25) -> T:
    """Run `work` (which opens its own session), again after a short pause
    while the database is locked or unreachable; the last error is raised."""
    for attempt in range(attempts - 1):
        try:
            return work()
        except OperationalError:
            time.sleep(pause * 2**attempt)
    return work()
