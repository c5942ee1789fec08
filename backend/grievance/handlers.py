"""Outbox subscribers of ``report.*``: in-app notifications to the handlers, the reporter and
the author of hidden text. Parameters hold public values only: the tracking code and the
subject's public title; never the report's text or the reporter's contact."""

from __future__ import annotations

from backend.core.events import HandlerContext, subscribe
from backend.core.i18n import N_
from backend.grievance import repository as repo
from backend.grievance.models import ReportType, Route
from backend.grievance.service import display_code
from backend.notifications.messages import MESSAGES
from backend.notifications.service import notify
from backend.outbox.models import OutboxEvent

MESSAGES.update(
    {
        "report.received": N_("A new report {code} about “{title}” is waiting for you."),
        "report.held": N_(
            "Text of yours (“{title}”) was reported as showing personal data and is hidden "
            "until it is reviewed. Please check it and remove any personal data."
        ),
        "report.moved": N_("Your report {code} has a new stage. Open it to read the answer."),
        "report.escalated": N_(
            "The report {code} about “{title}” is past its deadline and was escalated to you."
        ),
        "report.donations_paused": N_(
            "Donations to your project “{title}” are paused while a report is reviewed."
        ),
        "report.donations_resumed": N_("Donations to your project “{title}” are open again."),
    }
)


@subscribe("report.*")
async def notify_report(ctx: HandlerContext, event: OutboxEvent) -> None:
    session = ctx.session
    report = await repo.get(session, event.aggregate_id)
    if report is None:
        return
    params: dict[str, object] = {
        "code": display_code(report.tracking_code),
        "title": report.subject_title,
    }
    handler_link = f"/reports/{report.id}"
    if event.topic == "report.received":
        users = set(await repo.handler_ids(session, report.route, report.region_code))
        if report.route == Route.ADMIN and report.region_code and report.type == ReportType.FRAUD:
            users |= set(await repo.handler_ids(session, Route.COORDINATORS, report.region_code))
        for user_id in sorted(users):
            await notify(
                session,
                event_id=event.id,
                kind=event.topic,
                user_id=user_id,
                params=params,
                link=handler_link,
            )
    elif event.topic == "report.escalated":
        users = {
            *await repo.handler_ids(session, report.route, report.region_code),
            *await repo.admin_ids(session),
        }
        if report.region_code:
            users |= set(await repo.handler_ids(session, Route.COORDINATORS, report.region_code))
        for user_id in sorted(users):
            await notify(
                session,
                event_id=event.id,
                kind=event.topic,
                user_id=user_id,
                params=params,
                link=handler_link,
            )
    elif event.topic == "report.moved" and report.reporter_user_id is not None:
        await notify(
            session,
            event_id=event.id,
            kind=event.topic,
            user_id=report.reporter_user_id,
            params=params,
            link=f"/report/track/{report.tracking_code}",
        )
    elif (
        event.topic
        in (
            "report.held",
            "report.donations_paused",
            "report.donations_resumed",
        )
        and report.subject_id is not None
    ):
        subject = await repo.subject(session, report.subject_type, report.subject_id)
        if subject is not None and subject.organization_id is not None:
            await notify(
                session,
                event_id=event.id,
                kind=event.topic,
                organization_id=subject.organization_id,
                params=params,
                link="/org",
            )
