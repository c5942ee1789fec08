"""Donation receipts as PDF (WeasyPrint; CJK text in Noto Sans CJK SC)."""

from __future__ import annotations


def render_receipt_pdf(html: str) -> bytes:
    """Blocking: call it in a thread. Renders self-contained HTML (no external resources)."""
    from weasyprint import HTML

    pdf = HTML(string=html, base_url=None).write_pdf()
    assert isinstance(pdf, bytes)
    return pdf
