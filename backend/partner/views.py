"""Pages where an organization's administrator creates and revokes its API clients."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from backend.core.errors import DomainError
from backend.core.http import DB, form_error
from backend.core.security import login_required, require_user
from backend.core.templating import page
from backend.partner import repository as repo
from backend.partner import service
from backend.partner.tokens import SCOPES, TOKEN_TTL


async def _context(db: DB, request: Request[Any, Any, Any], org_id: uuid.UUID) -> dict[str, Any]:
    org = await service.organization_for(db, require_user(request), org_id)
    return {
        "org": org,
        "clients": await repo.clients_of(db, org_id),
        "scopes": SCOPES,
        "token_minutes": TOKEN_TTL // 60,
    }


class PartnerClientViews(Controller):
    path = "/organizations/{org_id:uuid}/api-clients"
    include_in_schema = False
    guards = [login_required]  # noqa: RUF012 - Litestar API

    @get("/", name="partner_clients")
    async def list_clients(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        org_id: FromPath[uuid.UUID],
        revoked: FromQuery[str | None] = None,
    ) -> Template:
        return page(
            request,
            "partner/clients.html",
            form={},
            revoked=revoked,
            **await _context(db, request, org_id),
        )

    @post("/")
    async def create(
        self, request: Request[Any, Any, Any], db: DB, org_id: FromPath[uuid.UUID]
    ) -> Template:
        form = await request.form()
        name = str(form.get("name", ""))
        scopes = [str(s) for s in form.getall("scopes")] if "scopes" in form else []
        try:
            client, secret = await service.create_client(
                db, require_user(request), org_id, name=name, scopes=scopes
            )
        except DomainError as exc:
            if exc.status_code in (403, 404):
                raise
            return form_error(
                request,
                "partner/clients.html",
                exc,
                form={"name": name, "scopes": scopes},
                **await _context(db, request, org_id),
            )
        return page(
            request,
            "partner/clients.html",
            status_code=201,
            form={},
            created=client,
            secret=secret,
            **await _context(db, request, org_id),
        )

    @post("/{client_uuid:uuid}/revoke")
    async def revoke(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        org_id: FromPath[uuid.UUID],
        client_uuid: FromPath[uuid.UUID],
    ) -> Redirect:
        await service.revoke_client(db, require_user(request), org_id, client_uuid)
        return Redirect(f"/organizations/{org_id}/api-clients?revoked=1", status_code=303)
