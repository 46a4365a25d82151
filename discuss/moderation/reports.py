"""Automatic hold of a published comment once readers report it often enough."""
from __future__ import annotations

from discuss.models import Comment, CommentStatus
from discuss.moderation.audit import change_status

REPORTS_THRESHOLD = "reports_threshold"


def hold_if_reported_enough(comment: Comment) -> bool:
    """With the site's ``auto_hold_reports`` at N > 0, a published comment with N open reports
    leaves the public thread for the pending queue (reason ``reports_threshold``) until a
    moderator decides. Caller refreshes the thread and commits."""
    limit = int(comment.thread.site.effective_settings().get("auto_hold_reports") or 0)
    if not limit or comment.status is not CommentStatus.PUBLISHED or (comment.report_count or 0) < limit:
        return False
    change_status(comment, CommentStatus.PENDING, reasons=[REPORTS_THRESHOLD], action="hold",
                  actor_label=f"rule:{REPORTS_THRESHOLD}",
                  details={"reports": comment.report_count, "threshold": limit})
    return True
