"""The 幸福码 as an inline SVG QR code (segno)."""

from __future__ import annotations

import io

import segno


def qr_svg(data: str) -> str:
    buffer = io.BytesIO()
    segno.make(data, error="m").save(buffer, kind="svg", scale=6, border=2, xmldecl=False,
                                     svgns=True, title="幸福码", dark="#111")
    return buffer.getvalue().decode()
