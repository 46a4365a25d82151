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


def sign_up(client, email: str = "ann@example.com", password: str = "correct horse battery", name: str = "Ann"):
    """A reader account made the way a reader makes one (sign up, open the emailed link), then
    signed in through the API; returns the sign-in response (token and viewer). Needs an app context.
    The registration endpoint itself (202 "check your email") is tested in test_registration.py."""
    from discuss.identity import registration

    registration.confirm(registration.register(email, password, name).token)
    response = client.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.get_json()
    return response
