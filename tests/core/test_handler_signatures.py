"""Every handler declares its parameters in the explicit forms Litestar 3 keeps.

Litestar 2.25 warns (LitestarDeprecationWarning) about inferred path/query parameters,
inferred dependencies and bodies without a marker when the app is built. The suite runs with
warnings as errors; this test says which handler is at fault when one slips in.
"""

from __future__ import annotations

import warnings

from litestar.exceptions import LitestarDeprecationWarning

from backend.app import create_app
from backend.config import Settings


def test_building_the_app_emits_no_litestar_deprecation_warning() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        create_app(Settings())
    messages = [
        str(w.message) for w in caught if issubclass(w.category, LitestarDeprecationWarning)
    ]
    assert messages == []
