"""Generated movie posters: an SVG drawn from the title, so nothing is fetched from outside."""

from __future__ import annotations

import hashlib
from html import escape

_PALETTES = (
    ("#1d3557", "#e63946", "#f1faee"),
    ("#2b2d42", "#ef233c", "#edf2f4"),
    ("#003049", "#f77f00", "#fcbf49"),
    ("#22223b", "#9a8c98", "#f2e9e4"),
    ("#0b3d20", "#7fb069", "#fffbbd"),
    ("#3d0e61", "#f72585", "#fde2ff"),
    ("#14213d", "#fca311", "#e5e5e5"),
    ("#5f0f40", "#fb8b24", "#ffe8d1"),
)


def _lines(title: str, width: int = 14) -> list[str]:
    lines: list[str] = []
    for word in title.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines[:5]


def poster_svg(*, title: str, subtitle: str = "", seed: str = "") -> str:
    """A 2:3 poster with the title, a subtitle line and shapes chosen from a hash of the title."""
    digest = hashlib.sha256((seed or title).encode()).digest()
    dark, accent, light = _PALETTES[digest[0] % len(_PALETTES)]
    cx, cy, r = 60 + digest[1] % 180, 90 + digest[2] % 200, 60 + digest[3] % 90
    tilt = digest[4] % 40 - 20
    text = "".join(
        f'<text x="150" y="{300 + i * 34}" text-anchor="middle" font-size="28" font-weight="700" '
        f'fill="{light}" font-family="Georgia, serif">{escape(line)}</text>'
        for i, line in enumerate(_lines(title))
    )
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 300 450" width="300" height="450" '
        f'role="img" aria-label="{escape(title)}">'
        f'<rect width="300" height="450" fill="{dark}"/>'
        f'<circle cx="{cx}" cy="{cy}" r="{r}" fill="{accent}" opacity="0.85"/>'
        f'<rect x="-40" y="{200 + digest[5] % 60}" width="400" height="18" fill="{light}" opacity="0.25" '
        f'transform="rotate({tilt} 150 225)"/>'
        f"{text}"
        f'<text x="150" y="430" text-anchor="middle" font-size="14" fill="{light}" '
        f'font-family="Helvetica, sans-serif" letter-spacing="2">{escape(subtitle.upper())}</text>'
        "</svg>"
    )
