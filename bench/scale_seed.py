"""Seeding for bench/scale.py: N comments with a realistic shape, written with COPY (psycopg 3).

Shape (fixed seed, so every run at a size builds the same data):
- two sites: "bench" (about 90% of the comments) and "other";
- many small threads (geometric sizes, mean ~20 comments) and five huge ones (5%, 2%, 2%, 1%, 1%
  of all comments) on "bench";
- comments spread over the last 365 days, ids in time order, each in a burst of three days after
  its thread's start; 45% are replies (depth up to 5);
- 88% published, 5% pending, 4% rejected, 3% deleted; scores on 97%, reasons on held/rejected;
- half the rejected and 2% of the published comments were decided by a moderator (audit rows
  "approve"/"reject" by a staff user), every comment has the pipeline's "create" audit row;
- about 0.5 votes per comment, reports on 2% of the published ones, nudge warnings on 0.5%.
Thread published counts and revisions match the comments, and sequences are moved past the ids.
"""
from __future__ import annotations

import json
import random
import time
from datetime import datetime, timedelta, timezone

import psycopg

from discuss.scoring.base import CORE_LABELS

HUGE_SHARES = (0.05, 0.02, 0.02, 0.01, 0.01)
OTHER_SITE_SHARE = 0.10
STATUS_WEIGHTS = (("PUBLISHED", 88), ("PENDING", 5), ("REJECTED", 4), ("DELETED", 3))
HELD_REASONS = (["toxicity:insult"], ["premoderation:new_commenter"], ["suspect_word"], ["links:too_many"],
                ["toxicity:toxicity", "toxicity:threat"], ["reports:threshold"])
REJECT_REASONS = (["toxicity:severe_toxicity"], ["banned_word"], ["toxicity:insult", "toxicity:toxicity"])
# Words rare enough to make a selective search, and common ones for a broad search.
RARE_WORD, RARE_EVERY = "zeppelin", 1000
WORDS = ("the council budget school road vote mayor park tax bridge river plan housing police fire "
         "health library traffic bus train election court report story article editor reader "
         "agree disagree think know believe really never always maybe because however though").split()
SYLLABLES = ("ka", "lo", "mi", "ne", "ru", "sa", "to", "vi", "ze", "po", "an", "el", "or", "us")
NOW = datetime.now(timezone.utc).replace(microsecond=0)
DAYS = 365


def _vocabulary(rng: random.Random) -> list[str]:
    made = {"".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))) for _ in range(3000)}
    return WORDS * 20 + sorted(made)


def _thread_sizes(n: int, rng: random.Random) -> list[int]:
    """Comments per thread on the bench site (huge ones first) and on the other site."""
    huge = [max(1, int(n * share)) for share in HUGE_SHARES]
    other_total = int(n * OTHER_SITE_SHARE)
    small_total = n - sum(huge) - other_total
    sizes = []
    for total in (small_total, other_total):
        part = []
        while total > 0:
            size = min(total, max(1, int(rng.expovariate(1 / 20))))
            part.append(size)
            total -= size
        sizes.append(part)
    return huge, sizes[0], sizes[1]


class Seeder:
    def __init__(self, conn: psycopg.Connection, n: int, seed: int = 19):
        self.conn, self.n, self.rng = conn, n, random.Random(seed)
        self.counts: dict[str, int] = {}

    # -- skeleton ---------------------------------------------------------------------------------
    def _plan(self):
        rng = self.rng
        huge, small, other = _thread_sizes(self.n, rng)
        threads = []  # (site_id, size, start)
        for size in huge + small:
            threads.append((1, size, NOW - timedelta(days=rng.uniform(0, DAYS))))
        for size in other:
            threads.append((2, size, NOW - timedelta(days=rng.uniform(0, DAYS))))
        # Huge threads: recent and long-running, so they are the read-hot ones.
        for i in range(len(huge)):
            threads[i] = (1, huge[i], NOW - timedelta(days=rng.uniform(4, 30)))
        slots = []
        for tid, (_, size, start) in enumerate(threads, start=1):
            # A thread started lately has had less time: its burst ends now. (Clamping the moments to
            # now instead put 77k comments, 7.7% of a million, in the seeding's last second.)
            span = min(3 * 86400 if size < 1000 else 30 * 86400, (NOW - start).total_seconds() - 1)
            for _ in range(size):
                slots.append((start + timedelta(seconds=rng.uniform(0, span)), tid))
        slots.sort()
        return threads, slots

    def run(self) -> dict[str, int]:
        started = time.perf_counter()
        rng = self.rng
        threads, slots = self._plan()
        self.users = max(200, self.n // 8)
        self._sites_and_users()
        self._threads(threads)
        vocabulary = _vocabulary(rng)
        per_thread: dict[int, list[tuple[int, int, int]]] = {}  # tid -> [(id, depth, root)]
        decided, reported, votes, warned = [], [], [], []
        statuses = [s for s, _ in STATUS_WEIGHTS]
        weights = [w for _, w in STATUS_WEIGHTS]
        cols = ("id, thread_id, parent_id, root_id, depth, author_id, author_name, body_markdown, body_html, "
                "body_text, status, reasons, scores, ip_hash, likes, likes_base, report_count, is_featured, "
                "warned, rephrased_after_warning, moderator_decided, created_at, edited_at, status_changed_at")
        events = []
        with self.conn.cursor() as cur, cur.copy(f"COPY comment ({cols}) FROM STDIN") as copy:
            for cid, (moment, tid) in enumerate(slots, start=1):
                earlier = per_thread.setdefault(tid, [])
                parent = None
                if earlier and rng.random() < 0.45:
                    parent = earlier[-1 - min(len(earlier) - 1, int(rng.expovariate(1 / 5)))]
                    if parent[1] >= 5:
                        parent = None
                depth, root = (parent[1] + 1, parent[2]) if parent else (0, cid)
                earlier.append((cid, depth, root))
                status = rng.choices(statuses, weights)[0]
                author = rng.randint(2, self.users + 1)
                words = rng.choices(vocabulary, k=rng.randint(8, 60))
                if cid % RARE_EVERY == 0:
                    words[rng.randrange(len(words))] = RARE_WORD
                text = " ".join(words).capitalize() + "."
                toxic = rng.random() ** (0.6 if status in ("PENDING", "REJECTED") else 4)
                scores = None if rng.random() < 0.03 else {
                    label: round(min(1.0, toxic * rng.uniform(0.2, 1.0)), 4) for label in CORE_LABELS}
                reasons = (rng.choice(HELD_REASONS) if status == "PENDING" else
                           rng.choice(REJECT_REASONS) if status == "REJECTED" else [])
                moderator = (status == "REJECTED" and rng.random() < 0.5) or (
                    status == "PUBLISHED" and rng.random() < 0.02)
                likes = int(rng.expovariate(1 / 0.5)) if status == "PUBLISHED" else 0
                reports = rng.randint(1, 3) if status == "PUBLISHED" and rng.random() < 0.02 else 0
                is_warned = rng.random() < 0.005
                if likes:
                    votes.append((cid, likes, moment))
                if reports:
                    reported.append((cid, reports, moment))
                if is_warned:
                    warned.append((cid, tid, author, moment))
                site_id = threads[tid - 1][0]
                first = "PENDING" if moderator else status
                events.append((site_id, cid, tid, author, None, "pipeline", "create", None, first.lower(),
                               json.dumps(reasons if not moderator else ["toxicity:insult"]), moment))
                if moderator:
                    decided.append((site_id, cid, tid, author, status, moment))
                copy.write_row((
                    cid, tid, parent[0] if parent else None, root, depth, author, f"reader{author}", text,
                    f"<p>{text}</p>", text, status, json.dumps(reasons), json.dumps(scores) if scores else None,
                    f"{author:064x}", likes, 0, reports, cid % 5000 == 0, is_warned, False, moderator,
                    moment, None, moment))
        self.counts["comment"] = len(slots)
        self._thread_counts()
        self._votes(votes)
        self._reports(reported)
        self._events(events, decided)
        self._warnings(warned, threads)
        self._sequences()
        self.conn.commit()
        self.counts["seconds"] = round(time.perf_counter() - started, 1)
        return self.counts

    # -- other tables -------------------------------------------------------------------------------
    def _sites_and_users(self) -> None:
        with self.conn.cursor() as cur:
            for sid, slug in ((1, "bench"), (2, "other")):
                cur.execute("INSERT INTO site (id, slug, name, allowed_origins, settings, created_at) "
                            "VALUES (%s, %s, %s, %s, %s, %s)",
                            (sid, slug, slug.title(), json.dumps([f"https://{slug}.example"]), "{}",
                             NOW - timedelta(days=DAYS + 1)))
            with cur.copy("COPY \"user\" (id, kind, role, display_name, email, email_verified, password_hash, "
                          "moderated_site_ids, notify_replies, notify_digest, is_active_account, "
                          "session_version, created_at) FROM STDIN") as copy:
                copy.write_row((1, "ACCOUNT", "ADMIN", "Bench Admin", "admin@bench.example", True, None, "[]",
                                False, False, True, 0, NOW - timedelta(days=DAYS + 1)))
                for uid in range(2, self.users + 2):
                    copy.write_row((uid, "GUEST", "READER", f"reader{uid}", None, False, None, "[]", False, False,
                                    True, 0, NOW - timedelta(days=DAYS + 1)))
        self.counts["user"] = self.users + 1

    def _threads(self, threads) -> None:
        with self.conn.cursor() as cur, cur.copy(
                "COPY thread (id, site_id, article_id, url, title, is_closed, is_premoderated, published_count, "
                "revision, created_at) FROM STDIN") as copy:
            for tid, (site_id, _, start) in enumerate(threads, start=1):
                slug = "bench" if site_id == 1 else "other"
                copy.write_row((tid, site_id, f"article-{tid}", f"https://{slug}.example/article-{tid}",
                                f"Article {tid}", False, False, 0, 0, start))
        self.counts["thread"] = len(threads)

    def _thread_counts(self) -> None:
        """Published counts and revisions as the app keeps them, from the comments just loaded."""
        with self.conn.cursor() as cur:
            cur.execute("UPDATE thread SET published_count = c.published, revision = c.total FROM ("
                        "SELECT thread_id, count(*) FILTER (WHERE status = 'PUBLISHED') AS published, "
                        "count(*) AS total FROM comment GROUP BY thread_id) AS c WHERE c.thread_id = thread.id")

    def _votes(self, votes) -> None:
        rng, n = self.rng, 0
        with self.conn.cursor() as cur, cur.copy(
                "COPY vote (comment_id, user_id, ip_hash, value, created_at) FROM STDIN") as copy:
            for cid, likes, moment in votes:
                for uid in rng.sample(range(2, self.users + 2), min(likes, self.users)):
                    copy.write_row((cid, uid, None, 1, moment + timedelta(minutes=rng.randint(1, 600))))
                    n += 1
        self.counts["vote"] = n

    def _reports(self, reported) -> None:
        rng, n = self.rng, 0
        reasons = ("SPAM", "ABUSE", "OFFENSIVE", "OFF_TOPIC", "OTHER")
        with self.conn.cursor() as cur, cur.copy(
                "COPY report (comment_id, user_id, reason, note, ip_hash, created_at, resolved_at) FROM STDIN") as copy:
            for cid, count, moment in reported:
                for uid in rng.sample(range(2, self.users + 2), count):
                    copy.write_row((cid, uid, rng.choice(reasons), None, None,
                                    moment + timedelta(minutes=rng.randint(5, 900)), None))
                    n += 1
        self.counts["report"] = n

    def _events(self, events, decided) -> None:
        rng = self.rng
        for site_id, cid, tid, author, status, moment in decided:
            action = "reject" if status == "REJECTED" else "approve"
            events.append((site_id, cid, tid, author, 1, "staff:1", action, "pending", status.lower(), "[]",
                           moment + timedelta(minutes=rng.randint(2, 2000))))
        events.sort(key=lambda e: e[-1])
        with self.conn.cursor() as cur, cur.copy(
                "COPY moderation_event (site_id, comment_id, thread_id, target_user_id, actor_id, actor_label, "
                "action, from_status, to_status, reasons, created_at) FROM STDIN") as copy:
            for event in events:
                copy.write_row(event)
        self.counts["moderation_event"] = len(events)

    def _warnings(self, warned, threads) -> None:
        with self.conn.cursor() as cur, cur.copy(
                "COPY nudge_warning (site_id, article_id, author_id, ip_hash, labels, created_at) FROM STDIN") as copy:
            for cid, tid, author, moment in warned:
                copy.write_row((threads[tid - 1][0], f"article-{tid}", author, None, '["insult"]',
                                moment - timedelta(seconds=30)))
        self.counts["nudge_warning"] = len(warned)

    def _sequences(self) -> None:
        with self.conn.cursor() as cur:
            for table in ("site", "user", "thread", "comment", "vote", "report", "moderation_event", "nudge_warning"):
                cur.execute(f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                            f"(SELECT coalesce(max(id), 1) FROM \"{table}\"))")
