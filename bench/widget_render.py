"""Time from page load to a 200-comment thread rendered, measured in headless Chromium.

Two local servers, as in production: the publisher's demo page on one origin, the comment
service (threaded werkzeug, SQLite) on another. The thread has 50 top-level comments with
3 replies each (200 comments, all on the first page). Each run opens a fresh browser context
(cold HTTP cache) and measures, in the browser, from the publisher page's navigation start
to the widget's performance mark "discuss:rendered" (set once every comment is in the DOM).

    .venv/bin/python bench/widget_render.py [--runs 9]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
ARTICLE = "bench-200"


class QuietScorer:
    labels = ("toxicity", "severe_toxicity", "obscene", "identity_attack", "insult", "threat", "sexual_explicit")

    def score_batch(self, texts):
        return [{label: 0.01 for label in self.labels} for _ in texts]


def serve(app):
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}"


def build(db_path: str):
    import logging

    from werkzeug.wrappers import Request, Response

    from discuss import create_app
    from discuss.embed.demo import render_demo_page
    from discuss.extensions import db
    from discuss.moderation.sites import create_site

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    ref = {}

    @Request.application
    def demo_app(request):
        return Response(render_demo_page(ref["host"], article=request.args.get("article")), mimetype="text/html")

    demo_server, demo_url = serve(demo_app)
    app = create_app({"SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{db_path}",
                      "RATELIMIT_ENABLED": False, "SCORER": QuietScorer()})
    with app.app_context():
        db.create_all()
        create_site("demo", "Bench", [demo_url])
    client = app.test_client()
    words = ("The bridge reopening is good news for the market quarter and for anyone who cycles to the "
             "station; I hope the council keeps the opening times sensible for river traffic.")
    for i in range(50):
        top = client.post("/api/v1/comments", json={
            "site": "demo", "article": ARTICLE, "author_name": f"Reader {i}",
            "body": f"Comment {i}: {words} **{i}**"}).get_json()["comment"]["id"]
        for j in range(3):
            reply = client.post("/api/v1/comments", json={
                "site": "demo", "article": ARTICLE, "author_name": f"Replier {i}-{j}", "parent_id": top,
                "body": f"Reply {i}.{j}: {words[: 60 + 20 * j]}"})
            assert reply.status_code == 201, reply.get_json()
    service_server, service_url = serve(app)
    ref["host"] = service_url
    return demo_url, service_url, (demo_server, service_server)


def measure(demo_url: str, runs: int) -> list[float]:
    from playwright.sync_api import sync_playwright

    times = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for run in range(runs + 1):  # the first run warms the server's page cache and is dropped
            context = browser.new_context(viewport={"width": 1200, "height": 900})
            page = context.new_page()
            page.goto(f"{demo_url}/?article={ARTICLE}")
            page.frame_locator("iframe[name=discuss-thread]").locator("#discuss[data-ready=true]").wait_for(
                state="attached", timeout=60_000)
            frame = page.frame(name="discuss-thread")
            count = frame.evaluate("document.querySelectorAll('.dc-item').length")
            assert count == 200, count
            top_origin = page.evaluate("performance.timeOrigin")
            rendered = frame.evaluate(
                "performance.timeOrigin + performance.getEntriesByName('discuss:rendered')[0].startTime")
            # Split: until the API answered, and building the DOM after it did.
            api_done = frame.evaluate("""performance.timeOrigin + performance.getEntriesByType('resource')
                .find(e => e.name.includes('/api/v1/comments')).responseEnd""")
            if run:
                times.append((rendered - top_origin, api_done - top_origin, rendered - api_done))
            context.close()
        browser.close()
    return times


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        demo_url, service_url, servers = build(os.path.join(tmp, "bench.db"))
        times = measure(demo_url, args.runs)
        for server in servers:
            server.shutdown()
    total = sorted(t[0] for t in times)
    print(f"200-comment thread (50 top-level x 3 replies), publisher page {demo_url}, service {service_url}")
    print(f"page navigation start -> thread rendered, {len(times)} cold-cache loads:")
    print(f"  median {statistics.median(total):.0f} ms   min {total[0]:.0f} ms   max {total[-1]:.0f} ms")
    print(f"  of which: API answered at {statistics.median(t[1] for t in times):.0f} ms (median), "
          f"DOM built in {statistics.median(t[2] for t in times):.0f} ms (median)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
