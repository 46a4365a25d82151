"""Work outside the request: the one job runner (RQ on Redis, or a thread), mail, and the
notifications sent through them. May use identity; never moderation or comments.
"""
