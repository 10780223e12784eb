"""``create_app(settings)``: the FastAPI application behind `soloist serve`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from soloist import __version__
from soloist.api import (
    campaigns,
    consents,
    customers,
    experiments,
    feedback,
    imports,
    interactions,
    journeys,
    loyalty,
    model_runs,
    orders,
    recommendations,
    scores,
    segments,
    status,
)
from soloist.api import deals as deal_api
from soloist.api import privacy as privacy_api
from soloist.api import surveys as survey_api
from soloist.api import tasks as task_api
from soloist.api import tickets as ticket_api
from soloist.api import webhooks as webhook_api
from soloist.api.errors import install_error_handlers
from soloist.config import Settings
from soloist.domain.throttling import SignInThrottle, ThrottlePolicy
from soloist.storage.database import Database
from soloist.web import api_docs, auth, dashboard, mail_links
from soloist.web import campaigns as web_campaigns
from soloist.web import customers as web_customers
from soloist.web import deal_page as web_deal_page
from soloist.web import deals as web_deals
from soloist.web import experiments as web_experiments
from soloist.web import feedback as web_feedback
from soloist.web import imports as web_imports
from soloist.web import jobs as web_jobs
from soloist.web import journeys as web_journeys
from soloist.web import loyalty as web_loyalty
from soloist.web import models as web_models
from soloist.web import pipeline_settings as web_pipeline_settings
from soloist.web import privacy as web_privacy
from soloist.web import reports as web_reports
from soloist.web import segments as web_segments
from soloist.web import service_settings as web_service_settings
from soloist.web import settings as settings_pages
from soloist.web import surveys as web_surveys
from soloist.web import tasks as web_tasks
from soloist.web import ticket_thread as web_ticket_thread
from soloist.web import tickets as web_tickets
from soloist.web import two_step as web_two_step
from soloist.web import users as web_users
from soloist.web.errors import web_error_response
from soloist.web.headers import SecurityHeadersMiddleware
from soloist.web.rendering import STATIC_DIR

SESSION_COOKIE = "soloist_session"
SESSION_MAX_AGE = 14 * 24 * 3600


def worker_handlers() -> dict[str, Any]:
    """The worker's job kinds: the domain's own, and ``report``, which renders with the web
    layer's templates."""
    from soloist.domain.jobs import default_handlers
    from soloist.web.reports import report_job

    return {**default_handlers(), "report": report_job}


def create_app(
    settings: Settings,
    database: Database | None = None,
    *,
    run_worker: bool = False,
    on_stop: Callable[[], None] | None = None,
) -> FastAPI:
    """The API (and, when present, the web app) over one workspace's database; with
    ``run_worker``, a background worker runs jobs and schedules while the app runs.
    ``on_stop`` runs as the server shuts down (on Ctrl-C and on SIGTERM alike: uvicorn ends
    the process by re-raising the signal once the app has stopped)."""
    from soloist.domain.workspace import open_workspace

    db = database or open_workspace(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        background = None
        if run_worker:
            from soloist.domain.jobs import BackgroundWorker, Worker

            background = BackgroundWorker(Worker(db, handlers=worker_handlers()))
            background.start()
        try:
            yield
        finally:
            if background is not None:
                background.stop()
            if on_stop is not None:
                on_stop()

    app = FastAPI(
        lifespan=lifespan,
        docs_url=None,  # served by soloist.web.api_docs: vendored, behind sign-in, under the CSP
        redoc_url=None,
        title="Soloist",
        version=__version__,
        description="Customer success for one-person companies. "
        "Authenticate with `Authorization: Bearer <token>` (see `soloist token create`).",
    )
    app.state.settings = settings
    app.state.database = db
    app.state.sign_in_throttle = SignInThrottle(
        ThrottlePolicy(
            failures_per_account=settings.sign_in_failures_per_account,
            failures_per_address=settings.sign_in_failures_per_address,
            window_minutes=settings.sign_in_window_minutes,
        )
    )
    install_error_handlers(app, pages=web_error_response)
    # Signed with the keyring's session key; HttpOnly and SameSite=Lax. Secure only with the
    # setting secure_cookies: the app itself serves plain HTTP on 127.0.0.1, and a TLS proxy in
    # front (which makes the browser's side HTTPS) is what the setting is for.
    app.add_middleware(
        SessionMiddleware,
        secret_key=db.keyring.session_key.hex(),
        session_cookie=SESSION_COOKIE,
        max_age=SESSION_MAX_AGE,
        same_site="lax",
        https_only=settings.secure_cookies,
    )
    app.add_middleware(SecurityHeadersMiddleware)
    app.include_router(status.router)
    app.include_router(customers.router)
    app.include_router(consents.router)
    app.include_router(loyalty.router)
    for router in (
        privacy_api.router,
        scores.router,
        orders.router,
        interactions.router,
        feedback.router,
        ticket_api.router,
        survey_api.router,
        deal_api.router,
        task_api.router,
        segments.router,
        imports.router,
        webhook_api.router,
        campaigns.router,
        experiments.router,
        journeys.router,
        model_runs.router,
        recommendations.router,
    ):
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for page in (
        auth.router,
        api_docs.router,
        dashboard.router,
        web_customers.router,
        web_privacy.router,
        web_two_step.router,
        web_reports.router,
        web_segments.router,
        web_loyalty.router,
        web_imports.router,
        settings_pages.router,
        web_users.router,
        web_service_settings.router,
        web_tickets.router,
        web_ticket_thread.router,  # after the tickets: /tickets/new is no /tickets/{id}
        web_deals.router,  # before the deal page: /deals/new is no /deals/{id}
        web_deal_page.router,
        web_pipeline_settings.router,
        web_tasks.router,
        web_jobs.router,
        mail_links.router,
        web_surveys.router,
        web_experiments.router,  # before the campaigns: /campaigns/guide is no /campaigns/{id}
        web_campaigns.router,
        web_journeys.router,
        web_models.router,
        web_feedback.router,
    ):
        app.include_router(page)
    return app
