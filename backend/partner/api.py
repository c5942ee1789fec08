"""The OAuth2 token endpoint (client credentials) and the partner API under /api/v1/partner.

Every call: a valid, unexpired, untampered bearer token of a client that is still active (401
otherwise), the rate limits per client and per IP (429), the scope the route needs (403), the
client's own organization only (404 for anything else). Every call is audited with the client
id as the actor, refused calls too (in their own transaction, as the request's is rolled back).
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar
from urllib.parse import unquote

from litestar import Controller, MediaType, Request, Response, get, patch, post
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import Body, FromPath, QueryParameter

from backend.accounts.models import APIClient
from backend.audit.service import record
from backend.core.bounds import PAGE_MAX, OptionalQueryCode
from backend.core.errors import DomainError, Forbidden, NotFound, Unauthenticated
from backend.core.http import DB, Form
from backend.core.i18n import N_
from backend.core.pagination import Page
from backend.core.runtime import runtime_of
from backend.partner import limits, service
from backend.partner import repository as repo
from backend.partner.tokens import SCOPES, issue, verify
from backend.resources.models import Resource

T = TypeVar("T")


def _issuer(state: State) -> str:
    return str(runtime_of(state).settings.base_url).rstrip("/")


def _oauth_error(error: str, status: int, description: str) -> Response[Any]:
    headers = {"Cache-Control": "no-store"}
    if status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="tongxin"'
    return Response(
        {"error": error, "error_description": description},
        status_code=status,
        media_type=MediaType.JSON,
        headers=headers,
    )


def _basic_credentials(request: Request[Any, Any, Any]) -> tuple[str, str] | None:
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("basic "):
        return None
    try:
        raw = base64.b64decode(header[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, sep, secret = raw.partition(":")
    return (unquote(client_id), unquote(secret)) if sep else None


@post(
    "/oauth/token",
    tags=["partner"],
    summary="Get an access token (OAuth2 client credentials)",
    status_code=200,
)
async def token_endpoint(
    request: Request[Any, Any, Any], state: State, db: DB, data: Form
) -> Response[Any]:
    """``grant_type=client_credentials``; the client authenticates with HTTP Basic (or
    ``client_id``/``client_secret`` in the form). ``scope`` may narrow the client's scopes."""
    await limits.check(request, "token_ip", limits.client_ip(request))
    if data.get("grant_type") != "client_credentials":
        return _oauth_error("unsupported_grant_type", 400, "Only client_credentials is supported.")
    credentials = _basic_credentials(request) or (
        data.get("client_id", ""),
        data.get("client_secret", ""),
    )
    client_id, secret = credentials
    if not client_id or not secret:
        return _oauth_error("invalid_client", 401, "Client authentication failed.")
    await limits.check(request, "api_client", client_id)
    client = await service.authenticate(db, client_id, secret)
    if client is None:
        return _oauth_error("invalid_client", 401, "Client authentication failed.")
    requested = data.get("scope", "").split()
    scopes = [s for s in client.scopes if not requested or s in requested]
    if any(s not in client.scopes for s in requested) or not scopes:
        return _oauth_error("invalid_scope", 400, "The client may not have the requested scope.")
    token, ttl = issue(
        issuer=_issuer(state),
        client_id=client.client_id,
        organization_id=str(client.organization_id),
        scopes=scopes,
    )
    await record(
        db,
        actor=service.client_actor(client),
        action="partner.token_issued",
        object_type="api_client",
        object_id=client.id,
        detail={"scopes": scopes},
    )
    return Response(
        {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": ttl,
            "scope": " ".join(scopes),
        },
        media_type=MediaType.JSON,
        headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
    )


async def provide_client(request: Request[Any, Any, Any], state: State, db: DB) -> APIClient:
    """The calling client, from its bearer token; 401 for anything not valid now."""
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("bearer "):
        raise Unauthenticated(N_("An access token is required."))
    token = verify(header[7:].strip(), issuer=_issuer(state))
    if token is None:
        raise Unauthenticated(N_("The access token is invalid or has expired."))
    await limits.check(request, "api_ip", limits.client_ip(request))
    await limits.check(request, "api_client", token.client_id)
    client = await repo.client_by_client_id(db, token.client_id)
    if (
        not service.usable(client)
        or client is None
        or str(client.organization_id) != token.organization_id
    ):
        raise Unauthenticated(N_("The access token is invalid or has expired."))
    request.scope.setdefault("state", {})["partner_scopes"] = token.scopes
    return client


def _require(request: Request[Any, Any, Any], scope: str) -> None:
    if scope not in request.scope.get("state", {}).get("partner_scopes", ()):
        raise Forbidden(N_("This client does not have the scope {scope}."), scope=scope)


async def _audited(
    request: Request[Any, Any, Any],
    *,
    db: DB,
    client: APIClient,
    action: str,
    scope: str,
    call: Callable[[], Awaitable[T]],
) -> T:
    try:
        _require(request, scope)
        result = await call()
    except DomainError as exc:
        async with runtime_of(request.app.state).transaction() as session:
            await record(
                session,
                actor=service.client_actor(client),
                action=f"partner.{action}.refused",
                object_type="api_client",
                object_id=client.id,
                detail={"status": exc.status_code, "path": request.url.path},
            )
        raise
    await record(
        db,
        actor=service.client_actor(client),
        action=f"partner.{action}",
        object_type="api_client",
        object_id=client.id,
        detail={"path": request.url.path},
    )
    return result


def resource_out(r: Resource) -> dict[str, Any]:
    return {
        "id": str(r.id),
        "kind": r.kind.value,
        "category": r.category,
        "title": r.title,
        "description": r.description,
        "unit": r.unit,
        "item_kind": r.item_kind,
        "item_kind_source": r.item_kind_source,
        "capacity": r.capacity,
        "remaining": r.remaining,
        "service_area": list(r.service_area),
        "state": r.state.value,
        "available_from": r.available_from.isoformat() if r.available_from else None,
        "available_until": r.available_until.isoformat() if r.available_until else None,
    }


def _need_out(row: dict[str, Any]) -> dict[str, Any]:
    out = dict(row)
    out["id"] = str(out["id"])
    out["urgency"] = str(out["urgency"].value)
    for key in ("deadline", "published_at"):
        out[key] = out[key].isoformat() if out[key] else None
    return out


class PartnerAPI(Controller):
    path = "/partner"
    tags = ["partner"]  # noqa: RUF012 - Litestar API
    dependencies = {"client": Provide(provide_client)}  # noqa: RUF012 - Litestar API

    @get(
        "/needs",
        summary="Published needs (public projection)",
        security=[{"partner": ["needs:read"]}],
    )
    async def needs(
        self,
        *,
        request: Request[Any, Any, Any],
        db: DB,
        client: NamedDependency[APIClient],
        category: OptionalQueryCode = None,
        page_no: Annotated[int, QueryParameter(name="page", ge=1, le=PAGE_MAX)] = 1,
        size: Annotated[int, QueryParameter(ge=1, le=100)] = 50,
    ) -> dict[str, Any]:
        pager = Page(number=page_no, size=size)

        async def call() -> dict[str, Any]:
            rows, total = await repo.published_needs(
                db, category=category, offset=pager.offset, limit=pager.size
            )
            return {
                "items": [_need_out(r) for r in rows],
                "page": pager.number,
                "size": pager.size,
                "total": total,
            }

        return await _audited(
            request, db=db, client=client, action="needs.listed", scope="needs:read", call=call
        )

    @get(
        "/resources",
        summary="The organization's own resources",
        security=[{"partner": ["resources:write"]}],
    )
    async def resources(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        client: NamedDependency[APIClient],
        page_no: Annotated[int, QueryParameter(name="page", ge=1, le=PAGE_MAX)] = 1,
    ) -> dict[str, Any]:
        pager = Page(number=page_no, size=50)

        async def call() -> dict[str, Any]:
            rows, total = await repo.resources_of(
                db, client.organization_id, offset=pager.offset, limit=pager.size
            )
            return {"items": [resource_out(r) for r in rows], "page": pager.number, "total": total}

        return await _audited(
            request,
            db=db,
            client=client,
            action="resources.listed",
            scope="resources:write",
            call=call,
        )

    @post("/resources", summary="Post a resource", security=[{"partner": ["resources:write"]}])
    async def create_resource(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        client: NamedDependency[APIClient],
        data: Annotated[dict[str, Any], Body(description="Resource fields, see docs/api.md")],
    ) -> dict[str, Any]:
        async def call() -> dict[str, Any]:
            return resource_out(await service.save_resource(db, client, data))

        return await _audited(
            request,
            db=db,
            client=client,
            action="resource.created",
            scope="resources:write",
            call=call,
        )

    @patch(
        "/resources/{resource_id:uuid}",
        summary="Update one of the organization's resources",
        security=[{"partner": ["resources:write"]}],
    )
    async def update_resource(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        client: NamedDependency[APIClient],
        resource_id: FromPath[uuid.UUID],
        data: Annotated[dict[str, Any], Body(description="Fields to change")],
    ) -> dict[str, Any]:
        async def call() -> dict[str, Any]:
            resource = await repo.resource_of(db, client.organization_id, resource_id)
            if resource is None:
                raise NotFound(N_("Resource not found."))
            return resource_out(await service.save_resource(db, client, data, resource=resource))

        return await _audited(
            request,
            db=db,
            client=client,
            action="resource.updated",
            scope="resources:write",
            call=call,
        )

    @post(
        "/deliveries",
        summary="Record a delivery for an open fulfilment",
        security=[{"partner": ["deliveries:write"]}],
    )
    async def create_delivery(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        client: NamedDependency[APIClient],
        data: Annotated[
            dict[str, Any], Body(description="fulfilment_id, delivered_on, quantity, description")
        ],
    ) -> dict[str, Any]:
        async def call() -> dict[str, Any]:
            d = await service.record_delivery(db, client, data)
            return {
                "id": str(d.id),
                "fulfilment_id": str(d.fulfilment_id),
                "delivered_on": d.delivered_on.isoformat(),
                "quantity": d.quantity,
                "state": d.state.value,
            }

        return await _audited(
            request,
            db=db,
            client=client,
            action="delivery.recorded",
            scope="deliveries:write",
            call=call,
        )


__all__ = ["SCOPES", "PartnerAPI", "token_endpoint"]
