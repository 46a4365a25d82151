"""Queue queries: which comments a moderator sees, counted, filtered, sorted and paginated."""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Mapping

from sqlalchemy import String, and_, cast, func, or_, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import contains_eager

from discuss.errors import ValidationFailed
from discuss.locales import N_
from discuss.security import ID_MAX, MAX_PAGE_NUMBER, parse_int_arg
from discuss.extensions import db
from discuss.models import Comment, CommentStatus, QueueTotal, Site, Thread
from discuss.models.comment import max_label_score
from discuss.models.queries import count_capped
from discuss.models.totals import stored_total
from discuss.identity.staff import Actor

QUEUES = ("pending", "reported", "rejected", "published", "all")
QUEUE_TITLES = {"pending": "Pending", "reported": "Reported", "rejected": "Rejected",
                "published": "Approved", "all": "All"}
SORTS = ("oldest", "newest", "toxicity")
DEFAULT_PER_PAGE = 25
SEARCH_WINDOW = 2_000  # ids a text search looks through first
SEARCH_GROWTH = 2  # each next window is this many times bigger
SEARCH_INDEX_MS = 40  # PostgreSQL: time for the trigram index over all comments before the windows
MAX_PER_PAGE = 100


@dataclass(frozen=True)
class QueueFilters:
    queue: str = "pending"
    site_id: int | None = None
    thread_id: int | None = None
    reason: str | None = None
    author_id: int | None = None
    text: str | None = None
    sort: str = "oldest"
    page: int = 1
    per_page: int = DEFAULT_PER_PAGE

    def with_page(self, page: int) -> "QueueFilters":
        return replace(self, page=page)


@dataclass
class QueuePage:
    comments: list[Comment]
    total: int
    filters: QueueFilters
    capped: bool = False  # a filtered queue is counted only so far (count_capped): more than total

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.filters.per_page), self.filters.page + self.capped)

    @property
    def first_index(self) -> int:
        return (self.filters.page - 1) * self.filters.per_page + 1 if self.total else 0

    @property
    def last_index(self) -> int:
        return min(self.total, self.filters.page * self.filters.per_page)


def parse_filters(queue: str, args: Mapping[str, Any], sites_by_slug: dict[str, Site]) -> QueueFilters:
    """Turn query-string values into filters; refuses values it cannot use."""
    if queue not in QUEUES:
        raise ValidationFailed({"queue": N_("one of: %(choices)s", choices=", ".join(QUEUES))})
    errors: dict[str, str] = {}
    site_slug = (args.get("site") or "").strip()
    site = sites_by_slug.get(site_slug) if site_slug else None
    if site_slug and site is None:
        errors["site"] = N_("no such site among the ones you moderate")
    sort = args.get("sort") or "oldest"
    if sort not in SORTS:
        errors["sort"] = N_("one of: %(choices)s", choices=", ".join(SORTS))
    numbers = {name: _optional_int(args.get(name), name, errors) for name in ("thread", "author", "page", "per_page")}
    if errors:
        raise ValidationFailed(errors)
    return QueueFilters(queue=queue, site_id=site.id if site else None, thread_id=numbers["thread"],
                        reason=(args.get("reason") or "").strip() or None, author_id=numbers["author"],
                        text=(args.get("q") or "").strip()[:200] or None, sort=sort,
                        page=max(1, numbers["page"] or 1),
                        per_page=min(MAX_PER_PAGE, max(1, numbers["per_page"] or DEFAULT_PER_PAGE)))


def _optional_int(value: Any, name: str, errors: dict[str, str]) -> int | None:
    try:
        return parse_int_arg(value, 0, MAX_PAGE_NUMBER if name == "page" else ID_MAX)
    except (TypeError, ValueError):
        errors[name] = N_("a number")
        return None


def _queue_condition(queue: str):
    return {
        "pending": Comment.status == CommentStatus.PENDING,
        "reported": and_(Comment.status == CommentStatus.PUBLISHED, Comment.report_count > 0),
        "rejected": Comment.status == CommentStatus.REJECTED,
        "published": Comment.status == CommentStatus.PUBLISHED,
        "all": Comment.status != CommentStatus.DELETED,
    }[queue]


def _scope(query, actor: Actor, site_id: int | None):
    if site_id is not None:
        return query.where(Thread.site_id == site_id)
    if actor.site_ids is not None:
        return query.where(Thread.site_id.in_(actor.site_ids or [-1]))
    return query


def _sizes(actor: Actor, site_id: int | None, queues: tuple[str, ...]) -> dict[str, int]:
    """The sizes of ``queues`` in one round trip, without counting the comments: published, pending and
    rejected come from the stored per-site totals (``queue_total``, kept by triggers in the transaction
    of every status change; models/totals.py), "all" is their sum, and only "reported" counts rows
    (the partial index ix_comment_reported holds just the reported ones). bench/scale.py: counting
    took 199 ms (all sites) and 405 ms (one site's pending) at a million comments."""
    by_status = {"published": CommentStatus.PUBLISHED, "pending": CommentStatus.PENDING,
                 "rejected": CommentStatus.REJECTED}
    columns = []
    for q in ("published", "pending", "rejected"):
        columns.append(_scope_totals(stored_total(by_status[q]), actor, site_id).scalar_subquery().label(q))
    if "reported" in queues:
        reported = select(func.count()).select_from(Comment).where(_queue_condition("reported"))
        if actor.site_ids is not None or site_id is not None:
            reported = reported.join(Thread, Thread.id == Comment.thread_id)
        columns.append(_scope(reported, actor, site_id).scalar_subquery().label("reported"))
    sizes = {q: int(v) for q, v in db.session.execute(select(*columns)).one()._mapping.items()}
    sizes["all"] = sizes["published"] + sizes["pending"] + sizes["rejected"]
    return {q: sizes[q] for q in queues}


def _scope_totals(query, actor: Actor, site_id: int | None):
    if site_id is not None:
        return query.where(QueueTotal.site_id == site_id)
    if actor.site_ids is not None:
        return query.where(QueueTotal.site_id.in_(actor.site_ids or [-1]))
    return query


def queue_counts(actor: Actor, site_id: int | None = None) -> dict[str, int]:
    """Every queue's size, for the tabs shown on every page."""
    return _sizes(actor, site_id, QUEUES)


def max_score_expression():
    """Highest score across the core labels, in SQL: the expression of the index
    ix_comment_status_toxicity, so a queue sorted by toxicity reads its first page off the index."""
    return max_label_score(Comment.scores)


def _filtered(actor: Actor, filters: QueueFilters):
    query = (select(Comment).join(Thread, Thread.id == Comment.thread_id)
             .where(_queue_condition(filters.queue)))
    query = _scope(query, actor, filters.site_id)
    if filters.thread_id:
        query = query.where(Comment.thread_id == filters.thread_id)
    if filters.author_id:
        query = query.where(Comment.author_id == filters.author_id)
    if filters.reason:
        query = query.where(cast(Comment.reasons, String).contains(f'"{filters.reason}', autoescape=True))
    if filters.text:
        pattern = f"%{filters.text.lower()}%"
        query = query.where(or_(func.lower(Comment.body_text).like(pattern),
                                func.lower(Comment.author_name).like(pattern)))
    return query


def _ordering(filters: QueueFilters):
    if filters.sort == "toxicity":
        return [max_score_expression().desc(), Comment.created_at.asc(), Comment.id.asc()]
    if filters.sort == "newest":
        return [Comment.created_at.desc(), Comment.id.desc()]
    if filters.queue == "reported":
        return [Comment.report_count.desc(), Comment.created_at.asc(), Comment.id.asc()]
    return [Comment.created_at.asc(), Comment.id.asc()]


def load_queue(actor: Actor, filters: QueueFilters) -> QueuePage:
    if filters.text:
        return _search(actor, filters)
    base = _filtered(actor, filters)
    if filters.thread_id or filters.author_id or filters.reason:
        total, capped = count_capped(base.with_only_columns(Comment.id), filters.page * filters.per_page)
    else:  # a whole queue: its stored size, exact
        total, capped = _sizes(actor, filters.site_id, (filters.queue,))[filters.queue], False
    query = (base.options(contains_eager(Comment.thread))
             .order_by(*_ordering(filters))
             .limit(filters.per_page).offset((filters.page - 1) * filters.per_page))
    return QueuePage(comments=list(db.session.scalars(query).unique()), total=total, filters=filters, capped=capped)


def visible_comment(actor: Actor, comment_id: int) -> Comment | None:
    """A comment the actor may see, or None (other sites' comments look like missing ones)."""
    comment = db.session.get(Comment, comment_id)
    if comment is None or not actor.can_moderate(comment.thread.site_id):
        return None
    return comment


def visible_thread(actor: Actor, thread_id: int) -> Thread | None:
    thread = db.session.get(Thread, thread_id)
    if thread is None or not actor.can_moderate(thread.site_id):
        return None
    return thread


def _search(actor: Actor, filters: QueueFilters) -> QueuePage:
    """A text search: the newest matches first (whatever ``sort`` says), found window by window.

    A substring search cannot use an ordered index, and a common phrase matched so many rows that
    reading and re-checking them all took seconds at a million comments (bench/scale.py: 3.3 s to
    count "council mayor" and 2.8 s for its first page, issue 19). So it looks through the newest
    ids first, in windows that double (SEARCH_WINDOW, then twice that, ...), and stops as soon as it
    has the page asked for and one more match: a common phrase is answered from the first windows.
    On PostgreSQL a rare phrase is first looked up in the trigram index over all comments, given
    SEARCH_INDEX_MS: the phrases whose trigrams are common are the ones that run out of time, and
    they take the windows. The total is then "more than" the matches shown so far (capped)."""
    wanted = filters.page * filters.per_page + 1
    ids_query = _filtered(actor, filters).with_only_columns(Comment.id)
    found = _through_the_index(ids_query, wanted)
    high = 0 if found is not None else (db.session.scalar(select(func.max(Comment.id))) or 0) + 1
    found = found or []
    size = SEARCH_WINDOW
    while high > 0 and len(found) < wanted:
        low = max(0, high - size)
        found += db.session.scalars(ids_query.where(Comment.id >= low, Comment.id < high)
                                    .order_by(Comment.id.desc()).limit(wanted - len(found)))
        high, size = low, size * SEARCH_GROWTH
    shown = found[(filters.page - 1) * filters.per_page:filters.page * filters.per_page]
    comments = {c.id: c for c in db.session.scalars(
        select(Comment).join(Thread, Thread.id == Comment.thread_id).options(contains_eager(Comment.thread))
        .where(Comment.id.in_(shown or [-1])))}
    capped = len(found) >= wanted
    return QueuePage(comments=[comments[i] for i in shown], total=len(found) - capped, filters=filters,
                     capped=capped)


def _through_the_index(ids_query, wanted: int) -> list[int] | None:
    """The newest ``wanted`` matches over every comment (PostgreSQL's trigram indexes), or None when
    that takes over SEARCH_INDEX_MS (a statement timeout inside a savepoint, undone with it)."""
    if db.session.get_bind().dialect.name != "postgresql":
        return None
    try:
        with db.session.begin_nested():
            db.session.execute(text(f"SET LOCAL statement_timeout = {int(SEARCH_INDEX_MS)}"))
            found = list(db.session.scalars(ids_query.order_by(Comment.id.desc()).limit(wanted)))
            db.session.execute(text("SET LOCAL statement_timeout = DEFAULT"))
        return found
    except OperationalError as error:
        if getattr(error.orig, "sqlstate", None) != "57014":  # query_canceled: out of time
            raise
        return None

