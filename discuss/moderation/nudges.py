"""Recording toxicity nudges, so the stats page can show the nudge funnel.

A warning row names the site, the article, and the reader (their id, or for a first-time guest
the IP hash the comment would carry); never the text. Whether the reader then rephrased,
posted anyway or gave up is read later from the comments they posted (``moderation.stats``).
"""
from __future__ import annotations

from discuss.extensions import db
from discuss.models import NudgeWarning


def record_warning(site_id: int, article_id: str, author_id: int | None, ip_hash: str | None,
                   labels: list[str]) -> NudgeWarning:
    """Store one shown warning. Drops whatever the refused post left in the session first."""
    db.session.rollback()
    warning = NudgeWarning(site_id=site_id, article_id=article_id, author_id=author_id, ip_hash=ip_hash,
                           labels=list(labels))
    db.session.add(warning)
    db.session.commit()
    return warning
