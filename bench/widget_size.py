"""Gzipped size of what a reader downloads on first load of the widget, per language, against
the 25 KB budget.

Counts, as served: embed.js (minified, with every language's count strings), thread.js and
thread.css (minified) and the ONE language's strings the iframe page inlines. Each language is a
separate first load; the budget holds for every shipped language. The unminified source files are
shown too, so the ratio of minified to source is in the same run. The demo page's own CSS is the
publisher's, not the widget's.

    .venv/bin/python bench/widget_size.py
"""
from __future__ import annotations

import gzip
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

BUDGET = 25 * 1024
STATIC = os.path.join(ROOT, "discuss", "static", "embed")


def gz(data: bytes) -> int:
    return len(gzip.compress(data, compresslevel=9))


def main() -> int:
    from discuss.embed.strings import embed_js_source, minified, strings_json
    from discuss.locales import LANGUAGES

    shared = {
        "embed.js (publisher page, as served)": embed_js_source().encode(),
        "thread.js (minified)": minified("thread.js"),
        "thread.css (minified)": minified("thread.css"),
    }
    source = sum(gz(open(os.path.join(STATIC, f), "rb").read()) for f in ("thread.js", "thread.css"))
    served = gz(shared["thread.js (minified)"]) + gz(shared["thread.css (minified)"])
    print(f"{'file':42} {'raw':>9} {'gzip -9':>9}")
    for name, data in shared.items():
        print(f"{name:42} {len(data):>9,} {gz(data):>9,}")
    print(f"thread.js + thread.css: source {source:,} B gzipped, served {served:,} B "
          f"(minified/source ratio {served / source:.2f})")
    base = sum(gz(d) for d in shared.values())
    worst = 0
    print(f"\n{'language':10} {'strings gzip':>13} {'first load gzip':>16} {'of budget':>10}")
    for code in LANGUAGES:
        strings = gz(strings_json(code).encode())
        total = base + strings
        worst = max(worst, total)
        print(f"{code:10} {strings:>13,} {total:>16,} {100 * total / BUDGET:>9.0f}%")
    verdict = "within" if worst <= BUDGET else "OVER"
    print(f"\nbudget {BUDGET:,} bytes (25 KB): largest first load {worst:,} bytes, {verdict} budget")
    return 0 if worst <= BUDGET else 1


if __name__ == "__main__":
    raise SystemExit(main())
