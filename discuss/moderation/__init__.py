"""The moderation domain: rules and word lists, policy (decide a comment's status, the nudge),
moderator actions, the staff read side (queues, presenters), the audit trail, rescoring of
held comments, and sites with their saved settings. May use jobs and identity, never comments.
"""
