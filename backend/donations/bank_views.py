"""Bank accounts for offline donations: the organization records its account, a platform
administrator checks it where organizations are reviewed (``/admin/organizations``)."""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template

from backend.accounts.models import Role
from backend.core.errors import DomainError
from backend.core.http import DB, Form, form_error
from backend.core.security import login_required, require_user, roles_required
from backend.core.templating import page
from backend.donations import service
from backend.donations.models import BankAccountState
from backend.organizations import service as organizations
from backend.organizations.scope import require_member

MASK = service.mask_account_number


class BankAccountViews(Controller):
    include_in_schema = False

    @get("/org/{org_id:uuid}/bank-account", guards=[login_required])
    async def form(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        org_id: FromPath[uuid.UUID],
        saved: FromQuery[str | None] = None,
    ) -> Template:
        user = require_user(request)
        role = require_member(user, org_id)
        return page(
            request,
            "donations/bank_account.html",
            **await _org_context(db, org_id),
            is_admin=role.value == "admin",
            saved=bool(saved),
        )

    @post("/org/{org_id:uuid}/bank-account", guards=[login_required])
    async def submit(
        self, request: Request[Any, Any, Any], db: DB, org_id: FromPath[uuid.UUID], data: Form
    ) -> Template | Redirect:
        user = require_user(request)
        require_member(user, org_id)
        try:
            await service.submit_bank_account(
                db,
                user,
                org_id,
                account_name=data.get("account_name", ""),
                bank_name=data.get("bank_name", ""),
                account_number=data.get("account_number", ""),
            )
        except DomainError as exc:
            if exc.status_code == 404:
                raise
            return form_error(
                request,
                "donations/bank_account.html",
                exc,
                form=data,
                **await _org_context(db, org_id),
                is_admin=True,
                saved=False,
            )
        return Redirect(f"/org/{org_id}/bank-account?saved=1", status_code=303)

    @get("/admin/organizations/bank-accounts", guards=[roles_required(Role.ADMIN)])
    async def review_list(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        done: FromQuery[str | None] = None,
    ) -> Template:
        return page(
            request, "donations/bank_review.html", **await _review_context(db), done=done or ""
        )

    @post(
        "/admin/organizations/bank-accounts/{account_id:uuid}/review",
        guards=[roles_required(Role.ADMIN)],
    )
    async def review(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        account_id: FromPath[uuid.UUID],
        data: Form,
    ) -> Template | Redirect:
        try:
            version = int(data.get("version", "0") or 0)
        except ValueError:
            version = 0
        try:
            account = await service.review_bank_account(
                db,
                require_user(request),
                account_id,
                version=version,
                approve=data.get("decision") == "verify",
                note=data.get("note", ""),
            )
        except DomainError as exc:
            if exc.status_code == 404:
                raise
            return form_error(
                request,
                "donations/bank_review.html",
                exc,
                form=data,
                **await _review_context(db),
                done="",
                failed_id=account_id,
            )
        return Redirect(
            f"/admin/organizations/bank-accounts?done={account.state.value}", status_code=303
        )


async def _org_context(db: DB, org_id: uuid.UUID) -> dict[str, Any]:
    org = await organizations.organization_or_404(db, org_id)
    account = await service.bank_account(db, org_id)
    return {
        "org": org,
        "account": account,
        "masked": MASK(account.account_number) if account else "",
    }


async def _review_context(db: DB) -> dict[str, Any]:
    return {
        "waiting": await service.waiting_bank_accounts(db),
        "grouped": service.group_account_number,
        "states": BankAccountState,
    }
