"""QR codes for pages to show (the member code at a till), drawn on the server: a page needs no QR
library and no CDN, and a mini-program can show the same image."""
from __future__ import annotations

import base64
import functools
import io

import segno


@functools.lru_cache(maxsize=1024)
def qr_data_uri(text: str) -> str:
    """An SVG data URI of ``text`` as a QR code (medium error correction: a till scans a phone screen)."""
    svg = io.BytesIO()
    segno.make(text, error="m", micro=False).save(svg, kind="svg", scale=8, border=2, xmldecl=False,
                                                  svgns=True, nl=False)
    return "data:image/svg+xml;base64," + base64.b64encode(svg.getvalue()).decode()
