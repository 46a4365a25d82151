"""Database engine tuning that depends on the backend."""
from sqlalchemy import event
from sqlalchemy.engine import Engine


def install_sqlite_pragmas(engine: Engine) -> None:
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _set_pragmas(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        # WAL: readers never block on a writer, which matters with several gunicorn workers.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


# -- the database refusing work (issue 19) ---------------------------------------------------------
# A request that fails because the database is away or refuses writes (disk full, read-only) is
# answered 503 by discuss.errors and noted here, so this process's /healthz reports "degraded"
# until a write commits again. Per process: each gunicorn worker learns it on its own first
# failed write (its own /healthz write probe finds a read-only database at once).

_UNREACHABLE_HINTS = ("could not connect", "connection refused", "server closed the connection",
                      "terminating connection", "connection is closed", "the database system is",
                      "connection timeout", "timeout expired", "consuming input failed", "ssl syscall",
                      "connection already closed", "no connection to the server", "is shutting down")
_REFUSING_WRITES_HINTS = ("disk is full", "no space left", "diskfull", "disk full", "readonly database",
                          "read-only", "read only", "readonlysqltransaction", "quota", "could not extend file")


# SQLite reports a wrong query as OperationalError too: that is a bug (a 500), not an outage.
_BUG_HINTS = ("no such table", "no such column", "syntax error", "has no column")


class WriteHealth:
    def __init__(self) -> None:
        self.failure: str | None = None
        self.since: float | None = None

    def failed(self, reason: str) -> None:
        import time

        if self.failure is None:
            self.since = time.time()
        self.failure = reason

    def recovered(self) -> None:
        self.failure = self.since = None


WRITE_HEALTH = WriteHealth()


def database_failure_reason(exc: BaseException) -> str | None:
    """"unreachable", "refusing_writes" or "unavailable" for an error that means the database
    cannot do the work right now (a 503: try again later); None for anything else (a bug)."""
    from sqlalchemy import exc as sa

    if not isinstance(exc, (sa.OperationalError, sa.InterfaceError, sa.InternalError, sa.DisconnectionError,
                            sa.PendingRollbackError, sa.TimeoutError)):
        return None
    text = f"{type(getattr(exc, 'orig', None) or exc).__name__} {exc}".lower()
    if any(hint in text for hint in _BUG_HINTS):
        return None
    if any(hint in text for hint in _REFUSING_WRITES_HINTS):
        return "refusing_writes"
    if getattr(exc, "connection_invalidated", False) or any(hint in text for hint in _UNREACHABLE_HINTS):
        return "unreachable"
    return "unavailable"


def install_write_health() -> None:
    """A commit that wrote rows clears a noted failure: space came back, the server is up.
    (A read-only commit proves nothing about writes, so it does not count.)"""
    from sqlalchemy.orm import Session

    if event.contains(Session, "after_commit", _committed):
        return
    event.listen(Session, "after_flush", _flushed)
    event.listen(Session, "after_commit", _committed)


def _flushed(session, _context) -> None:
    note_write(session)


def note_write(session) -> None:
    """A write made outside the unit of work (a Core INSERT on the session's connection, as
    models.rows does) counts as a write too when the session commits."""
    session.info["discuss_wrote"] = True


def _committed(session) -> None:
    if session.info.pop("discuss_wrote", False) and WRITE_HEALTH.failure is not None:
        WRITE_HEALTH.recovered()
