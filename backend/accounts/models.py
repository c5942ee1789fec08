"""Users, role grants, organizations and their members, sign-in attempts, OIDC links, API clients."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import (
    ARRAY,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.db import Base, Timestamps, UUIDPrimaryKey
from backend.core.enums import str_enum


class Role(enum.StrEnum):
    CASEWORKER = "caseworker"
    COORDINATOR = "coordinator"
    VOLUNTEER = "volunteer"
    DONOR = "donor"
    AUDITOR = "auditor"
    ADMIN = "admin"


REGION_SCOPED_ROLES = frozenset({Role.CASEWORKER, Role.COORDINATOR})


class UserStatus(enum.StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    DISABLED = "disabled"


class OrgType(enum.StrEnum):
    CHARITY = "charity"
    VOLUNTEER_TEAM = "volunteer_team"
    TRADE_UNION = "trade_union"
    RED_CROSS = "red_cross"
    DISABLED_FEDERATION = "disabled_federation"
    COMPANY = "company"
    SOCIAL_WORK_AGENCY = "social_work_agency"
    GOVERNMENT = "government"


class OrgStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    SUSPENDED = "suspended"


class OrgRole(enum.StrEnum):
    ADMIN = "admin"
    MEMBER = "member"


class User(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "users"

    email: Mapped[str] = mapped_column(String(254))
    display_name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    locale: Mapped[str] = mapped_column(String(8), default="zh_CN")
    status: Mapped[UserStatus] = mapped_column(str_enum(UserStatus), default=UserStatus.ACTIVE)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    first_failed_at: Mapped[datetime | None]
    locked_until: Mapped[datetime | None]
    last_login_at: Mapped[datetime | None]
    email_verified_at: Mapped[datetime | None]  # set by the one-time link (accounts/lifecycle.py)
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy API
    __table_args__ = (Index("uq_users_email_lower", func.lower(email), unique=True),)


class RoleGrant(UUIDPrimaryKey, Timestamps, Base):
    """A role held by a user; caseworkers and coordinators are scoped to a region subtree."""

    __tablename__ = "role_grants"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[Role] = mapped_column(str_enum(Role))
    region_code: Mapped[str | None] = mapped_column(ForeignKey("regions.code"))

    __table_args__ = (
        UniqueConstraint("user_id", "role", "region_code"),
        CheckConstraint(
            "(role IN ('caseworker', 'coordinator')) = (region_code IS NOT NULL)",
            name="region_scope",
        ),
    )


class Organization(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "organizations"

    name: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200), default="")
    org_type: Mapped[OrgType] = mapped_column(str_enum(OrgType))
    uscc: Mapped[str] = mapped_column(String(18), unique=True)
    status: Mapped[OrgStatus] = mapped_column(str_enum(OrgStatus), default=OrgStatus.PENDING)
    description: Mapped[str] = mapped_column(Text, default="")
    region_code: Mapped[str] = mapped_column(ForeignKey("regions.code"))
    service_area: Mapped[list[str]] = mapped_column(ARRAY(String(12)), default=list)
    logo_path: Mapped[str | None] = mapped_column(String(300))
    contact_email: Mapped[str] = mapped_column(String(254), default="")
    reviewed_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    reviewed_at: Mapped[datetime | None]
    review_note: Mapped[str] = mapped_column(Text, default="")
    rating_sum: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    rating_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy API


class Membership(UUIDPrimaryKey, Timestamps, Base):
    __tablename__ = "memberships"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[OrgRole] = mapped_column(str_enum(OrgRole), default=OrgRole.MEMBER)

    __table_args__ = (UniqueConstraint("user_id", "organization_id"),)


class Invitation(UUIDPrimaryKey, Timestamps, Base):
    """An invitation to join an organization: a link token or a one-time code (stored hashed)."""

    __tablename__ = "invitations"

    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    email: Mapped[str] = mapped_column(String(254), default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[OrgRole] = mapped_column(str_enum(OrgRole), default=OrgRole.MEMBER)
    invited_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    used_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))


class OIDCLink(UUIDPrimaryKey, Timestamps, Base):
    """Accounts are linked by (issuer, subject), never by e-mail alone."""

    __tablename__ = "oidc_links"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    issuer: Mapped[str] = mapped_column(String(300))
    subject: Mapped[str] = mapped_column(String(255))

    __table_args__ = (UniqueConstraint("issuer", "subject"),)


class APIClient(UUIDPrimaryKey, Timestamps, Base):
    """OAuth2 client-credentials client of an organization's own system."""

    __tablename__ = "api_clients"

    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(200))
    scopes: Mapped[list[str]] = mapped_column(ARRAY(String(40)), default=list)
    created_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    revoked_at: Mapped[datetime | None]
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
