"""/openapi.json documents every operation with the shape of what it answers: a typed JSON schema, or the
media type of a document (PDF, HTML page, XML). The action server's API is documented like the others."""

from __future__ import annotations

from typing import Any

# Bodies that are documents, not JSON: declaring the media type is their whole description.
DOCUMENT_MEDIA_TYPES = ("application/pdf", "application/xml", "text/xml", "text/html", "text/csv", "application/octet-stream")
HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].removeprefix("#/components/schemas/")
        schema = spec["components"]["schemas"][name]
    return schema


def _typed(spec: dict[str, Any], schema: dict[str, Any]) -> bool:
    """A schema that says something: not `{}`, and not an object of anything (`dict[str, Any]`)."""
    schema = _resolve(spec, schema)
    if not schema:
        return False
    if schema.get("type") == "object" and not schema.get("properties"):
        return schema.get("additionalProperties") not in (None, True, {})
    return True


def _documented(spec: dict[str, Any], operation: dict[str, Any]) -> bool:
    responses = operation.get("responses", {})
    for code, response in responses.items():
        content = response.get("content") or {}
        if code.startswith("2"):
            if any(media in content for media in DOCUMENT_MEDIA_TYPES):
                return True
            if "schema" in content.get("application/json", {}) and _typed(spec, content["application/json"]["schema"]):
                return True
            # No Content has no body by definition; it must still say what it means.
            if code == "204" and not content and response.get("description"):
                return True
        # A redirect answers with where to go.
        if code.startswith("3") and "Location" in (response.get("headers") or {}):
            return True
    return False


def _operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if method in HTTP_METHODS
    ]


def test_every_operation_documents_what_it_answers(client):
    spec = client.get("/openapi.json").json()
    undocumented = set()
    checked = 0
    for method, path, operation in _operations(spec):
        checked += 1
        if not _documented(spec, operation):
            undocumented.add((method, path))
    assert undocumented == set()
    # The creditor's API, the action server's, the console's, the documents, Twilio's doors: 49 operations today.
    assert checked >= 49


def test_every_audience_is_in_the_schema(client):
    paths = client.get("/openapi.json").json()["paths"]
    for prefix in ("/api/v1/", "/internal/v1/", "/console/api/", "/documents/"):
        assert any(path.startswith(prefix) for path in paths), prefix


def test_the_action_servers_api_is_documented_with_its_token_and_still_requires_it(client, actions_headers):
    spec = client.get("/openapi.json").json()
    internal = [(m, p, op) for m, p, op in _operations(spec) if p.startswith("/internal/v1/")]
    assert len(internal) >= 16
    for _method, _path, operation in internal:
        assert operation["tags"] == ["action server"]
        assert any(p["name"] == "X-Actions-Token" and p["in"] == "header" for p in operation.get("parameters", []))
    path = "/internal/v1/conversations/no-such-conversation/context"
    assert client.get(path).status_code == 401
    assert client.get(path, headers=actions_headers).status_code == 404


def test_statuses_are_named_values_not_free_strings(client):
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    assert set(schemas["HandoffStatus"]["enum"]) == {"open", "claimed", "closed"}
    assert set(schemas["CommitmentStatus"]["enum"]) == {"active", "kept", "broken", "cancelled", "replaced"}
    assert set(schemas["InstalmentStatus"]["enum"]) == {"due", "paid", "missed"}
    assert schemas["VerifyOut"]["properties"]["status"]["enum"] == ["verified", "locked", "failed"]
    detail = schemas["AccountDetailOut"]["properties"]
    assert detail["status"] == {"$ref": "#/components/schemas/AccountStatus"}
