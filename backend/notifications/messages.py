"""Every notification text, by catalogue event (``{name}`` parameters hold public values only:
needs by their public title, organizations, projects and tasks by name; households never)."""

from __future__ import annotations

import re

from backend.core.i18n import N_

#: a mainland mobile number (SMS recipients)
PHONE_RE = re.compile(r"^1[3-9]\d{9}$")

#: event name → message id
MESSAGES: dict[str, str] = {
    # matches (the in-app rows of these come from backend/matches/handlers.py)
    "match.approved": N_(
        "A match for the need “{title}” was approved for your organization. "
        "Please accept or decline it."
    ),
    "match.accepted": N_("{organization} accepted the match for the need “{title}”."),
    "match.declined": N_(
        "{organization} declined the match for the need “{title}”. Reason: {reason}"
    ),
    "match.expired": N_("The match for the need “{title}” expired without an answer."),
    "match.run_done": N_("The matching run for {county} finished with {proposals} proposals."),
    # audit (backend/audit/tasks.py writes these in-app rows itself)
    "audit.verify_failed": N_(
        "The daily check of the audit log failed (row {row}). "
        "Run “tongxin verify-audit” and investigate before relying on the audit trail."
    ),
    # organizations
    "organization.registered": N_("{organization} registered and waits for your review."),
    "organization.approved": N_(
        "{organization} was approved. You can now post resources and claim needs."
    ),
    "organization.rejected": N_(
        "The registration of {organization} was rejected. Reason: {reason}"
    ),
    "invitation.created": N_("You are invited to join {organization} on Tongxin."),
    # needs and deliveries
    "claim.created": N_("{organization} claimed the need “{title}”."),
    "claim.released": N_("{organization} released its claim on the need “{title}”."),
    "claim.overdue": N_(
        "The need “{title}” was claimed by {organization} but not delivered by its deadline {due}."
    ),
    "delivery.recorded": N_(
        "{organization} recorded a delivery for the need “{title}”. Please have it confirmed."
    ),
    "delivery.confirmed": N_("The delivery for the need “{title}” was confirmed."),
    "delivery.disputed": N_("The delivery for the need “{title}” was reported as not received."),
    "delivery.unconfirmed": N_(
        "The delivery for the need “{title}” has waited {days} days for confirmation."
    ),
    # funds
    "disbursement.requested": N_(
        "A disbursement of {amount} from the project “{project}” waits for your approval."
    ),
    "disbursement.approved": N_(
        "The disbursement of {amount} from the project “{project}” was approved."
    ),
    "disbursement.rejected": N_(
        "The disbursement of {amount} from the project “{project}” was rejected."
    ),
    "donation.pledged": N_(
        "A pledge of {amount} was made to the project “{project}”. Confirm it when the transfer arrives."
    ),
    "donation.booked": N_(
        "Your donation of {amount} to the project “{project}” was received. Thank you!"
    ),
    "donation.expiring": N_(
        "Your pledge of {amount} to the project “{project}” expires on {due} unless the transfer arrives."
    ),
    # projects
    "project.update_due": N_(
        "The project “{project}” has posted no update for {days} days. Please post one."
    ),
    "project.overdue": N_("The project “{project}” is overdue: no update for {days} days."),
    # volunteering
    "task.signup": N_("A volunteer signed up for “{task}”."),
    "task.updated": N_("The volunteer task “{task}” has a new or changed time slot."),
    "task.closed": N_("The volunteer task “{task}” was cancelled."),
    "task.signup_cancelled": N_("A volunteer cancelled a sign-up for “{task}”."),
    "hours.approved": N_("Your {hours} volunteer hours for {organization} were approved."),
    "hours.rejected": N_("Your {hours} volunteer hours for {organization} were not approved."),
    # referrals and households (caseworkers)
    "referral.created": N_("A new referral arrived for {region}."),
    "referral.converted": N_("Your referral was taken up: the family is now registered."),
    "referral.dismissed": N_("Your referral was closed without registration."),
    "household.verification_expiring": N_(
        "The verification of a household in {region} expires on {due}."
    ),
    "household.verification_lapsed": N_(
        "The verification of a household in {region} lapsed; its needs are hidden."
    ),
    "visit.due": N_("A visit to a household in {region} is due on {due}."),
    "visit.overdue": N_("A visit to a household in {region} is overdue since {due}."),
    # review deadlines
    "review.sla_warning": N_(
        "The proposal for the need “{title}” waits for review; it is due by {due}."
    ),
    "review.sla_escalated": N_(
        "The proposal for the need “{title}” missed its review deadline {due}."
    ),
    # accounts
    "user.locked": N_(
        "Your account was locked after repeated failed sign-ins. If this was not you, reset your password."
    ),
    "user.oidc_pending": N_("A new single-sign-on account waits for approval."),
    "account.verify_email": N_(
        "Please confirm your e-mail address for Tongxin with this link (valid {hours} hours):"
    ),
    "digest": N_("Your daily summary from Tongxin:"),
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
    "account.reset_password": N_(
        "Someone asked to reset your Tongxin password. If it was you, use this link within {minutes} minutes:"
    ),
}

#: the subject line of each group's e-mails
GROUP_LABELS: dict[str, str] = {
    "organizations": N_("Organizations"),
    "needs": N_("Needs and deliveries"),
    "matches": N_("Matches"),
    "funds": N_("Donations and funds"),
    "projects": N_("Projects"),
    "volunteering": N_("Volunteering"),
    "households": N_("Households and referrals"),
    "review": N_("Review deadlines"),
    "reports": N_("Reports and complaints"),
    "account": N_("Your account"),
    "digest": N_("Daily summary"),
}

#: groups whose e-mails may be bundled into one daily digest
LOW_PRIORITY_GROUPS = frozenset({"projects", "volunteering", "funds"})
