"""Restoring a site from its export (``import discuss``), in one transaction.

Into an empty database the ids are kept, so every thread answers the public API byte for
byte as before. Into a database that already has data (under a new slug) rows get new ids
and every reference is mapped; the thread pages then differ only in those ids.
A malformed, truncated or unknown-version file is refused and nothing is written.
"""
from __future__ import annotations

import json
from datetime import datetime
from typing import IO, Any, Callable

from sqlalchemy import bindparam, func, insert, select, text, update

from discuss.comments.export import FORMAT, VERSION
from discuss.comments.importers.base import CountingReader, ImportFileError
from discuss.errors import ApiError
from discuss.extensions import db
from discuss.models import (AuthorKind, Ban, Comment, ImportRef, ModerationEvent, Report, Role, Site, Thread,
                            User, Vote)
from discuss.models.queries import site_by_slug
from discuss.models.totals import forget_days
from discuss.moderation.audit import record_event
from discuss.moderation.sites import SLUG_RE

BATCH = 1000
TABLES = {"user": User, "thread": Thread, "comment": Comment, "vote": Vote, "report": Report, "ban": Ban,
          "event": ModerationEvent, "import_ref": ImportRef}
DATES = {"created_at", "edited_at", "status_changed_at", "resolved_at", "until", "lifted_at"}


def restore_site(path: str, slug: str, dry_run: bool = False,
                 on_progress: Callable[[int], None] | None = None) -> dict[str, int]:
    if not SLUG_RE.match(slug):
        raise ApiError("validation_failed", "use lowercase letters, digits, '-' or '_' (max 64) for the slug", 422)
    if site_by_slug(slug) is not None:
        raise ApiError("site_exists", f"A site '{slug}' already exists: restore into a new slug "
                                      "or an empty database.", 409)
    try:
        with open(path, "rb") as raw:
            counts = _Restore(slug).run(CountingReader(raw, on_progress))
    except BaseException:
        db.session.rollback()
        raise
    if dry_run:
        db.session.rollback()
    else:
        db.session.commit()
    return counts


class _Restore:
    def __init__(self, slug: str):
        self.slug = slug
        self.keep_ids = all(db.session.scalar(select(func.count()).select_from(model)) == 0
                            for model in (Site, User, Thread, Comment))
        self.ids: dict[str, dict[int, int]] = {kind: {} for kind in TABLES}
        self.site: Site | None = None
        self.pending: dict[str, list[dict[str, Any]]] = {kind: [] for kind in TABLES}
        self.parents: list[tuple[int, int]] = []
        self.counts: dict[str, int] = {kind: 0 for kind in TABLES}   # rows written
        self.read: dict[str, int] = {kind: 0 for kind in TABLES}     # records read

    def run(self, stream) -> dict[str, int]:
        expected = None
        number = 0
        for number, line in enumerate(stream, start=1):
            try:
                item = json.loads(line)
                kind = item["type"]
            except (ValueError, KeyError, TypeError) as err:
                raise ImportFileError(f"malformed discuss export at line {number}: {err}") from None
            if number == 1:
                if kind != "header" or item.get("format") != FORMAT:
                    raise ImportFileError("not a discuss export: line 1 is not its header")
                if item.get("version") != VERSION:
                    raise ImportFileError(f"discuss export version {item.get('version')} is not supported "
                                          f"(this version reads {VERSION})")
            elif kind == "site":
                self._site(item)
            elif kind == "end":
                expected = item.get("counts") or {}
                break
            elif kind in TABLES and self.site is not None:
                self._add(kind, item, number)
            else:
                raise ImportFileError(f"unexpected record '{kind}' at line {number}")
        if expected is None:
            raise ImportFileError(f"truncated discuss export: no end record after line {number}")
        for kind in TABLES:
            self._flush(kind)
        self._finish()
        if expected != {k: self.read.get(k) for k in expected}:
            raise ImportFileError(f"the export's end record counts {expected} but the file holds {self.read}")
        merged = self.read["user"] - self.counts["user"]
        return {"site": 1, **self.counts, "accounts_matched_by_email": merged, "kept_ids": int(self.keep_ids)}

    # -- records ------------------------------------------------------------------------------

    def _site(self, item: dict[str, Any]) -> None:
        self.site = Site(slug=self.slug, name=item.get("name") or self.slug,
                         allowed_origins=list(item.get("allowed_origins") or []),
                         settings=dict(item.get("settings") or {}), created_at=_date(item.get("created_at")))
        db.session.add(self.site)
        db.session.flush()

    def _add(self, kind: str, item: dict[str, Any], number: int) -> None:
        order = list(TABLES)
        for earlier in order[:order.index(kind)]:
            self._flush(earlier)  # records come grouped by type; references point backwards
        try:
            self.read[kind] += 1
            row = self._row(kind, item)
        except (KeyError, ValueError, TypeError) as err:
            raise ImportFileError(f"bad {kind} record at line {number}: {err!r}") from None
        if row is not None:
            self.pending[kind].append(row)
        if len(self.pending[kind]) >= BATCH:
            self._flush(kind)

    def _row(self, kind: str, item: dict[str, Any]) -> dict[str, Any] | None:
        model = TABLES[kind]
        columns = {c.key for c in model.__table__.columns}
        row = {k: _column_value(model, k, v) for k, v in item.items() if k in columns}
        if kind == "user":
            row.pop("role", None)
            row.update(role=Role.READER, kind=AuthorKind(item["kind"]), moderated_site_ids=[],
                       sso_site_id=self.site.id if item.get("sso") else None)
            if not item.get("sso"):
                row["external_id"] = None
            existing = self._existing_account(row)
            if existing is not None:
                self.ids["user"][item["id"]] = existing
                return None
        elif kind == "thread":
            row["site_id"] = self.site.id
        elif kind == "comment":
            row["thread_id"] = self.ids["thread"][item["thread_id"]]
            row["author_id"] = self.ids["user"][item["author_id"]]
            row["parent_id"] = row["root_id"] = None  # set once every comment exists
            row["ip_hash"] = None
        elif kind in ("vote", "report"):
            row["comment_id"] = self.ids["comment"][item["comment_id"]]
            row["user_id"] = self._user(item.get("user_id"))
        elif kind == "ban":
            row.update(site_id=self.site.id, user_id=self.ids["user"][item["user_id"]],
                       created_by_id=self._user(item.get("created_by_id")))
        elif kind == "event":
            row.update(site_id=self.site.id, comment_id=self._ref("comment", item.get("comment_id")),
                       thread_id=self._ref("thread", item.get("thread_id")),
                       target_user_id=self._user(item.get("target_user_id")), actor_id=self._user(item.get("actor_id")))
        elif kind == "import_ref":
            target_kind = {"author": "user"}.get(item["kind"], item["kind"])
            row.update(site_id=self.site.id, target_id=self.ids[target_kind][item["target_id"]])
        if not self.keep_ids or kind == "import_ref":
            row.pop("id", None)
        row["_old"] = item.get("id")
        if kind == "comment":
            row["_old_parent"], row["_old_root"] = item.get("parent_id"), item.get("root_id")
        return row

    def _existing_account(self, row: dict[str, Any]) -> int | None:
        if self.keep_ids or row["kind"] is not AuthorKind.ACCOUNT or not row.get("email"):
            return None
        return db.session.scalar(select(User.id).where(User.kind == AuthorKind.ACCOUNT,
                                                       func.lower(User.email) == row["email"].lower()).limit(1))

    def _ref(self, kind: str, old: int | None) -> int | None:
        return self.ids[kind].get(old) if old is not None else None

    def _user(self, old: int | None) -> int | None:
        return self._ref("user", old)

    def _flush(self, kind: str) -> None:
        rows, self.pending[kind] = self.pending[kind], []
        if not rows:
            return
        olds = [row.pop("_old") for row in rows]
        links = [(row.pop("_old_parent", None), row.pop("_old_root", None)) for row in rows]
        table = TABLES[kind].__table__
        new_ids = db.session.scalars(insert(table).returning(table.c.id, sort_by_parameter_order=True), rows).all()
        self.ids[kind].update(zip(olds, new_ids))
        if kind == "comment":
            self.parents.extend((new_id, *link) for new_id, link in zip(new_ids, links))
        self.counts[kind] += len(rows)

    def _finish(self) -> None:
        comment_ids = self.ids["comment"]
        table = Comment.__table__
        links = [{"cid": new_id, "pid": comment_ids.get(parent) if parent else None,
                  "rid": comment_ids.get(root, new_id) if root else new_id} for new_id, parent, root in self.parents]
        for start in range(0, len(links), BATCH):
            db.session.execute(update(table).where(table.c.id == bindparam("cid"))
                               .values(parent_id=bindparam("pid"), root_id=bindparam("rid")),
                               links[start:start + BATCH])
        if self.keep_ids and db.engine.dialect.name == "postgresql":
            for model in (Site, *TABLES.values()):
                name = model.__table__.name
                db.session.execute(text(f"SELECT setval(pg_get_serial_sequence('\"{name}\"', 'id'), "
                                        f"COALESCE((SELECT MAX(id) FROM \"{name}\"), 0) + 1, false)"))
        forget_days(self.site.id)  # audit rows written into the past: the stats days recount them
        record_event(site_id=self.site.id, action="restore", actor_label="operator:cli",
                     details={"kept_ids": self.keep_ids, **self.counts})


def _column_value(model, key: str, value: Any) -> Any:
    if key in DATES:
        return _date(value)
    enum_class = getattr(model.__table__.c[key].type, "enum_class", None)
    if enum_class is not None and value is not None:
        return enum_class(value)
    return value


def _date(value: Any) -> datetime | None:
    if value is None:
        return None
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError(f"timestamp without a time zone: {value}")
    return moment
