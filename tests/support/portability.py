"""Fixture archives for the importers, written in each format's published structure.

One scenario (two threads, nesting three deep, every status the format has, unicode and
hostile HTML in bodies) is rendered into Disqus XML, WordPress WXR, a Remark42 backup, a
Commento export, a Comentario (v3) export and a real Isso database written by Isso's own code.
"""
from __future__ import annotations

import gzip
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from xml.sax.saxutils import escape

HOSTILE_HTML = ('<p>Héllo <b>wörld</b> 😀 — «quotes»</p><script>alert(1)</script>'
                '<p><a href="javascript:alert(1)" onclick="steal()">bad link</a> '
                '<a href="https://example.org/x">good link</a><img src=x onerror=alert(1)></p>')
HOSTILE_MARKDOWN = 'Héllo **wörld** 😀 — «quotes» <script>alert(1)</script> [bad link](javascript:alert(1))'


@dataclass
class Post:
    id: str
    thread: str
    author: str
    email: str | None
    created: datetime
    state: str = "approved"            # approved | pending | spam | deleted | <unknown word>
    parent: str | None = None
    body: str = "A plain comment."
    likes: int = 0


@dataclass
class Scenario:
    threads: dict[str, tuple[str, str, str]] = field(default_factory=dict)   # id -> (url, identifier, title)
    posts: list[Post] = field(default_factory=list)


def at(day: int, hour: int = 12) -> datetime:
    return datetime(2021, 3, day, hour, 30, 15, tzinfo=timezone.utc)


def scenario(states: tuple[str, ...], unknown: str | None = None, html: bool = True) -> Scenario:
    """Thread A: a root, a reply, a reply to the reply (listed BEFORE its parent, as exports may),
    then one comment per extra status; a reply under the deleted one. Thread B: one comment."""
    body = HOSTILE_HTML if html else HOSTILE_MARKDOWN
    s = Scenario(threads={"A": ("https://news.example.com/2021/budget", "budget-2021", "Budget — 2021"),
                          "B": ("https://news.example.com/2021/sport", "sport-2021", "Sport")})
    s.posts = [
        Post("c1", "A", "Zoë Ünicode", "Zoe@Example.org", at(1), body=body, likes=3),
        Post("c3", "A", "Carl", "carl@example.org", at(3), parent="c2", body="Third level."),
        Post("c2", "A", "Bob", None, at(2), parent="c1", body="Second level."),
    ]
    extra = {"pending": "Waiting for a moderator.", "spam": "Buy cheap watches.", "deleted": "I regret this."}
    for index, state in enumerate(states, start=10):
        s.posts.append(Post(f"c{index}", "A", "Dora", "dora@example.org", at(index), state=state, body=extra[state]))
    if "deleted" in states:
        deleted_id = f"c{10 + states.index('deleted')}"
        s.posts.append(Post("c20", "A", "Eve", None, at(20), parent=deleted_id, body="Reply to a deleted one."))
    if unknown:
        s.posts.append(Post("c21", "A", "Finn", None, at(21), state=unknown, body="Odd state."))
    s.posts.append(Post("c30", "B", "Zoë Ünicode", "Zoe@Example.org", at(22), body="On sport."))
    return s


# -- Disqus --------------------------------------------------------------------------------------

def disqus_xml(s: Scenario, truncate: bool = False) -> bytes:
    out = ['<?xml version="1.0" encoding="utf-8"?>',
           '<disqus xmlns="http://disqus.com" xmlns:dsq="http://disqus.com/disqus-internals" '
           'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">',
           '<category dsq:id="1"><forum>news</forum><title>General</title><isDefault>true</isDefault></category>']
    for tid, (url, ident, title) in s.threads.items():
        out.append(f'<thread dsq:id="t{tid}"><id>{escape(ident)}</id><forum>news</forum><category dsq:id="1"/>'
                   f'<link>{escape(url)}</link><title>{escape(title)}</title><message/>'
                   f'<createdAt>2021-03-01T00:00:00Z</createdAt><author><name>Editor</name>'
                   f'<isAnonymous>false</isAnonymous><username>editor</username></author>'
                   f'<isClosed>false</isClosed><isDeleted>false</isDeleted></thread>')
    for p in s.posts:
        parent = f'<parent dsq:id="{p.parent}"/>' if p.parent else ""
        approved = "<isApproved>false</isApproved>" if p.state == "pending" else ""
        email = f"<email>{escape(p.email)}</email>" if p.email else "<email/>"
        out.append(f'<post dsq:id="{p.id}"><id/><message><![CDATA[{p.body}]]></message>'
                   f'<createdAt>{p.created.strftime("%Y-%m-%dT%H:%M:%SZ")}</createdAt>'
                   f'<isDeleted>{str(p.state == "deleted").lower()}</isDeleted>'
                   f'<isSpam>{str(p.state == "spam").lower()}</isSpam>{approved}'
                   f'<author>{email}<name>{escape(p.author)}</name><isAnonymous>false</isAnonymous>'
                   f'<username>{escape(p.author.lower().replace(" ", "-"))}</username></author>'
                   f'<ipAddress>127.0.0.1</ipAddress><thread dsq:id="t{p.thread}"/>{parent}</post>')
    out.append("</disqus>")
    data = "\n".join(out).encode()
    return data[: len(data) * 2 // 3] if truncate else data


# -- WordPress -----------------------------------------------------------------------------------

WP_STATES = {"approved": "1", "pending": "0", "spam": "spam", "deleted": "trash"}


def wordpress_wxr(s: Scenario, version: str = "1.2") -> bytes:
    ids = {p.id: str(100 + i) for i, p in enumerate(s.posts)}
    out = ['<?xml version="1.0" encoding="UTF-8" ?>',
           f'<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" '
           f'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:wp="http://wordpress.org/export/{version}/">',
           '<channel><title>The News</title><link>https://news.example.com</link>'
           f'<wp:wxr_version>{version}</wp:wxr_version>']
    for number, (tid, (url, ident, title)) in enumerate(s.threads.items(), start=1):
        out.append(f'<item><title>{escape(title)}</title><link>{escape(url)}</link>'
                   f'<content:encoded><![CDATA[<p>The article.</p>]]></content:encoded>'
                   f'<wp:post_id>{number}</wp:post_id><wp:post_name>{escape(ident)}</wp:post_name>'
                   f'<wp:status>publish</wp:status><wp:post_type>post</wp:post_type>')
        for p in (p for p in s.posts if p.thread == tid):
            out.append(f'<wp:comment><wp:comment_id>{ids[p.id]}</wp:comment_id>'
                       f'<wp:comment_author><![CDATA[{p.author}]]></wp:comment_author>'
                       f'<wp:comment_author_email><![CDATA[{p.email or ""}]]></wp:comment_author_email>'
                       f'<wp:comment_author_url>https://example.org</wp:comment_author_url>'
                       f'<wp:comment_author_IP><![CDATA[127.0.0.1]]></wp:comment_author_IP>'
                       f'<wp:comment_date><![CDATA[{p.created.strftime("%Y-%m-%d %H:%M:%S")}]]></wp:comment_date>'
                       f'<wp:comment_date_gmt><![CDATA[{p.created.strftime("%Y-%m-%d %H:%M:%S")}]]>'
                       f'</wp:comment_date_gmt>'
                       f'<wp:comment_content><![CDATA[{p.body}]]></wp:comment_content>'
                       f'<wp:comment_approved><![CDATA[{WP_STATES.get(p.state, p.state)}]]></wp:comment_approved>'
                       f'<wp:comment_type><![CDATA[comment]]></wp:comment_type>'
                       f'<wp:comment_parent>{ids[p.parent] if p.parent else 0}</wp:comment_parent>'
                       f'<wp:comment_user_id>0</wp:comment_user_id></wp:comment>')
        if number == 1:
            out.append('<wp:comment><wp:comment_id>999</wp:comment_id><wp:comment_author>Blog</wp:comment_author>'
                       '<wp:comment_date_gmt>2021-03-05 10:00:00</wp:comment_date_gmt>'
                       '<wp:comment_content>Pingback</wp:comment_content><wp:comment_approved>1'
                       '</wp:comment_approved><wp:comment_type>pingback</wp:comment_type>'
                       '<wp:comment_parent>0</wp:comment_parent></wp:comment>')
        out.append("</item>")
    out.append("</channel></rss>")
    return "\n".join(out).encode()


# -- Remark42 ------------------------------------------------------------------------------------

def remark42_backup(s: Scenario, gzipped: bool = True) -> bytes:
    lines = [json.dumps({"version": 1, "users": [], "posts": [{"url": u, "read_only": False}
                                                                for u, _, _ in s.threads.values()]})]
    for p in s.posts:
        url, _, title = s.threads[p.thread]
        lines.append(json.dumps({
            "id": p.id, "pid": p.parent or "", "text": p.body, "orig": p.body,
            "user": {"name": p.author, "id": "github_" + p.author.lower().replace(" ", "_"), "picture": "",
                     "ip": "abc", "admin": False},
            "locator": {"site": "news", "url": url}, "score": p.likes, "votes": {}, "vote_ips": {},
            "time": p.created.isoformat().replace("+00:00", "Z"), "pin": p.likes > 0,
            "delete": p.state == "deleted", "title": title}, ensure_ascii=False))
    data = ("\n".join(lines) + "\n").encode()
    return gzip.compress(data) if gzipped else data


# -- Commento ------------------------------------------------------------------------------------

COMMENTO_STATES = {"approved": "approved", "pending": "unapproved", "spam": "flagged"}


def commento_json(s: Scenario) -> bytes:
    commenters = {}
    comments = []
    for p in s.posts:
        url, _, _ = s.threads[p.thread]
        hex_id = p.author.encode().hex()
        if hex_id not in commenters:
            commenters[hex_id] = {"commenterHex": hex_id, "email": p.email or "", "name": p.author,
                                  "link": "undefined", "photo": "undefined", "provider": "commento",
                                  "joinDate": "2021-01-01T00:00:00Z", "isModerator": False}
        comments.append({"commentHex": p.id, "domain": "news.example.com", "url": url.split(".com", 1)[1],
                         "commenterHex": hex_id, "markdown": p.body, "html": "",
                         "parentHex": p.parent or "root", "score": p.likes,
                         "state": COMMENTO_STATES.get(p.state, p.state),
                         "creationDate": p.created.isoformat().replace("+00:00", "Z"), "direction": 0,
                         "deleted": p.state == "deleted"})
    comments.append({"commentHex": "anon1", "domain": "news.example.com", "url": "/2021/sport",
                     "commenterHex": "anonymous", "markdown": "Anonymous words.", "html": "", "parentHex": "root",
                     "score": 0, "state": "approved", "creationDate": "2021-03-23T00:00:00Z", "direction": 0,
                     "deleted": False})
    return json.dumps({"version": 1, "comments": comments, "commenters": list(commenters.values())},
                      ensure_ascii=False, indent=1).encode()


# -- Comentario (its own export, version 3) ------------------------------------------------------
# The shape of Comentario's comentarioExportV3 (internal/svc/impex_comentario.go): version, pages, comments,
# commenters, with the fields of the domainPage, comment and commenter definitions in its swagger.yml. Go writes
# the struct's fields in order (commenters after comments) and the export is gzipped.

ANONYMOUS_UUID = "00000000-0000-0000-0000-000000000000"


def _uuid(kind: str, key: str) -> str:
    import uuid

    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{kind}:{key}"))


def comentario_json(s: Scenario, gzipped: bool = True) -> bytes:
    pages, commenters, comments = {}, {}, []
    for tid, (url, _, title) in s.threads.items():
        pages[tid] = {"id": _uuid("page", tid), "domainId": _uuid("domain", "news"), "path": url.split(".com", 1)[1],
                      "title": title, "isReadonly": False, "createdTime": "2021-03-01T00:00:00Z",
                      "countComments": 0, "countViews": 0}
    for p in s.posts:
        user = _uuid("user", p.author)
        commenters.setdefault(user, {"id": user, "email": p.email or "", "name": p.author, "websiteUrl": "",
                                     "hasAvatar": False, "isModerator": False, "isCommenter": True, "colourIndex": 3,
                                     "createdTime": "2021-01-01T00:00:00Z"})
        created = p.created.isoformat().replace("+00:00", "Z")
        comments.append({"id": _uuid("comment", p.id), "parentId": p.parent and _uuid("comment", p.parent),
                         "pageId": pages[p.thread]["id"], "markdown": "" if p.state == "deleted" else p.body,
                         "html": "", "score": p.likes, "isSticky": p.likes > 0,
                         "isApproved": p.state == "approved", "isPending": p.state == "pending",
                         "isDeleted": p.state == "deleted", "createdTime": created,
                         "moderatedTime": created, "userCreated": user, "userModerated": user,
                         "authorName": "", "url": f"https://news.example.com{pages[p.thread]['path']}"})
    comments.append({"id": _uuid("comment", "anon"), "parentId": None, "pageId": pages["B"]["id"],
                     "markdown": "Anonymous words.", "html": "", "score": 0, "isSticky": False, "isApproved": True,
                     "isPending": False, "isDeleted": False, "createdTime": "2021-03-23T00:00:00Z",
                     "editedTime": "2021-03-24T08:00:00Z", "userCreated": ANONYMOUS_UUID, "authorName": "Passer-by"})
    data = json.dumps({"version": 3, "pages": list(pages.values()), "comments": comments,
                       "commenters": list(commenters.values())}, ensure_ascii=False).encode()
    return gzip.compress(data) if gzipped else data


# -- Isso ----------------------------------------------------------------------------------------

ISSO_MODES = {"approved": 1, "pending": 2, "deleted": 4}


def isso_database(s: Scenario, path: str) -> dict[str, int]:
    """Write the scenario with Isso's own database code (isso.db.SQLite3). Isso nests one level
    only and needs parents first, so posts are added in time order. Returns our id -> Isso id."""
    from isso import config
    from isso.db import SQLite3

    conf = config.load(config.default_file())
    db = SQLite3(path, conf)
    for tid, (url, _, title) in s.threads.items():
        db.threads.new(url.split(".com", 1)[1], title)
    ids: dict[str, int] = {}
    for p in sorted(s.posts, key=lambda p: p.created):
        uri = s.threads[p.thread][0].split(".com", 1)[1]
        row = db.comments.add(uri, {
            "text": p.body, "author": p.author, "email": p.email, "website": None,
            "created": p.created.timestamp(), "mode": ISSO_MODES.get(p.state, 8),
            "remote_addr": "127.0.0.1", "parent": ids.get(p.parent), "notification": 0})
        ids[p.id] = row["id"]
        if p.likes:
            db.execute("UPDATE comments SET likes=? WHERE id=?", (p.likes, row["id"]))
    for p in s.posts:  # Isso keeps a deleted comment (mode 4, no text) only while it has replies
        if p.state == "deleted":
            db.comments.delete(ids[p.id])
    return ids
