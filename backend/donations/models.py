"""Donations and the append-only, public, per-project ledger. Money is integer fen."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.db import Base, Timestamps, UUIDPrimaryKey
from backend.core.enums import str_enum


class DonationChannel(enum.StrEnum):
    STRIPE = "stripe"
    OFFLINE = "offline"


class DonationState(enum.StrEnum):
    PENDING = "pending"
    PAID = "paid"
    FAILED = "failed"
    EXPIRED = "expired"
    REFUNDED = "refunded"
    DISPUTED = "disputed"
    CANCELLED = "cancelled"  # the donor withdrew an offline pledge before it was confirmed


class Donation(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "donations"

    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id"), index=True)
    donor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), index=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    channel: Mapped[DonationChannel] = mapped_column(str_enum(DonationChannel))
    state: Mapped[DonationState] = mapped_column(
        str_enum(DonationState), default=DonationState.PENDING
    )
    anonymous: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    display_name: Mapped[str] = mapped_column(String(100), default="")
    message: Mapped[str] = mapped_column(Text, default="")
    stripe_session_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    payment_intent_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    offline_reference: Mapped[str] = mapped_column(String(100), default="")
    confirmed_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    expires_at: Mapped[datetime | None]

    __table_args__ = (CheckConstraint("amount_fen > 0", name="amount_positive"),)


class EntryType(enum.StrEnum):
    DONATION = "donation"
    REFUND = "refund"
    DISBURSEMENT = "disbursement"
    ADJUSTMENT = "adjustment"
    DISPUTE = "dispute"


class DisbursementState(enum.StrEnum):
    REQUESTED = "requested"
    APPROVED = "approved"
    REJECTED = "rejected"


class LedgerEntry(UUIDPrimaryKey, Timestamps, Base):
    """Signed amounts: donations positive, refunds and disbursements negative."""

    __tablename__ = "ledger_entries"

    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id"), index=True)
    entry_type: Mapped[EntryType] = mapped_column(str_enum(EntryType))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    balance_after_fen: Mapped[int] = mapped_column(BigInteger)
    donation_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("donations.id"))
    payment_intent_id: Mapped[str | None] = mapped_column(String(255))
    reason: Mapped[str] = mapped_column(Text, default="")
    receipt_path: Mapped[str | None] = mapped_column(String(300))
    booked_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))

    __table_args__ = (
        UniqueConstraint("payment_intent_id", "entry_type"),
        CheckConstraint("balance_after_fen >= 0", name="balance_non_negative"),
        CheckConstraint("amount_fen <> 0", name="amount_non_zero"),
        # Money in is positive, money out negative; adjustments go either way.
        CheckConstraint(
            "(entry_type = 'donation' AND amount_fen > 0)"
            " OR (entry_type IN ('refund', 'disbursement', 'dispute') AND amount_fen < 0)"
            " OR (entry_type = 'adjustment' AND reason <> '')",
            name="sign_matches_type",
        ),
        # A donation is credited once, whatever the channel (offline pledges have no intent id).
        Index(
            "uq_ledger_entries_donation_credit",
            "donation_id",
            unique=True,
            postgresql_where="entry_type = 'donation'",
        ),
    )


class Disbursement(UUIDPrimaryKey, Timestamps, Base):
    """Four eyes: requested by one member, approved by another; approval books the entry."""

    __tablename__ = "disbursements"

    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id"), index=True)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    purpose: Mapped[str] = mapped_column(Text)
    receipt_path: Mapped[str] = mapped_column(String(300))
    state: Mapped[DisbursementState] = mapped_column(
        str_enum(DisbursementState), default=DisbursementState.REQUESTED
    )
    requested_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    approved_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    ledger_entry_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("ledger_entries.id"))

    __table_args__ = (
        CheckConstraint("amount_fen > 0", name="amount_positive"),
        CheckConstraint("approved_by IS NULL OR approved_by <> requested_by", name="four_eyes"),
    )


class PendingEffect(UUIDPrimaryKey, Timestamps, Base):
    """A debit that Stripe reported before it could be booked.

    A refund or dispute may arrive before its payment is credited (events come in any order),
    or when the project's balance cannot cover it. It waits here, keyed like the ledger entry
    it will become, and is booked as soon as the donation is credited and the balance allows.
    """

    __tablename__ = "ledger_pending_effects"

    payment_intent_id: Mapped[str] = mapped_column(String(255))
    entry_type: Mapped[EntryType] = mapped_column(str_enum(EntryType))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    external_event_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("external_events.id"))
    ledger_entry_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("ledger_entries.id"))
    applied_at: Mapped[datetime | None]
    note: Mapped[str] = mapped_column(String(200), default="")

    __table_args__ = (
        UniqueConstraint("payment_intent_id", "entry_type"),
        CheckConstraint("amount_fen > 0", name="amount_positive"),
    )


class BankAccountState(enum.StrEnum):
    SUBMITTED = "submitted"  # waiting for a platform administrator's check
    VERIFIED = "verified"
    REJECTED = "rejected"


class OrgBankAccount(UUIDPrimaryKey, Timestamps, Base):
    """The account an organization receives offline donations on; one per organization.

    Donors see it only once a platform administrator checked it (``verified``). Any change by
    the organization puts it back to ``submitted``: a changed account needs a new check.
    ``version`` grows with every change, so an administrator verifies exactly what they saw.
    """

    __tablename__ = "org_bank_accounts"

    organization_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organizations.id"), unique=True)
    account_name: Mapped[str] = mapped_column(String(100))
    bank_name: Mapped[str] = mapped_column(String(100))
    account_number: Mapped[str] = mapped_column(String(40))
    state: Mapped[BankAccountState] = mapped_column(
        str_enum(BankAccountState), default=BankAccountState.SUBMITTED
    )
    review_note: Mapped[str] = mapped_column(Text, default="", server_default="")
    submitted_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    reviewed_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    reviewed_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    __table_args__ = (
        Index(
            "ix_org_bank_accounts_waiting",
            "updated_at",
            postgresql_where="state = 'submitted'",
        ),
    )
