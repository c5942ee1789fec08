"""The service-record certificate (志愿服务记录证明) as a PDF: WeasyPrint, with a QR code
(segno) pointing at the public check page ``/certificates/{check_code}``.

Chinese glyphs come from the Noto Sans CJK SC font (Debian package ``fonts-noto-cjk``, which
CI and the Docker image install); WeasyPrint finds it through fontconfig.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime

import segno
from jinja2 import Environment, FileSystemLoader, select_autoescape

from backend.core.templating import SHANGHAI, TEMPLATES_DIR


def qr_svg(url: str) -> str:
    buffer = io.BytesIO()
    segno.make(url, error="m").save(buffer, kind="svg", scale=4, border=2, xmldecl=False, svgns=True)
    return buffer.getvalue().decode()


def check_url(base_url: str, check_code: str) -> str:
    return f"{base_url.rstrip('/')}/certificates/{check_code}"


def render_html(
    *, volunteer_name: str, total_minutes: int, by_org: Sequence[tuple[str, int]], issued_at: datetime,
    check_code: str, base_url: str,
) -> str:
    env = Environment(loader=FileSystemLoader(TEMPLATES_DIR), autoescape=select_autoescape(["html"]))
    template = env.get_template("volunteering/certificate_pdf.html")
    url = check_url(base_url, check_code)
    return template.render(
        volunteer_name=volunteer_name, hours=total_minutes // 60, minutes=total_minutes % 60, by_org=by_org,
        issued=issued_at.astimezone(SHANGHAI).strftime("%Y年%m月%d日"), check_code=check_code, url=url,
        qr=qr_svg(url),
    )


def render_pdf(**kwargs: object) -> bytes:
    from weasyprint import HTML

    html = render_html(**kwargs)  # type: ignore[arg-type]
    result = HTML(string=html).write_pdf()
    assert isinstance(result, bytes)
    return result
