"""The API described (issue 15): /api/v1/openapi.json covers every /api/v1 route and method,
is a valid OpenAPI 3.1 document, and /api/docs shows it with self-hosted assets."""
from __future__ import annotations

import re

import schemathesis

from discuss.api.openapi import build_spec


def _documented(spec) -> set[tuple[str, str]]:
    return {(method.upper(), path) for path, item in spec["paths"].items() for method in item}


def test_every_api_route_and_method_is_described(app, client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.1")
    documented = _documented(spec)
    routes = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/"):
            continue
        path = re.sub(r"<(?:\w+(?:\([^)]*\))?:)?(\w+)>", r"{\1}", rule.rule)[len("/api/v1"):]
        routes |= {(method, path) for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert routes - documented == set()
    assert documented - routes == set()


def test_the_description_is_valid_openapi(app):
    schema = schemathesis.openapi.from_dict(build_spec())
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == len(_documented(build_spec()))


def test_request_bodies_come_from_the_same_allowlists_the_views_use(app):
    post = build_spec()["paths"]["/comments"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert post["additionalProperties"] is False
    assert set(post["required"]) == {"site", "article", "body"}
    assert post["properties"]["body"]["maxLength"] == app.config["MAX_BODY_CHARS"] * 2


def test_api_docs_page_uses_vendored_assets_only(client):
    page = client.get("/api/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert assets and all(a.startswith("/") and not a.startswith("//") for a in assets)
    for asset in assets:
        assert client.get(asset).status_code == 200, asset
    csp = page.headers["Content-Security-Policy"]
    assert "script-src 'self';" in csp and "http" not in csp
