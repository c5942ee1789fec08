"""Households and everything personal about them. Personal fields are AES-256-GCM ciphertext.

Nothing outside the households module reads these tables' personal columns; what other
modules see is a public projection (docs/privacy.md). The enums other domains need are in
``backend.households.enums``; an import-linter contract keeps this module inside households.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    ARRAY,
    Boolean,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.db import Base, Timestamps, UUIDPrimaryKey
from backend.core.enums import str_enum
from backend.households.enums import (
    AssistanceCategory,
    ConsentPurpose,
    HouseholdStatus,
    MemberFlag,
    ReferralState,
)

__all__ = [
    "Assessment",
    "AssistanceCategory",
    "AssistanceRecord",
    "Consent",
    "ConsentPurpose",
    "Household",
    "HouseholdNameToken",
    "HouseholdStatus",
    "MemberFlag",
    "Referral",
    "ReferralState",
    "Verification",
]


class Household(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "households"

    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    head_name_enc: Mapped[bytes] = mapped_column(LargeBinary)
    id_number_enc: Mapped[bytes] = mapped_column(LargeBinary)
    id_number_hash: Mapped[str] = mapped_column(String(64), unique=True)
    phone_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    # blind index of the normalized phone (backend.households.blind), for the registry search
    phone_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    address_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    member_ages: Mapped[list[int]] = mapped_column(ARRAY(SmallInteger), default=list)
    flags: Mapped[list[str]] = mapped_column(ARRAY(String(20)), default=list)
    category: Mapped[AssistanceCategory] = mapped_column(str_enum(AssistanceCategory))
    unstable_income: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    status: Mapped[HouseholdStatus] = mapped_column(
        str_enum(HouseholdStatus), default=HouseholdStatus.ACTIVE
    )
    left_at: Mapped[datetime | None]
    verified_until: Mapped[date | None] = mapped_column(Date)
    vulnerability: Mapped[float | None] = mapped_column(Float)
    # 幸福码: keyed hash of the typeable code (backend.households.code) and argon2 of the PIN;
    # wrong-PIN counters live in Redis (backend.households.pinguard).
    code_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    pin_hash: Mapped[str | None] = mapped_column(String(200))
    code_issued_at: Mapped[datetime | None]
    # the code's last four characters, printed on the quarterly list so a caseworker can tell
    # two households of one name apart (45 of the code's 60 random bits stay unknown)
    code_tail: Mapped[str | None] = mapped_column(String(4))
    registered_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy API
    # the caseworker list's order (newest first), so a page reads its rows from an index
    __table_args__ = (
        Index("ix_households_created_at_id", "created_at", "id"),
        # lapsed / expiring counts: the region is on the index entry, so a capped count over a
        # province or a county is an index-only scan (backend.households.repository._filtered)
        Index(
            "ix_households_verified_until",
            "verified_until",
            postgresql_include=["region_code"],
        ),
    )


class HouseholdNameToken(Base):
    """Blind index of the head's name: HMAC of each two-character token (backend.households.blind)."""

    __tablename__ = "household_name_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    household_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("households.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class Verification(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "verifications"

    household_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("households.id", ondelete="CASCADE"), index=True
    )
    verified_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    verified_at: Mapped[datetime]
    basis: Mapped[str] = mapped_column(Text)
    valid_until: Mapped[date] = mapped_column(Date)


class Assessment(UUIDPrimaryKey, Timestamps, Base):
    """Six-dimension assessment, 0 (no difficulty) to 4 (severe) each."""

    __tablename__ = "assessments"

    household_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("households.id", ondelete="CASCADE"), index=True
    )
    assessed_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    assessed_at: Mapped[datetime]
    economic: Mapped[int] = mapped_column(SmallInteger)
    health: Mapped[int] = mapped_column(SmallInteger)
    education: Mapped[int] = mapped_column(SmallInteger)
    housing: Mapped[int] = mapped_column(SmallInteger)
    employment: Mapped[int] = mapped_column(SmallInteger)
    social: Mapped[int] = mapped_column(SmallInteger)
    vulnerability: Mapped[float] = mapped_column(Float)
    note: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = tuple(
        CheckConstraint(f"{dim} BETWEEN 0 AND 4", name=f"{dim}_range")
        for dim in ("economic", "health", "education", "housing", "employment", "social")
    )


class Consent(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "consents"

    household_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("households.id", ondelete="CASCADE"), index=True
    )
    purpose: Mapped[ConsentPurpose] = mapped_column(str_enum(ConsentPurpose))
    scope: Mapped[str] = mapped_column(Text, default="")
    given_at: Mapped[datetime]
    recorded_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    guardian_consent: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    withdrawn_at: Mapped[datetime | None]
    withdrawn_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))


class Referral(UUIDPrimaryKey, Timestamps, Base):
    """主动发现: anyone signed in refers a household in difficulty to a region's caseworkers."""

    __tablename__ = "referrals"

    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    referred_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    text_enc: Mapped[bytes] = mapped_column(LargeBinary)
    contact_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    state: Mapped[ReferralState] = mapped_column(str_enum(ReferralState), default=ReferralState.NEW)
    handled_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    handled_at: Mapped[datetime | None]
    dismiss_reason: Mapped[str] = mapped_column(Text, default="")
    household_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("households.id"))


class AssistanceRecord(UUIDPrimaryKey, Timestamps, Base):
    """One line of the household's 幸福清单: government assistance or social help received."""

    __tablename__ = "assistance_records"

    household_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("households.id", ondelete="CASCADE"), index=True
    )
    occurred_on: Mapped[date] = mapped_column(Date, index=True)
    kind: Mapped[str] = mapped_column(String(32))
    summary: Mapped[str] = mapped_column(Text)
    organization_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("organizations.id"))
    source_type: Mapped[str] = mapped_column(String(32), default="")
    source_id: Mapped[uuid.UUID | None]
    amount_fen: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[dict[str, object]] = mapped_column(JSONB, default=dict)


class KAnonCell(Base):
    """How many active households share one k-anonymity cell (backend/privacy/kanon.py).

    Maintained in the same transaction as every household change (households service), so
    publishing a need reads the few cells of its household instead of counting the city.
    """

    __tablename__ = "kanon_cells"

    location: Mapped[str] = mapped_column(String(80), primary_key=True)
    profile_level: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    profile: Mapped[str] = mapped_column(Text, primary_key=True)
    households: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


# The flush listener that keeps KAnonCell equal to the households it counts: imported here so
# that every session that can write a Household maintains the counters.
from backend.households import counters as _counters  # noqa: E402, F401
