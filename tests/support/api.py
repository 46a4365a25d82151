"""Small helpers for calling the public API in tests."""
from __future__ import annotations

from typing import Any

DEFAULT_POST = {"site": "news", "article": "article-1", "article_url": "https://news.example.com/article-1",
                "article_title": "Council approves budget"}


def post_comment(client, body: str = "A thoughtful comment.", *, token: str | None = None,
                 name: str | None = "Ann", **fields: Any):
    payload = {**DEFAULT_POST, "body": body, **fields}
    if name is not None and "author_name" not in fields:
        payload["author_name"] = name
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.post("/api/v1/comments", json=payload, headers=headers)


def read_thread(client, token: str | None = None, **params: Any):
    query = {"site": "news", "article": "article-1", **params}
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.get("/api/v1/comments", query_string=query, headers=headers)


def flatten(nodes: list[dict]) -> list[dict]:
    out = []
    for node in nodes:
        out.append(node)
        out.extend(flatten(node["replies"]))
    return out
