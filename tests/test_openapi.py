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


def _required_text_patterns(node, found):
    """Every pattern the description puts on a "must not be empty" text field, anywhere in it
    (formats with their own pattern, such as email, say more than "not empty")."""
    if isinstance(node, dict):
        if node.get("minLength") == 1 and "pattern" in node:
            found.add(node["pattern"])
        for value in node.values():
            _required_text_patterns(value, found)
    elif isinstance(node, list):
        for value in node:
            _required_text_patterns(value, found)
    return found


def test_a_name_of_control_characters_is_invalid_in_the_description_as_in_the_api(app, client, site):
    # The fuzzer sent display_name "\u0006": it matched the old pattern \S, and the API (rightly)
    # strips it to nothing and answers 400. Description and API must agree on what is empty.
    patterns = _required_text_patterns(build_spec(), set())
    assert patterns, "required text fields carry a pattern"
    for pattern in patterns:
        for blank in ("\u0006", " \u200b\t", "\ufeff\u202e", "\x7f\x9f"):
            assert not re.search(pattern, blank), (pattern, blank)
        assert re.search(pattern, "a") and re.search(pattern, "\u0301")
    answer = client.post("/api/v1/comments", json={"site": site.slug, "article": "a", "body": "\u0006\u200b"})
    assert answer.status_code == 400
    assert answer.get_json()["error"]["fields"] == {"body": "must not be empty"}


def test_the_description_and_the_server_accept_the_same_email_addresses(app, client):
    # Python's \s and ECMA-262's differ (\x1c-\x1f, \x85 vs \ufeff): the fuzzer found addresses the
    # description allowed and the API refused. Check the description's pattern in both readings.
    from discuss.api.schemas import EMAIL_RE
    spec = build_spec()
    pattern = spec["paths"]["/auth/register"]["post"]["requestBody"]["content"]["application/json"]["schema"][
        "properties"]["email"]["pattern"]
    ecma_whitespace = "\u00a0\u1680\u2000\u2028\u202f\u205f\u3000\ufeff"
    for odd in ["\x1d", "\x1e", "\x85", "\x07", "\x7f", "\ufeff", *ecma_whitespace]:
        address = f"a{odd}b@example.org"
        assert not re.search(pattern, address) and not EMAIL_RE.match(address), repr(odd)
    assert re.search(pattern, "ünïcode@example.org") and EMAIL_RE.match("ünïcode@example.org")
    refused = client.post("/api/v1/auth/password/forgot", json={"email": "a\x1db@example.org"})
    assert refused.status_code == 400
