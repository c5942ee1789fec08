"""Item kind pages: the form helper that proposes a kind from a typed title (htmx), the county
extensions a coordinator keeps, and the caseworker's list of needs whose kind is unsure."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.params import FromPath, QueryParameter
from litestar.response import Redirect, Template

from backend.accounts.models import Role
from backend.core.errors import Conflict, Invalid
from backend.core.http import DB, Form
from backend.core.security import current_locale, login_required, require_user, roles_required
from backend.core.templating import page, translate
from backend.items import repository as repo
from backend.items import service
from backend.needs.repository import categories as need_categories

Text = Annotated[str, QueryParameter(required=False, max_length=200)]


def _kind_options(taxonomy: Any, category: str, locale: str) -> list[tuple[str, str]]:
    kinds = taxonomy.in_category(category) if category else []
    return sorted(((k.code, k.name(locale)) for k in kinds), key=lambda o: o[1])


class ItemViews(Controller):
    path = "/items"
    include_in_schema = False

    @get("/suggest", guards=[login_required], name="items_suggest")
    async def suggest(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        *,
        title: Text = "",
        category: Text = "",
        unit: Text = "",
        item_kind: Text = "",
        kind_region: Text = "",
    ) -> Template:
        """The item kind select for a form, the kind proposed from the title pre-selected."""
        locale = current_locale.get()
        taxonomy = await service.taxonomy_for_region(db, kind_region or None)
        inference = service.infer(taxonomy, category, title) if category and title else None
        chosen = item_kind if item_kind in taxonomy else ""
        selected = chosen or (inference.kind if inference else "") or ""
        kind = taxonomy.get(selected)
        unit_hint = (inference.unit if inference and inference.unit else "") or (
            kind.default_unit if kind else ""
        )
        return page(
            request,
            "items/_kind_field.html",
            kinds=_kind_options(taxonomy, category, locale),
            selected=selected,
            inference=inference,
            kind_label=service.kind_name(taxonomy, inference.kind if inference else None, locale),
            unit_hint=unit_hint,
            fill_unit=not unit.strip() and bool(unit_hint),
        )


class CountyKindViews(Controller):
    """A coordinator adds item kinds for a county of theirs (shared kinds stay as they are)."""

    path = "/coordination/item-kinds"
    include_in_schema = False
    guards = [roles_required(Role.COORDINATOR)]  # noqa: RUF012 - Litestar API

    async def _page(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        *,
        status_code: int = 200,
        error: str | None = None,
        fields: dict[str, str] | None = None,
        form: dict[str, str] | None = None,
        done: str | None = None,
    ) -> Template:
        user = require_user(request)
        scope = None if user.is_admin else list(user.region_paths(Role.COORDINATOR))
        counties = list(await repo.counties(db, scope))
        locale = current_locale.get()
        rows = {c.code: list(await repo.county_kinds(db, c.code)) for c in counties}
        return page(
            request,
            "items/county_kinds.html",
            status_code=status_code,
            counties=counties,
            rows=rows,
            categories=await need_categories(db),
            error=error,
            fields=fields or {},
            form=form or {},
            done=done,
            locale=locale,
        )

    @get("/", name="coordination_item_kinds")
    async def index(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        done: Annotated[str, QueryParameter(required=False, max_length=20)] = "",
    ) -> Template:
        return await self._page(request, db, done=done or None)

    @post("/")
    async def add(self, request: Request[Any, Any, Any], db: DB, data: Form) -> Template | Redirect:
        try:
            await service.add_county_kind(
                db,
                require_user(request),
                service.KindInput(
                    county_code=data.get("county_code", ""),
                    category=data.get("category", ""),
                    code=data.get("code", ""),
                    name_zh=data.get("name_zh", ""),
                    name_en=data.get("name_en", ""),
                    synonyms=data.get("synonyms", ""),
                    units=data.get("units", ""),
                    substitutes=data.get("substitutes", ""),
                ),
            )
        except Invalid as exc:
            return await self._page(
                request,
                db,
                status_code=422,
                error=translate(exc.message, **exc.params),
                fields=dict(exc.fields),
                form=data,
            )
        return Redirect("/coordination/item-kinds?done=added", status_code=303)


class KindConfirmViews(Controller):
    """A caseworker confirms the item kind of needs where inference was not sure."""

    path = "/casework/item-kinds"
    include_in_schema = False
    guards = [roles_required(Role.CASEWORKER)]  # noqa: RUF012 - Litestar API

    @get("/", name="casework_item_kinds")
    async def index(
        self,
        request: Request[Any, Any, Any],
        db: DB,
        done: Annotated[str, QueryParameter(required=False, max_length=20)] = "",
    ) -> Template:
        user = require_user(request)
        scope = list(user.region_paths(Role.CASEWORKER))
        needs = list(await repo.unsure_needs(db, scope))
        locale = current_locale.get()
        options: dict[uuid.UUID, list[tuple[str, str]]] = {}
        for need in needs:
            taxonomy = await service.taxonomy_for_region(db, need.region_code)
            options[need.id] = _kind_options(taxonomy, need.category, locale)
        return page(
            request,
            "items/confirm.html",
            needs=needs,
            options=options,
            done=done or None,
        )

    @post("/{need_id:uuid}")
    async def confirm(
        self, request: Request[Any, Any, Any], db: DB, need_id: FromPath[uuid.UUID], data: Form
    ) -> Redirect:
        try:
            await service.confirm_need_kind(
                db, require_user(request), need_id, data.get("item_kind", ""), data.get("unit", "")
            )
        except (Invalid, Conflict):
            return Redirect("/casework/item-kinds?done=error", status_code=303)
        return Redirect("/casework/item-kinds?done=confirmed", status_code=303)
