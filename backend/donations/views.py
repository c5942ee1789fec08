"""Donation pages: give, pledge, success/cancel, donor history and receipts, the public ledger,
and the organization's side (confirm pledges, disbursements with four eyes, adjustments)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State, UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, FromQuery, QueryParameter
from litestar.response import Redirect, Stream, Template

from backend.accounts.identity import CurrentUser
from backend.core.csvexport import csv_response, csv_stream, header, yuan
from backend.core.errors import DomainError, NotFound
from backend.core.http import DB, Form, form_error
from backend.core.i18n import N_, get_translations
from backend.core.pagination import Page
from backend.core.runtime import runtime_of
from backend.core.security import current_locale, login_required, require_user, user_of
from backend.core.templating import local_datetime, page
from backend.donations import repository as repo
from backend.donations import service
from backend.donations.models import (
    DisbursementState,
    Donation,
    DonationChannel,
    DonationState,
    EntryType,
)
from backend.donations.receipts import render_receipt_pdf
from backend.donations.storage import receipt_storage
from backend.donations.tasks import provider_of
from backend.projects.models import Project

Multipart = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.MULTI_PART)]

# The ledger export's columns (translated into its header row; docs/operations.md, "CSV exports").
LEDGER_COLUMNS = (
    N_("Booked at"),
    N_("Type"),
    N_("Amount (yuan)"),
    N_("Balance after (yuan)"),
    N_("Donor"),
    N_("Purpose or reason"),
    N_("Receipt"),
)
ENTRY_LABELS = {
    EntryType.DONATION: N_("Donation"),
    EntryType.REFUND: N_("Refund"),
    EntryType.DISBURSEMENT: N_("Disbursement"),
    EntryType.ADJUSTMENT: N_("Adjustment"),
    EntryType.DISPUTE: N_("Payment dispute"),
}


def _form_context(
    project: Project, options: service.DonationOptions, **extra: Any
) -> dict[str, Any]:
    return {
        "project": project,
        "presets": service.PRESETS_FEN,
        "online": options.online,
        "account": options.account,
        "blocked": options.blocked,
        "submission": str(uuid.uuid4()),
        **extra,
    }


async def _options(state: State, db: DB, project: Project) -> service.DonationOptions:
    return await service.donation_options(db, project, provider_of(runtime_of(state)))


class DonationViews(Controller):
    include_in_schema = False

    # --- giving -------------------------------------------------------------------------

    @get("/projects/{project_id:uuid}/donate", name="donate")
    async def donate_form(
        self, request: Request[Any, Any, Any], state: State, db: DB, project_id: FromPath[uuid.UUID]
    ) -> Template:
        project = await service.visible_project(db, project_id)
        options = await _options(state, db, project)
        return page(
            request,
            "donations/donate.html",
            status_code=409 if options.blocked else 200,
            form={"amount": "100"},
            **_form_context(project, options),
        )

    @post("/projects/{project_id:uuid}/donate", guards=[login_required])
    async def donate(
        self,
        request: Request[Any, Any, Any],
        state: State,
        db: DB,
        project_id: FromPath[uuid.UUID],
        data: Form,
    ) -> Template | Redirect:
        user = require_user(request)
        project = await service.visible_project(db, project_id)
        channel = (
            DonationChannel.STRIPE if data.get("channel") == "stripe" else DonationChannel.OFFLINE
        )
        try:
            amount = service.parse_yuan(data.get("custom_amount") or data.get("amount") or "")
            donation, url = await service.start_donation(
                db,
                user,
                project_id=project.id,
                amount_fen=amount,
                anonymous=data.get("anonymous") == "on",
                message=data.get("message", ""),
                channel=channel,
                submission=data.get("submission", ""),
                provider=provider_of(runtime_of(state)),
                settings=runtime_of(state).settings,
                locale=current_locale.get(),
            )
        except DomainError as exc:
            if exc.status_code == 404:
                raise
            return form_error(
                request,
                "donations/donate.html",
                exc,
                form=data,
                **_form_context(project, await _options(state, db, project)),
            )
        if url:
            return Redirect(url, status_code=303)
        return Redirect(f"/donations/{donation.id}?new=1", status_code=303)

    @get("/donations/{donation_id:uuid}", guards=[login_required])
    async def detail(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        donation_id: FromPath[uuid.UUID],
        new: FromQuery[str | None] = None,
        cancelled: FromQuery[str | None] = None,
    ) -> Template:
        donation, project = await service.donation_for(db, require_user(request), donation_id)
        return page(
            request,
            "donations/detail.html",
            fragment="donations/_status.html",
            **await _detail_context(db, donation, project),
            new=bool(new),
            cancelled=bool(cancelled),
        )

    @post("/donations/{donation_id:uuid}/cancel-pledge", guards=[login_required])
    async def cancel_pledge(
        self, request: Request[Any, Any, Any], db: DB, donation_id: FromPath[uuid.UUID]
    ) -> Template | Redirect:
        user = require_user(request)
        donation, project = await service.donation_for(db, user, donation_id)
        try:
            await service.cancel_pledge(db, user, donation_id)
        except DomainError as exc:
            if exc.status_code == 404:
                raise
            return form_error(
                request,
                "donations/detail.html",
                exc,
                **await _detail_context(db, donation, project),
                new=False,
                cancelled=False,
            )
        return Redirect(f"/donations/{donation_id}?cancelled=1", status_code=303)

    @get("/donations/{donation_id:uuid}/success", guards=[login_required])
    async def success(
        self, request: Request[Any, Any, Any], db: DB, donation_id: FromPath[uuid.UUID]
    ) -> Template:
        donation, project = await service.donation_for(db, require_user(request), donation_id)
        return page(
            request,
            "donations/success.html",
            fragment="donations/_status.html",
            donation=donation,
            project=project,
            reference_code=_code(donation.id),
        )

    @get("/donations/{donation_id:uuid}/cancel", guards=[login_required])
    async def cancel(
        self, request: Request[Any, Any, Any], db: DB, donation_id: FromPath[uuid.UUID]
    ) -> Template:
        donation, project = await service.donation_for(db, require_user(request), donation_id)
        return page(request, "donations/cancel.html", donation=donation, project=project)

    @get("/donations/{donation_id:uuid}/receipt.pdf", guards=[login_required])
    async def receipt(
        self, request: Request[Any, Any, Any], db: DB, donation_id: FromPath[uuid.UUID]
    ) -> Response[bytes]:
        user = require_user(request)
        donation, project = await service.donation_for(db, user, donation_id)
        if donation.donor_id != user.id or donation.state not in {
            DonationState.PAID,
            DonationState.REFUNDED,
            DonationState.DISPUTED,
        }:
            raise NotFound(N_("There is no receipt for this donation yet."))
        org = await repo.organization(db, project.organization_id)
        entry = await repo.credit_entry(db, donation.id)
        engine = request.app.template_engine
        assert engine is not None
        html = engine.get_template("donations/receipt_pdf.html").render(
            donation=donation,
            project=project,
            organization=org,
            entry=entry,
            donor=user,
            reference_code=_code(donation.id),
            locale=current_locale.get(),
        )
        pdf = await asyncio.to_thread(render_receipt_pdf, html)
        return Response(
            pdf,
            media_type="application/pdf",
            headers={
                "content-disposition": (
                    f'attachment; filename="tongxin-receipt-{_code(donation.id)}.pdf"'
                ),
                "cache-control": "private, no-store",
            },
        )

    @get("/me/donations", guards=[login_required])
    async def mine(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        page_no: Annotated[int, QueryParameter(name="page", ge=1)] = 1,
    ) -> Template:
        pager = Page(number=page_no, size=20)
        rows, total = await repo.donations_of(
            db, require_user(request).id, offset=pager.offset, limit=pager.size
        )
        return page(
            request,
            "donations/mine.html",
            fragment="donations/_mine.html",
            rows=rows,
            pager=pager.with_total(total),
        )

    # --- the public ledger ----------------------------------------------------------------

    @get("/projects/{project_id:uuid}/ledger", name="ledger")
    async def ledger(
        self,
        request: Request[Any, Any, Any],
        state: State,
        db: DB,
        project_id: FromPath[uuid.UUID],
        page_no: Annotated[int, QueryParameter(name="page", ge=1)] = 1,
    ) -> Template:
        project = await service.visible_project(db, project_id)
        pager = Page(number=page_no, size=30)
        rows, total = await repo.entries(db, project.id, offset=pager.offset, limit=pager.size)
        return page(
            request,
            "donations/ledger.html",
            fragment="donations/_entries.html",
            project=project,
            organization=await repo.organization(db, project.organization_id),
            totals=await repo.totals(db, project.id),
            rows=rows,
            pager=pager.with_total(total),
            disbursements=await repo.public_disbursements(db, project.id),
            public_name=service.public_name,
            entry_labels=ENTRY_LABELS,
            blocked=(await _options(state, db, project)).blocked,
            is_member=service.is_member(user_of(request), project),
        )

    @get("/projects/{project_id:uuid}/ledger.csv")
    async def ledger_csv(self, state: State, db: DB, project_id: FromPath[uuid.UUID]) -> Stream:
        project = await service.visible_project(db, project_id)
        rows, _ = await repo.entries(db, project.id, limit=None)
        locale = current_locale.get()
        translations = get_translations(locale)
        base = runtime_of(state).settings.base_url.rstrip("/")

        def lines() -> Iterator[list[str]]:
            for entry, donation, disbursement in reversed(rows):
                name = (
                    service.public_name(donation)
                    if entry.entry_type == EntryType.DONATION
                    else None
                )
                reason = (
                    entry.reason
                    if entry.entry_type in {EntryType.DISBURSEMENT, EntryType.ADJUSTMENT}
                    else ""
                )
                receipt = (
                    f"{base}/donations/disbursements/{disbursement.id}/receipt"
                    if disbursement
                    else ""
                )
                yield [
                    local_datetime(entry.created_at, "%Y-%m-%d %H:%M"),
                    translations.gettext(ENTRY_LABELS[entry.entry_type]),
                    yuan(entry.amount_fen),
                    yuan(entry.balance_after_fen),
                    name or "",
                    reason,
                    receipt,
                ]

        return csv_response(
            f"ledger-{project.id}.csv", csv_stream(header(LEDGER_COLUMNS, locale), lines())
        )

    @get("/donations/disbursements/{disbursement_id:uuid}/receipt")
    async def disbursement_receipt(
        self,
        request: Request[Any, Any, Any],
        state: State,
        db: DB,
        disbursement_id: FromPath[uuid.UUID],
    ) -> Response[bytes]:
        disbursement = await service.disbursement_receipt(db, user_of(request), disbursement_id)
        content, media_type = receipt_storage(runtime_of(state).services).load(
            disbursement.receipt_path
        )
        return Response(
            content,
            media_type=media_type,
            headers={"content-disposition": "inline", "x-content-type-options": "nosniff"},
        )

    # --- the organization's side ------------------------------------------------------------

    @get("/donations/manage", guards=[login_required])
    async def manage_index(self, request: Request[Any, Any, Any], db: DB) -> Template:
        user = require_user(request)
        rows = await repo.projects_of_orgs(db, user.approved_org_ids())
        return page(request, "donations/manage_index.html", rows=rows)

    @get("/donations/manage/{project_id:uuid}", guards=[login_required])
    async def manage(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        project_id: FromPath[uuid.UUID],
        done: FromQuery[str | None] = None,
    ) -> Template:
        user = require_user(request)
        project = await service.managed_project(db, user, project_id)
        return page(
            request, "donations/manage.html", **await _manage_context(db, user, project), done=done
        )

    @post("/donations/{donation_id:uuid}/confirm", guards=[login_required])
    async def confirm(
        self, request: Request[Any, Any, Any], db: DB, donation_id: FromPath[uuid.UUID], data: Form
    ) -> Template | Redirect:
        user = require_user(request)
        donation, project = await service.donation_for(db, user, donation_id)
        try:
            await service.confirm_pledge(db, user, donation_id, reference=data.get("reference", ""))
        except DomainError as exc:
            if exc.status_code == 404:
                raise
            return form_error(
                request,
                "donations/manage.html",
                exc,
                **await _manage_context(db, user, project),
                form=data,
                failed_id=donation.id,
            )
        return Redirect(f"/donations/manage/{project.id}?done=confirmed", status_code=303)

    @post("/donations/manage/{project_id:uuid}/disbursements", guards=[login_required])
    async def request_disbursement(
        self,
        request: Request[Any, Any, Any],
        state: State,
        db: DB,
        project_id: FromPath[uuid.UUID],
        data: Multipart,
    ) -> Template | Redirect:
        user = require_user(request)
        project = await service.managed_project(db, user, project_id)
        upload = data.get("receipt")
        try:
            amount = service.parse_yuan(str(data.get("amount", "")))
            content, content_type = b"", ""
            if isinstance(upload, UploadFile):
                content, content_type = await upload.read(), upload.content_type
            await service.request_disbursement(
                db,
                user,
                project.id,
                amount_fen=amount,
                purpose=str(data.get("purpose", "")),
                receipt=content,
                content_type=content_type,
                storage=receipt_storage(runtime_of(state).services),
            )
        except DomainError as exc:
            form = {k: v for k, v in data.items() if isinstance(v, str)}
            return form_error(
                request,
                "donations/manage.html",
                exc,
                **await _manage_context(db, user, project),
                form=form,
            )
        return Redirect(f"/donations/manage/{project.id}?done=requested", status_code=303)

    @post("/donations/disbursements/{disbursement_id:uuid}/decide", guards=[login_required])
    async def decide(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        disbursement_id: FromPath[uuid.UUID],
        data: Form,
    ) -> Template | Redirect:
        user = require_user(request)
        try:
            disbursement = await service.decide_disbursement(
                db, user, disbursement_id, approve=data.get("decision") == "approve"
            )
        except DomainError as exc:
            if exc.status_code == 404:
                raise
            project = await service.project_of_disbursement(db, user, disbursement_id)
            return form_error(
                request,
                "donations/manage.html",
                exc,
                **await _manage_context(db, user, project),
                form={},
            )
        return Redirect(
            f"/donations/manage/{disbursement.project_id}?done={disbursement.state.value}",
            status_code=303,
        )

    @post("/donations/manage/{project_id:uuid}/adjustments", guards=[login_required])
    async def adjust(
        self, request: Request[Any, Any, Any], db: DB, project_id: FromPath[uuid.UUID], data: Form
    ) -> Template | Redirect:
        user = require_user(request)
        project = await service.managed_project(db, user, project_id)
        try:
            raw = data.get("amount", "").strip()
            negative = raw.startswith("-") or data.get("direction") == "out"
            amount = service.parse_yuan(raw.lstrip("-+"))
            await service.book_adjustment(
                db,
                user,
                project.id,
                amount_fen=-amount if negative else amount,
                reason=data.get("reason", ""),
            )
        except DomainError as exc:
            return form_error(
                request,
                "donations/manage.html",
                exc,
                **await _manage_context(db, user, project),
                form=data,
            )
        return Redirect(f"/donations/manage/{project.id}?done=adjusted", status_code=303)


async def _manage_context(db: DB, user: CurrentUser, project: Project) -> dict[str, Any]:
    rows, _ = await repo.entries(db, project.id, limit=20)
    return {
        "project": project,
        "pledges": await repo.pending_pledges(db, project.id),
        "requests": await repo.disbursements(db, project.id, state=DisbursementState.REQUESTED),
        "totals": await repo.totals(db, project.id),
        "rows": rows,
        "user": user,
        "is_org_admin": user.org_role(project.organization_id) is not None
        and user.org_role(project.organization_id).value == "admin",  # type: ignore[union-attr]
        "entry_labels": ENTRY_LABELS,
        "public_name": service.public_name,
        "code": _code,
        "bank_account": await service.bank_account(db, project.organization_id),
    }


async def _detail_context(db: DB, donation: Donation, project: Project) -> dict[str, Any]:
    """The donation page: its state, and for a pledge waiting for the transfer the verified
    account it goes to (the only page that shows the full number) and the reference to quote."""
    waiting = (
        donation.channel == DonationChannel.OFFLINE and donation.state == DonationState.PENDING
    )
    account = await service.donation_account(db, project.organization_id) if waiting else None
    return {
        "donation": donation,
        "project": project,
        "reference_code": _code(donation.id),
        "account": account,
        "account_number": service.group_account_number(account.account_number) if account else "",
        "amount_yuan": yuan(donation.amount_fen),
    }


def _code(donation_id: uuid.UUID) -> str:
    """A short reference the donor writes on the bank transfer (no personal data)."""
    return "TX-" + donation_id.hex[:8].upper()
