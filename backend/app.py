"""The Litestar application factory."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar, Router
from litestar.config.csrf import CSRFConfig
from litestar.di import Provide
from litestar.exceptions import HTTPException
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, OAuthFlow, OAuthFlows, SecurityScheme
from litestar.static_files import create_static_files_router
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm.exc import StaleDataError

from backend.config import Settings, get_settings
from backend.core.errors import DomainError
from backend.core.guard import InputGuardMiddleware
from backend.core.headers import make_security_headers
from backend.core.http import (
    handle_data_error,
    handle_domain_error,
    handle_http_exception,
    handle_stale,
    handle_unexpected,
    outcome_middleware,
    provide_db,
    record_outcome,
)
from backend.core.keys import get_keys
from backend.core.openapi import VendoredSwaggerPlugin, document_errors
from backend.core.runtime import Runtime
from backend.core.security import SessionAuthMiddleware
from backend.core.templating import TEMPLATES_DIR, template_config
from backend.models import load_all_models
from backend.routes import api_handlers, web_handlers
from backend.web.cache import install as install_page_cache

log = logging.getLogger("tongxin")

PUBLIC_PATHS = {"/static", "/healthz", "/schema"}


def _form_origins(settings: Settings) -> tuple[str, ...]:
    """Origins a form POST may redirect to: the OpenID providers and Stripe Checkout."""
    from urllib.parse import urlsplit

    origins = []
    for provider in settings.oidc_providers:
        parts = urlsplit(provider.issuer)
        if parts.scheme and parts.netloc:
            origins.append(f"{parts.scheme}://{parts.netloc}")
    if settings.stripe_enabled:
        origins.append("https://checkout.stripe.com")
    return tuple(dict.fromkeys(origins))


def create_app(
    settings: Settings | None = None,
    *,
    database_url: str | None = None,
    redis_url: str | None = None,
    runtime: Runtime | None = None,
    start_worker: bool | None = None,
    queue_name: str | None = None,
    extra_handlers: Sequence[Any] = (),
) -> Litestar:
    """Build the app. ``runtime`` is passed by tests; otherwise it is started in the lifespan."""
    settings = settings or get_settings()
    load_all_models()  # the same complete metadata as the CLI, the worker and Alembic
    keys = get_keys()

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        own = runtime is None
        rt = runtime
        if rt is None:
            db_url = database_url or settings.database_url
            rd_url = redis_url or settings.redis_url
            if not db_url or not rd_url:
                raise RuntimeError(
                    "create_app needs a database and a Redis URL (tongxin run starts embedded ones)"
                )
            rt = await Runtime.start(
                settings,
                database_url=db_url,
                redis_url=rd_url,
                queue_name=queue_name or settings.queue_name,
            )
        app.state.runtime = rt
        worker_task = None
        worker = None
        run_worker = settings.run_worker_in_process if start_worker is None else start_worker
        if run_worker:
            from jobs.worker import run_in_process

            worker, worker_task = await run_in_process(rt)
        try:
            yield
        finally:
            if worker is not None and worker_task is not None:
                await worker.close()
                worker_task.cancel()
            if own:
                await rt.close()

    csrf = CSRFConfig(
        secret=keys.session.hex(),
        cookie_name="tx_csrf",
        cookie_secure=settings.cookies_secure,
        cookie_samesite="lax",
        header_name="x-csrftoken",
        exclude=["/webhooks", "/oauth", "/api/v1/partner", "/healthz"],
    )
    static = create_static_files_router(
        path="/static", directories=[TEMPLATES_DIR / "static"], include_in_schema=False
    )
    exception_handlers: dict[Any, Callable[..., Any]] = {
        DomainError: handle_domain_error,
        HTTPException: handle_http_exception,
        StaleDataError: handle_stale,
        DBAPIError: handle_data_error,
        Exception: handle_unexpected,
    }
    app = Litestar(
        route_handlers=[
            static,
            *web_handlers(),
            Router(path="/api/v1", route_handlers=api_handlers(), tags=["api"]),
            *extra_handlers,
        ],
        dependencies={"db": Provide(provide_db)},
        after_request=record_outcome,
        middleware=[
            outcome_middleware,
            InputGuardMiddleware(),
            DefineMiddleware(SessionAuthMiddleware, exclude=["^/static", "^/healthz$", "^/schema"]),
        ],
        csrf_config=csrf,
        before_send=[
            make_security_headers(
                https=settings.base_url.startswith("https://"), form_origins=_form_origins(settings)
            )
        ],
        template_config=template_config(),
        exception_handlers=exception_handlers,
        lifespan=[lifespan],
        openapi_config=OpenAPIConfig(
            title="Tongxin (同心) API",
            version="1",
            path="/schema",
            render_plugins=[VendoredSwaggerPlugin()],
            components=Components(
                security_schemes={
                    "session": SecurityScheme(
                        type="apiKey",
                        name="tx_session",
                        security_scheme_in="cookie",
                        description="Browser session cookie (sign in at /signin).",
                    ),
                    "partner": SecurityScheme(
                        type="oauth2",
                        description="Partner systems: OAuth2 client credentials "
                        "(see docs/api.md). Bearer JWT from /oauth/token, valid 10 minutes.",
                        flows=OAuthFlows(
                            client_credentials=OAuthFlow(
                                token_url="/oauth/token",  # noqa: S106 - a URL, not a password
                                scopes={
                                    "needs:read": "Read published needs (public projection)",
                                    "resources:write": "Post and update the organization's resources",
                                    "deliveries:write": "Record deliveries for the org's claims",
                                },
                            )
                        ),
                    ),
                }
            ),
        ),
        debug=False,
    )
    document_errors(app)
    install_page_cache(app, csrf)  # in front of the router: hits skip routing and middleware
    return app


def app_from_env() -> Litestar:
    """The app from the environment's settings: ``tongxin run --workers N`` hands this factory
    to uvicorn, which builds one app per worker process (``--factory``)."""
    return create_app(get_settings())
