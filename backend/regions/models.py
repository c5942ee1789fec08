"""GB/T 2260 administrative regions: province → city → county → township → community."""

from __future__ import annotations

import enum

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.db import Base
from backend.core.enums import str_enum


class RegionLevel(enum.StrEnum):
    PROVINCE = "province"
    CITY = "city"
    COUNTY = "county"
    TOWNSHIP = "township"
    COMMUNITY = "community"


LEVEL_DEPTH = {level: depth for depth, level in enumerate(RegionLevel)}


class Region(Base):
    """``path`` is the dot-joined chain of codes from the province down, for subtree queries."""

    __tablename__ = "regions"

    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("regions.code"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    name_en: Mapped[str] = mapped_column(String(128), default="")
    level: Mapped[RegionLevel] = mapped_column(str_enum(RegionLevel))
    path: Mapped[str] = mapped_column(String(80), unique=True)

    __table_args__ = (
        Index("ix_regions_path_pattern", "path", postgresql_ops={"path": "text_pattern_ops"}),
        # the cities and counties of filter menus (regions.by_level) without scanning the
        # 15,000 communities and townships
        Index("ix_regions_level_path", "level", "path"),
    )
