"""The OpenAPI document describes the error body the API really sends (issue 15 point 4):
``{error, message, status, fields?, spans?}`` as the ``Error`` component, on every status each
operation can answer (401/403 behind a guard, 404 with a path parameter, 409 on a change,
422 with any input, 429 where a rate limit applies, 500 everywhere)."""

from __future__ import annotations

import html
from typing import Any

from litestar import Litestar, Request
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIResponse, Reference, Schema
from litestar.openapi.spec.enums import OpenAPIType
from litestar.routes import HTTPRoute

ERROR_SCHEMA = Schema(
    type=OpenAPIType.OBJECT,
    required=["error", "message", "status"],
    properties={
        "error": Schema(type=OpenAPIType.STRING, description="A stable code, e.g. `invalid`."),
        "message": Schema(type=OpenAPIType.STRING, description="For people, in their language."),
        "status": Schema(type=OpenAPIType.INTEGER, description="The HTTP status again."),
        "fields": Schema(
            type=OpenAPIType.OBJECT,
            additional_properties=Schema(type=OpenAPIType.STRING),
            description="Field or parameter → error code (`required`, `invalid`, "
            "`too_long`, `personal_data`, `control_chars`, ...).",
        ),
        "spans": Schema(
            type=OpenAPIType.ARRAY,
            description="With `personal_data`: each span found (field, kind, start, end).",
            items=Schema(
                type=OpenAPIType.OBJECT,
                properties={
                    "field": Schema(type=OpenAPIType.STRING),
                    "kind": Schema(type=OpenAPIType.STRING),
                    "start": Schema(type=OpenAPIType.INTEGER),
                    "end": Schema(type=OpenAPIType.INTEGER),
                },
            ),
        ),
    },
    description="Every error answer of the API.",
)
DESCRIPTIONS = {
    "400": "The request body could not be read",
    "401": "Not signed in, or no valid token",
    "403": "Signed in, but not allowed",
    "404": "Not found, or not visible to the caller",
    "409": "Conflicts with the current state",
    "413": "The request body is too large",
    "422": "Invalid input: see `fields`",
    "429": "Too many requests: retry after `Retry-After` seconds",
    "500": "Unexpected server error",
}
RATE_LIMITED_PREFIXES = ("/oauth/", "/api/v1/partner/")


def _guarded(app: Litestar) -> set[tuple[str, str]]:
    out: set[tuple[str, str]] = set()
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            if handler.resolve_guards():
                for method in handler.http_methods:
                    out.add((route.path_format, method.lower()))
    return out


def document_errors(app: Litestar) -> None:
    schema = app.openapi_schema
    schemas: dict[str, Any] = dict(schema.components.schemas or {})
    schemas["Error"] = ERROR_SCHEMA
    schema.components.schemas = schemas
    guarded = _guarded(app)
    ref = Reference(ref="#/components/schemas/Error")
    for path, item in (schema.paths or {}).items():
        for method in ("get", "post", "put", "patch", "delete"):
            op: Any = getattr(item, method, None)
            if op is None:
                continue
            statuses = {"500"}
            has_input = bool(op.parameters) or op.request_body is not None
            if has_input:
                statuses |= {"422"}
            if op.request_body is not None:
                statuses |= {"400", "413"}
            if "{" in path:
                statuses.add("404")
            if (path, method) in guarded or op.security or path.startswith("/api/v1/partner"):
                statuses |= {"401", "403"}
            if method != "get":
                statuses |= {"403", "404", "409"}
            if path.startswith(RATE_LIMITED_PREFIXES):
                statuses.add("429")
            responses = dict(op.responses or {})
            statuses |= {s for s in responses if s[:1] in {"4", "5"}}
            for status in sorted(statuses):
                responses[status] = OpenAPIResponse(
                    description=DESCRIPTIONS.get(status, "Error"),
                    content={"application/json": OpenAPIMediaType(schema=ref)},
                )
            op.responses = responses


class VendoredSwaggerPlugin(SwaggerRenderPlugin):
    """Swagger UI from the files vendored under /static/vendor/swagger-ui (scripts/vendor-assets.sh)
    with no inline script or style, so the strict CSP holds on /schema/swagger too and the page
    works without internet access."""

    def __init__(self) -> None:
        base = "/static/vendor/swagger-ui"
        super().__init__(
            js_url=f"{base}/swagger-ui-bundle.js",
            css_url=f"{base}/swagger-ui.css",
            standalone_preset_js_url=f"{base}/swagger-ui-standalone-preset.js",
        )

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        title = html.escape(str(openapi_schema.get("info", {}).get("title", "API")))
        return f"""<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{title}</title>
  <link rel="icon" href="/static/favicon.svg" type="image/svg+xml">
  <link rel="stylesheet" href="{self.css_url}">
  <script src="{self.js_url}" defer></script>
  <script src="{self.standalone_preset_js_url}" defer></script>
  <script src="/static/swagger-init.js" defer></script>
</head>
<body><div id="swagger-container" data-spec-url="{request.app.openapi_config.path if request.app.openapi_config else "/schema"}/openapi.json"></div></body>
</html>""".encode()
