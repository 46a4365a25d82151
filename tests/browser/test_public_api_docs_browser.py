"""/api/docs renders the API reference in a real browser, under its CSP, from vendored assets."""
from __future__ import annotations

import os

ARTIFACTS = os.path.join(os.path.dirname(os.path.dirname(__file__)), "artifacts")


def test_api_reference_page_renders_without_csp_errors(env, new_page):
    page = new_page(width=1280, height=1000)
    page.goto(env.service.url + "/api/docs")
    page.wait_for_selector("text=/comments", timeout=20_000)
    assert page.locator(".opblock").count() >= 30  # every operation is listed
    os.makedirs(ARTIFACTS, exist_ok=True)
    page.screenshot(path=os.path.join(ARTIFACTS, "api_docs.png"))
    csp_errors = [line for line in page.watch.console if "Content Security Policy" in line]
    assert csp_errors == [] and page.watch.errors == []
    assert all(url.startswith(env.service.url) for url in page.watch.requests)
