"""A fortnight of moderation history for one site, for the stats page's browser test and screenshots.

Comments get scores, the pipeline's decision (with its audit row, dated like the comment), and
for many of them a moderator's decision some hours later; plus reports and nudge warnings.
Deterministic (seeded), so screenshots are comparable between runs.
"""
from __future__ import annotations

import random
from datetime import timedelta

from discuss.extensions import db
from discuss.models import (Comment, CommentStatus, ModerationEvent, NudgeWarning, Report, ReportReason, Site,
                            Thread, User, utcnow)
from discuss.models.queries import touch_thread
from discuss.moderation.replay import ReplayRow, outcome

LABELS = ("toxicity", "insult", "threat", "identity_attack", "severe_toxicity")


def seed_history(site: Site, staff: User, days: int = 14, per_day: int = 30, seed: int = 7) -> None:
    rng = random.Random(seed)
    settings = site.effective_settings()
    now = utcnow()
    threads = []
    for i in range(4):
        thread = Thread(site_id=site.id, article_id=f"story-{i}", title=f"Story {i}", url=f"https://x.example/{i}",
                        created_at=now - timedelta(days=days))
        db.session.add(thread)
        threads.append(thread)
    authors = [User(kind="guest", display_name=f"reader{i}") for i in range(25)]
    db.session.add_all(authors)
    db.session.flush()
    for day in range(days):
        for n in range(per_day + rng.randint(-8, 8)):
            created = now - timedelta(days=days - 1 - day, hours=rng.uniform(0, 20))
            if created > now:
                created = now - timedelta(minutes=5)
            toxic = rng.random() < 0.22
            base = rng.uniform(0.45, 0.99) if toxic else rng.betavariate(1.2, 9)
            scores = {label: round(min(1.0, max(0.0, base * rng.uniform(0.4, 1.05))), 3) for label in LABELS}
            scores["toxicity"] = round(base, 3)
            stored = ("premoderation:new_commenter",) if rng.random() < 0.05 else ()
            auto = outcome(ReplayRow(0, scores, stored), settings)
            status = {"published": CommentStatus.PUBLISHED, "held": CommentStatus.PENDING,
                      "rejected": CommentStatus.REJECTED}[auto]
            reasons = list(stored) + [f"toxicity:{k}" for k, v in scores.items()
                                      if auto != "published" and v >= settings["hold_thresholds"].get(k, 2)]
            thread = rng.choice(threads)
            author = rng.choice(authors)
            comment = Comment(thread_id=thread.id, author_id=author.id, author_name=author.display_name,
                              body_markdown=f"Comment {day}-{n}", body_html=f"<p>Comment {day}-{n}</p>",
                              body_text=f"Comment {day}-{n} about the story", status=status, reasons=reasons,
                              scores=scores, created_at=created, status_changed_at=created)
            db.session.add(comment)
            db.session.flush()
            comment.root_id = comment.id
            db.session.add(ModerationEvent(site_id=site.id, comment_id=comment.id, thread_id=thread.id,
                                           actor_label="pipeline", action="create", to_status=status.value,
                                           reasons=reasons, details={"scores": scores}, created_at=created))
            decided_at = created + timedelta(minutes=rng.uniform(5, 600))
            if decided_at >= now:
                continue
            if status is CommentStatus.PENDING and rng.random() < 0.9:
                rejected = rng.random() < (0.85 if toxic else 0.15)
                _decide(site, comment, staff, "reject" if rejected else "approve",
                        CommentStatus.REJECTED if rejected else CommentStatus.PUBLISHED, decided_at)
            elif status is CommentStatus.PUBLISHED and toxic and rng.random() < 0.5:
                db.session.add(Report(comment_id=comment.id, reason=ReportReason.ABUSE,
                                      created_at=created + timedelta(minutes=30)))
                if rng.random() < 0.7:
                    _decide(site, comment, staff, "remove", CommentStatus.REJECTED, decided_at)
            if toxic and rng.random() < 0.3:
                db.session.add(NudgeWarning(site_id=site.id, article_id=thread.article_id, author_id=author.id,
                                            labels=["toxicity"], created_at=created - timedelta(minutes=2)))
            elif not toxic and rng.random() < 0.08:   # warned, then rephrased into this comment
                comment.warned = comment.rephrased_after_warning = True
                db.session.add(NudgeWarning(site_id=site.id, article_id=thread.article_id, author_id=author.id,
                                            labels=["insult"], created_at=created - timedelta(minutes=3)))
            if rng.random() < 0.03:                   # warned and gave up (a reader with no comments)
                db.session.add(NudgeWarning(site_id=site.id, article_id=thread.article_id, ip_hash="gone",
                                            labels=["toxicity"], created_at=created))
    db.session.flush()
    for thread in threads:
        touch_thread(thread.id)
    db.session.commit()


def _decide(site: Site, comment: Comment, staff: User, action: str, to: CommentStatus, when) -> None:
    db.session.add(ModerationEvent(site_id=site.id, comment_id=comment.id, thread_id=comment.thread_id,
                                   actor_id=staff.id, actor_label=f"staff:{staff.id}", action=action,
                                   from_status=comment.status.value, to_status=to.value,
                                   reasons=["reject:abuse"] if to is CommentStatus.REJECTED else [],
                                   created_at=when))
    comment.status = to
    comment.reasons = ["reject:abuse"] if to is CommentStatus.REJECTED else []
    comment.moderator_decided = True
    comment.status_changed_at = when
