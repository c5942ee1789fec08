"""The signed-in user as guards and services see it: roles with their regions, memberships."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from backend.accounts.models import OrgRole, OrgStatus, Role


@dataclass(frozen=True)
class RoleScope:
    role: Role
    region_code: str | None = None
    region_path: str | None = None


@dataclass(frozen=True)
class OrgMembership:
    organization_id: uuid.UUID
    role: OrgRole
    status: OrgStatus
    name: str


@dataclass(frozen=True)
class CurrentUser:
    id: uuid.UUID
    email: str
    display_name: str
    locale: str
    roles: tuple[RoleScope, ...] = ()
    memberships: tuple[OrgMembership, ...] = ()
    has_password: bool = True  # False for accounts that sign in only through OIDC

    def has_role(self, *roles: Role) -> bool:
        return any(scope.role in roles for scope in self.roles)

    @property
    def is_admin(self) -> bool:
        return self.has_role(Role.ADMIN)

    def region_paths(self, role: Role) -> tuple[str, ...]:
        """The region subtrees (paths) this user holds ``role`` in."""
        return tuple(s.region_path for s in self.roles if s.role == role and s.region_path)

    def covers(self, role: Role, region_path: str) -> bool:
        """Does one of the user's ``role`` subtrees contain the region with this path?"""
        return any(
            region_path == root or region_path.startswith(root + ".")
            for root in self.region_paths(role)
        )

    def approved_org_ids(self) -> tuple[uuid.UUID, ...]:
        return tuple(m.organization_id for m in self.memberships if m.status == OrgStatus.APPROVED)

    def org_role(self, organization_id: uuid.UUID) -> OrgRole | None:
        for m in self.memberships:
            if m.organization_id == organization_id and m.status == OrgStatus.APPROVED:
                return m.role
        return None
