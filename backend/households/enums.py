"""The households module's published vocabulary: categories, member flags, statuses, consent
purposes. Other domains import these from here, never ``backend.households.models`` (which holds
the personal fields); an import-linter contract keeps it so."""

from __future__ import annotations

import enum

from backend.core.i18n import N_


class AssistanceCategory(enum.StrEnum):
    DIBAO = "dibao"  # 低保
    DIBAO_EDGE = "dibao_edge"  # 低保边缘
    TEKUN = "tekun"  # 特困
    EXPENSE_POVERTY = "expense_poverty"  # 支出型贫困
    TEMPORARY = "temporary"  # 临时救助
    LOW_INCOME_FARMER = "low_income_farmer"  # 低收入农户


class MemberFlag(enum.StrEnum):
    DISABLED = "disabled"
    SERIOUSLY_ILL = "seriously_ill"
    MINOR = "minor"
    ELDERLY = "elderly"
    UNION_HARDSHIP = "union_hardship"
    VETERAN = "veteran"


# What people read for each flag (docs/glossary.md); never the code (union_hardship).
FLAG_LABELS: dict[str, str] = {
    MemberFlag.DISABLED: N_("Member with a disability"),
    MemberFlag.SERIOUSLY_ILL: N_("Seriously ill member"),
    MemberFlag.MINOR: N_("Child"),
    MemberFlag.ELDERLY: N_("Elderly member"),
    MemberFlag.UNION_HARDSHIP: N_("Union member in difficulty"),
    MemberFlag.VETERAN: N_("Veteran"),
}


class HouseholdStatus(enum.StrEnum):
    ACTIVE = "active"
    LEFT = "left"  # left assistance; visits continue for one more year


class ConsentPurpose(enum.StrEnum):
    PUBLISH_NEEDS = "publish_needs"
    SHARE_CONTACT = "share_contact"


class ReferralState(enum.StrEnum):
    NEW = "new"
    CONVERTED = "converted"
    DISMISSED = "dismissed"
