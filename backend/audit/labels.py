"""People-readable names of what the audit log records: objects, actions, actors' roles, fields.

An action code is ``<object>.<verb>`` (``household.revealed``, ``match.rejected``; the partner
API writes ``partner.<call>`` and ``partner.<call>.refused``). The viewer shows the object's
label and the verb's label, both translated; a code that no label names is shown as "Other
action" (never the raw code) and is still found by the filter. Every label is an English
message id marked ``N_`` (translated in ``auditor.po``).
"""

from __future__ import annotations

from backend.core.i18n import N_

OBJECT_LABELS: dict[str, str] = {
    "api_client": N_("Partner system"),
    "audit_log": N_("Audit log"),
    "certificate": N_("Volunteer certificate"),
    "claim": N_("Claim"),
    "delivery": N_("Delivery"),
    "disbursement": N_("Disbursement"),
    "donation": N_("Donation"),
    "feedback": N_("Feedback"),
    "fulfilment": N_("Fulfilment"),
    "hours": N_("Volunteer hours"),
    "household": N_("Household"),
    "invitation": N_("Invitation"),
    "item_kind": N_("Item kind"),
    "ledger_entry": N_("Ledger entry"),
    "match": N_("Match proposal"),
    "matching_run": N_("Matching run"),
    "membership": N_("Membership"),
    "need": N_("Need"),
    "organization": N_("Organization"),
    "project": N_("Project"),
    "quarterly_list": N_("Happiness list"),
    "referral": N_("Referral"),
    "region": N_("Region"),
    "report": N_("Grievance report"),
    "resource": N_("Resource"),
    "role": N_("Role"),
    "task": N_("Volunteer task"),
    "user": N_("User account"),
    "visit": N_("Visit"),
}

# The object part of an action code, when it differs from the object type's name.
ACTION_OBJECTS: dict[str, str] = {
    "needs": "need",
    "resources": "resource",
    "partner": "api_client",
}

VERB_LABELS: dict[str, str] = {
    "accepted": N_("accepted"),
    "active": N_("activated"),
    "added": N_("added"),
    "adjusted": N_("adjusted"),
    "approved": N_("approved"),
    "assessed": N_("assessed"),
    "attendance": N_("attendance recorded"),
    "attended": N_("attended"),
    "batch_done": N_("batch finished"),
    "batch_started": N_("batch started"),
    "booked": N_("booked"),
    "cancelled": N_("cancelled"),
    "closed": N_("closed"),
    "code_issued": N_("household code issued"),
    "code_verified": N_("household code verified"),
    "completed": N_("completed"),
    "confirmed": N_("confirmed"),
    "consent_recorded": N_("consent recorded"),
    "consent_withdrawn": N_("consent withdrawn"),
    "contact_viewed": N_("contact details viewed"),
    "converted": N_("registered as a household"),
    "created": N_("created"),
    "declined": N_("declined"),
    "delivered": N_("delivered"),
    "dismissed": N_("dismissed"),
    "disputed": N_("disputed"),
    "donations_paused": N_("donations paused"),
    "donations_resumed": N_("donations resumed"),
    "done": N_("finished"),
    "draft": N_("saved as draft"),
    "due": N_("fell due"),
    "edited": N_("edited"),
    "email_change_requested": N_("e-mail change requested"),
    "email_changed": N_("e-mail changed"),
    "email_verified": N_("e-mail verified"),
    "escalated": N_("escalated"),
    "evidence_added": N_("evidence added"),
    "executing": N_("in execution"),
    "expired": N_("expired"),
    "expiring": N_("expiring soon"),
    "exported": N_("exported with personal data"),
    "failed": N_("failed"),
    "fulfilled": N_("fulfilled"),
    "funded": N_("funded"),
    "fundraising": N_("fundraising opened"),
    "generated": N_("generated"),
    "given": N_("given"),
    "granted": N_("granted"),
    "handed_over": N_("handed over"),
    "held": N_("put on hold"),
    "hidden": N_("hidden"),
    "hold_released": N_("hold released"),
    "in_progress": N_("in progress"),
    "issued": N_("issued"),
    "item_kind_confirmed": N_("item kind confirmed"),
    "joined": N_("joined"),
    "listed": N_("listed"),
    "locked": N_("locked"),
    "printed": N_("printed"),
    "publish_refused": N_("publication refused"),
    "searched": N_("searched"),
    "locked_out": N_("locked after failed sign-ins"),
    "logged": N_("logged"),
    "moved": N_("moved"),
    "need_linked": N_("need linked"),
    "no_show": N_("did not show up"),
    "notification_settings_changed": N_("notification settings changed"),
    "oidc_pending": N_("single sign-on awaiting approval"),
    "oidc_registered": N_("registered through single sign-on"),
    "opened": N_("opened"),
    "overdue": N_("became overdue"),
    "paid": N_("paid"),
    "password_changed": N_("password changed"),
    "password_reset": N_("password reset"),
    "password_reset_requested": N_("password reset requested"),
    "paused": N_("paused"),
    "pending": N_("pending"),
    "pin_slip_shown": N_("PIN slip shown"),
    "pledged": N_("pledged"),
    "profile_updated": N_("profile updated"),
    "progress": N_("progress reported"),
    "proposed": N_("proposed by matching"),
    "published": N_("made public"),
    "read": N_("read"),
    "reassigned": N_("reassigned by a coordinator"),
    "received": N_("received"),
    "recorded": N_("recorded"),
    "registered": N_("registered"),
    "rejected": N_("rejected"),
    "released": N_("released"),
    "requested": N_("requested"),
    "reserved": N_("reserved"),
    "resumed": N_("resumed"),
    "revealed": N_("personal data revealed"),
    "revoked": N_("revoked"),
    "run_done": N_("run finished"),
    "scheduled": N_("scheduled"),
    "sign_in_failed": N_("sign-in failed"),
    "sign_in_refused_locked": N_("sign-in refused while locked"),
    "signed_in": N_("signed in"),
    "signed_up": N_("signed up"),
    "signup": N_("signed up for a task"),
    "signup_cancelled": N_("sign-up cancelled"),
    "slot_added": N_("time slot added"),
    "started": N_("started"),
    "token_issued": N_("access token issued"),
    "unconfirmed": N_("left unconfirmed"),
    "unhidden": N_("shown again"),
    "update_due": N_("update due"),
    "update_edited": N_("update edited"),
    "update_overdue": N_("update overdue"),
    "update_posted": N_("update posted"),
    "update_withdrawn": N_("update withdrawn"),
    "updated": N_("updated"),
    "verification_expiring": N_("verification expiring"),
    "verification_lapsed": N_("verification lapsed"),
    "verification_requested": N_("verification requested"),
    "verified": N_("verified"),
    "withdrawn": N_("withdrawn"),
}

OTHER_ACTION = N_("Other action")
PARTNER_CALL = N_("API call")
PARTNER_REFUSED = N_("API call refused")

# The actions the filter offers (what the code writes; ``partner.*`` is one choice per call).
KNOWN_ACTIONS: tuple[str, ...] = (
    "household.registered",
    "household.updated",
    "household.verified",
    "household.assessed",
    "household.revealed",
    "household.exported",
    "household.searched",
    "household.contact_viewed",
    "household.consent_recorded",
    "household.consent_withdrawn",
    "household.code_issued",
    "household.code_verified",
    "household.pin_slip_shown",
    "referral.created",
    "referral.revealed",
    "referral.converted",
    "referral.dismissed",
    "need.published",
    "need.publish_refused",
    "need.edited",
    "need.hidden",
    "need.unhidden",
    "need.closed",
    "need.withdrawn",
    "match.approved",
    "match.rejected",
    "match.reassigned",
    "match.accepted",
    "match.declined",
    "matching_run.requested",
    "matching_run.done",
    "claim.created",
    "claim.released",
    "claim.fulfilled",
    "fulfilment.opened",
    "fulfilment.completed",
    "delivery.recorded",
    "delivery.confirmed",
    "delivery.disputed",
    "donation.created",
    "donation.booked",
    "donation.failed",
    "disbursement.requested",
    "disbursement.approved",
    "disbursement.rejected",
    "ledger.adjusted",
    "project.created",
    "project.update_posted",
    "report.received",
    "report.read",
    "report.escalated",
    "user.signed_in",
    "user.signed_up",
    "user.locked",
    "role.granted",
    "organization.registered",
    "api_client.created",
    "api_client.revoked",
    "audit.exported",
)

ROLE_LABELS: dict[str, str] = {
    "caseworker": N_("Caseworker"),
    "coordinator": N_("Coordinator"),
    "volunteer": N_("Volunteer"),
    "donor": N_("Donor"),
    "auditor": N_("Auditor"),
    "admin": N_("Platform administrator"),
    "org": N_("Organization member"),
}

ACTOR_KIND_LABELS: dict[str, str] = {
    "user": N_("Staff or user"),
    "system": N_("System"),
    "household": N_("Household (code and PIN)"),
    "client": N_("Partner system"),
}

# Personal fields an entry's detail may name (never their values).
FIELD_LABELS: dict[str, str] = {
    "head_name": N_("Head of household"),
    "id_number": N_("ID card number"),
    "phone": N_("Phone"),
    "address": N_("Address"),
    "contact": N_("Contact details"),
    "text": N_("Report text"),
}


def action_parts(action: str) -> tuple[str, str]:
    """(object label, verb label) message ids of an action code."""
    head, _, rest = action.partition(".")
    if head == "audit" and rest == "exported":
        return N_("Audit log"), N_("exported as CSV")
    if head == "ledger":
        return N_("Ledger entry"), VERB_LABELS.get(rest, OTHER_ACTION)
    if head == "partner":
        return OBJECT_LABELS["api_client"], (
            PARTNER_REFUSED if rest.endswith(".refused") else PARTNER_CALL
        )
    obj = OBJECT_LABELS.get(ACTION_OBJECTS.get(head, head), OTHER_ACTION)
    return obj, VERB_LABELS.get(rest, OTHER_ACTION)


def object_label(object_type: str) -> str:
    return OBJECT_LABELS.get(object_type, N_("Other object"))
