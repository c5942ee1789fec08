"""Role × route rows of the auditor's workspace: the auditor only (the platform admin too is
refused: separation of duties); anonymous visitors are sent to sign in."""

from __future__ import annotations

from tests.access import Row, only

AUDITOR = ("auditor",)

ROWS = [
    Row("GET", "/audit", only(AUDITOR, 200)),
    Row("POST", "/audit/export", only(AUDITOR, 200), data={"action": "household.revealed"}),
    Row("GET", "/audit/verify", only(AUDITOR, 200)),
    Row("GET", "/audit/reports/access", only(AUDITOR, 200)),
    Row("GET", "/audit/reports/overrides", only(AUDITOR, 200)),
    Row("GET", "/audit/reports/disbursements", only(AUDITOR, 200)),
    Row("POST", "/audit/reports/export", only(AUDITOR, 200), data={"kind": "access"}),
]
