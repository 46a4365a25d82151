"""Gzipped size of what a reader downloads for the widget, against the 25 KB budget.

Counts embed.js as served (with its strings), thread.js, thread.css and the strings JSON that
the iframe page inlines. The demo page's own CSS is the publisher's, not the widget's.

    .venv/bin/python bench/widget_size.py
"""
from __future__ import annotations

import gzip
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

BUDGET = 25 * 1024
STATIC = os.path.join(ROOT, "discuss", "static", "embed")


def gz(data: bytes) -> int:
    return len(gzip.compress(data, compresslevel=9))


def main() -> int:
    from discuss.embed import embed_js_source, load_strings

    parts = {
        "embed.js (publisher page, as served)": embed_js_source().encode(),
        "thread.js": open(os.path.join(STATIC, "thread.js"), "rb").read(),
        "thread.css": open(os.path.join(STATIC, "thread.css"), "rb").read(),
        "strings (inlined in the iframe page)": json.dumps(load_strings(), ensure_ascii=False).encode(),
    }
    total_raw = total_gz = 0
    print(f"{'file':42} {'raw':>9} {'gzip -9':>9}")
    for name, data in parts.items():
        size = gz(data)
        total_raw += len(data)
        total_gz += size
        print(f"{name:42} {len(data):>9,} {size:>9,}")
    print(f"{'total':42} {total_raw:>9,} {total_gz:>9,}")
    verdict = "within" if total_gz <= BUDGET else "OVER"
    print(f"budget {BUDGET:,} bytes (25 KB): {verdict} budget, {100 * total_gz / BUDGET:.0f}% used")
    return 0 if total_gz <= BUDGET else 1


if __name__ == "__main__":
    raise SystemExit(main())
