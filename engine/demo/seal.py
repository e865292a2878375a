"""A demo seal (印章) image for the demo agency: a red ring, a five-pointed star and the organ's name
around the upper arc, drawn with Pillow. Demo data only: a real organ uploads a scan of its seal.
"""

from __future__ import annotations

import io
import math

from PIL import Image, ImageDraw, ImageFont

from engine.documents.pdf import PdfUnavailable, font_path

RED = (200, 16, 32, 255)
SIZE = 400


def draw_seal(name: str, size: int = SIZE) -> bytes:
    """A transparent PNG of a round seal reading ``name``; the text is left out without a CJK font."""
    image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    centre, ring = size / 2, size * 0.03
    draw.ellipse((ring, ring, size - ring, size - ring), outline=RED, width=int(ring * 1.6))
    draw.polygon(_star(centre, centre, size * 0.16), fill=RED)
    try:
        font = ImageFont.truetype(str(font_path()), int(size * 0.1))
    except (PdfUnavailable, OSError):
        font = None
    if font is not None and name:
        radius, spread = size * 0.34, math.radians(250)  # the name runs along 250° of the upper arc
        step = spread / max(len(name) - 1, 1)
        for i, char in enumerate(name):
            angle = -math.pi / 2 - spread / 2 + i * step  # from lower left, over the top, to lower right
            glyph = Image.new("RGBA", (int(size * 0.14), int(size * 0.14)), (0, 0, 0, 0))
            ImageDraw.Draw(glyph).text((glyph.width / 2, glyph.height / 2), char, font=font, fill=RED, anchor="mm")
            glyph = glyph.rotate(-math.degrees(angle) - 90, resample=Image.Resampling.BICUBIC)
            x, y = centre + radius * math.cos(angle), centre + radius * math.sin(angle)
            image.alpha_composite(glyph, (int(x - glyph.width / 2), int(y - glyph.height / 2)))
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _star(cx: float, cy: float, r: float) -> list[tuple[float, float]]:
    points = []
    for i in range(10):
        radius = r if i % 2 == 0 else r * 0.382
        angle = -math.pi / 2 + i * math.pi / 5
        points.append((cx + radius * math.cos(angle), cy + radius * math.sin(angle)))
    return points
