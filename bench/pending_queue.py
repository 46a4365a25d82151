"""Server time to render the Pending queue page with 1,000 held comments (target: < 200 ms).

    .venv/bin/python bench/pending_queue.py [--comments 1000] [--runs 30] [--database-url URL]

Seeds a fresh SQLite database (or the given one) with held comments spread over 50 threads and
300 authors, each with scores, reasons and a parent for some, then times GET /mod/queue/<queue>
through the test client (no network) and prints the median and p95 over repeated requests.
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from werkzeug.security import generate_password_hash  # noqa: E402

from discuss import create_app  # noqa: E402
from discuss.extensions import db  # noqa: E402
from discuss.models import (AuthorKind, Comment, CommentStatus, Role, Site, Thread, User,  # noqa: E402
                            utcnow)
from discuss.scoring.base import CORE_LABELS  # noqa: E402

REASONS = [["toxicity:insult"], ["premoderation:new_commenter"], ["scoring_unavailable"],
           ["suspect_word", "links:too_many"], ["toxicity:toxicity", "toxicity:threat"]]


def seed(held: int) -> int:
    rng = random.Random(4)
    site = Site(slug="bench", name="Bench Gazette", allowed_origins=["https://bench.example"], settings={})
    db.session.add(site)
    db.session.flush()
    threads = [Thread(site_id=site.id, article_id=f"a{i}", title=f"Article {i}", url=f"https://bench.example/{i}")
               for i in range(50)]
    authors = [User(kind=AuthorKind.GUEST, display_name=f"reader{i}") for i in range(300)]
    db.session.add_all(threads + authors)
    db.session.flush()
    parents = []
    for i in range(held // 2):  # published history, some of it parents of held replies
        parent = _comment(rng, threads, authors, CommentStatus.PUBLISHED, f"Published comment {i}")
        parents.append(parent)
    db.session.flush()
    for i in range(held):
        comment = _comment(rng, threads, authors, CommentStatus.PENDING, f"Held comment number {i} " * 4)
        comment.reasons = rng.choice(REASONS)
        if i % 3 == 0:
            parent = rng.choice(parents)
            comment.thread_id, comment.parent_id, comment.depth = parent.thread_id, parent.id, 1
    staff = User(kind=AuthorKind.ACCOUNT, role=Role.ADMIN, display_name="bench", email="bench@example.com",
                 password_hash=generate_password_hash("bench-password", method="pbkdf2:sha256:1000"))
    db.session.add(staff)
    db.session.commit()
    return staff.id


def _comment(rng, threads, authors, status, text) -> Comment:
    author = rng.choice(authors)
    comment = Comment(thread_id=rng.choice(threads).id, author_id=author.id, author_name=author.display_name,
                      body_markdown=text, body_html=f"<p>{text}</p>", body_text=text, status=status, reasons=[],
                      scores={label: round(rng.random() ** 3, 3) for label in CORE_LABELS},
                      created_at=utcnow())
    db.session.add(comment)
    return comment


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--comments", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="discuss-bench-")
    url = args.database_url or f"sqlite:///{os.path.join(workdir, 'bench.db')}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "RATELIMIT_ENABLED": False,
                      "SCORER_ENABLED": False, "WTF_CSRF_ENABLED": False})
    with app.app_context():
        db.create_all()
        staff_id = seed(args.comments)
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = str(staff_id)
    print(f"{args.comments} held comments, {args.runs} requests each, {url.split(':')[0]}, 25 per page")
    for label, path in (("pending, oldest first", "/mod/queue/pending"),
                        ("pending, most toxic first", "/mod/queue/pending?sort=toxicity"),
                        ("pending, page 20", "/mod/queue/pending?page=20"),
                        ("pending, search", "/mod/queue/pending?q=number+99"),
                        ("API pending", "/api/v1/moderation/queues/pending")):
        timings = []
        for run in range(args.runs + 3):
            started = time.perf_counter()
            response = client.get(path)
            elapsed = (time.perf_counter() - started) * 1000
            assert response.status_code == 200, response.status_code
            if run >= 3:  # warm-up: template compilation, first connections
                timings.append(elapsed)
        timings.sort()
        p95 = timings[min(len(timings) - 1, int(len(timings) * 0.95))]
        print(f"  {label:28s} median {statistics.median(timings):6.1f} ms   p95 {p95:6.1f} ms")


if __name__ == "__main__":
    main()
