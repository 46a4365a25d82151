"""The ceiling for bench/reads.py: a bare Flask app that answers each benchmarked URL with the
bytes discuss answered it with (captured before the run), under the same gunicorn set-up.

It reads ``BENCH_BARE_DIR/routes.json`` (``{"path?query": "file"}``) at start and serves each
file as JSON. No database, no extensions, no hooks: what Flask and gunicorn cost by themselves.
"""
import json
import os

from flask import Flask, Response, request

folder = os.environ["BENCH_BARE_DIR"]
with open(os.path.join(folder, "routes.json"), encoding="utf-8") as fh:
    routes = {url: open(os.path.join(folder, name), "rb").read() for url, name in json.load(fh).items()}

app = Flask(__name__)


@app.route("/api/v1/<path:rest>", methods=["GET", "POST"])
def serve(rest: str):
    body = routes.get(request.full_path.rstrip("?")) or routes[request.path]
    return Response(body, mimetype="application/json")
