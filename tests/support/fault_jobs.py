"""Jobs for the worker fault tests (RQ needs them importable by path)."""
from sqlalchemy import func, select

from discuss.extensions import db
from discuss.models import Site


def fail_mid_transaction() -> None:
    """Leaves the session in a failed transaction, as a dropped connection does."""
    db.session.add(Site(slug="news", name="Duplicate", allowed_origins=[], settings={}))
    db.session.flush()  # IntegrityError: the slug is taken; the session now needs a rollback


def count_sites() -> int:
    return db.session.scalar(select(func.count(Site.id)))



def fail_first_time(redis_url: str, key: str) -> str:
    """Fails on its first run only (counted in Redis, so it holds across worker processes)."""
    from redis import Redis

    if Redis.from_url(redis_url).incr(key) == 1:
        raise RuntimeError("first attempt fails")
    return "second attempt ran"
