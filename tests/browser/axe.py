"""axe-core audits for the browser tests (the vendored engine, injected with Playwright).

The engine is ``vendor/axe-core-<version>/axe.min.js``, unchanged from ``npm pack axe-core@<version>``
(MPL-2.0; see VENDORED.md there). The service's CSP forbids inline scripts, so a page that is
audited must come from a browser context opened with ``bypass_csp=True``.
"""
from __future__ import annotations

import os

AXE_VERSION = "4.14.1"
AXE_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "vendor", f"axe-core-{AXE_VERSION}", "axe.min.js")
BLOCKING = ("serious", "critical")

_source: str | None = None


def _axe_source() -> str:
    global _source
    if _source is None:
        with open(AXE_PATH, encoding="utf-8") as f:
            _source = f.read()
    return _source


def run_axe(target) -> list[dict]:
    """Every violation axe finds in a Playwright Page or Frame (the frame's own document only:
    an embedded frame is audited on its own, as a frame of the comment host)."""
    if not target.evaluate("() => typeof window.axe === 'object'"):
        target.add_script_tag(content=_axe_source())
    return target.evaluate("""async () => {
        const result = await axe.run(document, {resultTypes: ['violations'], iframes: false});
        return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.map(n => ({target: n.target.join(' '), summary: n.failureSummary}))}));
    }""")


def blocking(violations: list[dict]) -> list[dict]:
    """The violations that fail an audit: serious or critical ones."""
    return [v for v in violations if v["impact"] in BLOCKING]


def describe(violations: list[dict]) -> str:
    lines = []
    for v in violations:
        lines.append(f"[{v['impact']}] {v['id']}: {v['help']}")
        for node in v["nodes"][:6]:
            lines.append(f"    {node['target']}: {(node['summary'] or '').splitlines()[-1].strip()}")
    return "\n".join(lines)
