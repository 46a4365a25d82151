"""Keyboard-only helpers for the browser tests: move focus with Tab (never the mouse) and check that
wherever it lands, a focus ring is visible."""
from __future__ import annotations

# What has focus in this frame's document (None when focus is elsewhere), and whether it shows
# a focus indicator: an outline of at least 2 px that is not transparent.
FOCUSED_JS = """() => {
  const el = document.activeElement;
  if (!document.hasFocus() || !el || el === document.body || el === document.documentElement) return null;
  const cs = getComputedStyle(el);
  const outline = cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) >= 2 &&
                  !/rgba\\(.*, 0\\)$/.test(cs.outlineColor) && cs.outlineColor !== 'transparent';
  const label = (el.labels && el.labels[0] && el.labels[0].textContent) || '';
  return {tag: el.tagName.toLowerCase(), name: el.getAttribute('name') || '', label: label.trim(),
          text: (el.getAttribute('aria-label') || el.textContent || '').trim().replace(/\\s+/g, ' '),
          ring: outline, id: el.id, classes: el.className || ''};
}"""


def focused(frame) -> dict | None:
    return frame.evaluate(FOCUSED_JS)


def tab_to(page, frame, match, backwards: bool = False, limit: int = 80) -> dict:
    """Press Tab (Shift+Tab) until the focused element in frame satisfies match(info); asserts the
    focus ring is visible there and returns the element's info."""
    seen = []
    for _ in range(limit):
        page.keyboard.press("Shift+Tab" if backwards else "Tab")
        info = focused(frame)
        if info is not None and match(info):
            assert info["ring"], f"no visible focus indicator on {info}"
            return info
        seen.append(info and (info["tag"], info["text"][:40] or info["label"]))
    raise AssertionError(f"never reached the control; focus went through {seen}")


def text_is(text: str):
    return lambda info: info["text"] == text


def label_is(text: str):
    return lambda info: info["label"] == text
