"""County extensions of the item taxonomy (the shared kinds live in ``matching/data/items.csv``)."""

from __future__ import annotations

import enum
import uuid

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from backend.core.db import Base, Timestamps


class KindSource(enum.StrEnum):
    """How a need's or resource's item kind was set.

    ``given``: chosen by the person (form, or ``item_kind`` in the API); ``inferred``: found in
    the title with confidence; ``unsure``: a best guess (or none) waiting for a caseworker or the
    organization to confirm; ``confirmed``: an unsure kind a person has since confirmed.
    """

    GIVEN = "given"
    INFERRED = "inferred"
    UNSURE = "unsure"
    CONFIRMED = "confirmed"


class CountyItemKind(Timestamps, Base):
    """An item kind a county's coordinators added; columns as in ``items.csv``."""

    __tablename__ = "county_item_kinds"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    county_code: Mapped[str] = mapped_column(ForeignKey("regions.code"), index=True)
    category: Mapped[str] = mapped_column(ForeignKey("need_categories.code"))
    name_zh: Mapped[str] = mapped_column(String(64))
    name_en: Mapped[str] = mapped_column(String(128))
    synonyms: Mapped[str] = mapped_column(Text, default="")
    units: Mapped[str] = mapped_column(String(200))
    substitutes: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
