"""Fonts for label text: DejaVu (Latin, Greek, Cyrillic...) and a fallback chain.

A name a font cannot draw falls back character by character to the next installed font in
the chain (a CJK font, if one is installed), and to DejaVu's empty box when none has the
character: a label is always printed, never refused for a name's script.
"""

from __future__ import annotations

import logging
import unicodedata
from enum import Enum
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from appliance.labels.errors import LabelError, LabelProblem

log = logging.getLogger(__name__)

DEJAVU_DIR = Path("/usr/share/fonts/truetype/dejavu")
# Searched in this order for characters DejaVu lacks (fonts-noto-cjk, fonts-droid-fallback,
# fonts-wqy-zenhei/-microhei); missing files are skipped.
FALLBACK_FONTS = (
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
    Path("/usr/share/fonts/truetype/noto/NotoSansCJK-Regular.ttc"),
    Path("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf"),
    Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
)


class FontFamily(Enum):
    SANS = "sans"
    SERIF = "serif"
    MONO = "mono"


_DEJAVU_FILES = {
    (FontFamily.SANS, False): "DejaVuSans.ttf",
    (FontFamily.SANS, True): "DejaVuSans-Bold.ttf",
    (FontFamily.SERIF, False): "DejaVuSerif.ttf",
    (FontFamily.SERIF, True): "DejaVuSerif-Bold.ttf",
    (FontFamily.MONO, False): "DejaVuSansMono.ttf",
    (FontFamily.MONO, True): "DejaVuSansMono-Bold.ttf",
}

_PROBE_PX = 32  # coverage does not depend on size; one probe size serves all
_SURELY_MISSING = "\U0010fffd"  # a private-use code point: every font draws its .notdef


class FontLibrary:
    """Loads and caches fonts; one per renderer, passed in (the tests give their own)."""

    def __init__(
        self, dejavu_dir: Path = DEJAVU_DIR, fallbacks: tuple[Path, ...] = FALLBACK_FONTS
    ) -> None:
        self.dejavu_dir = dejavu_dir
        self.fallbacks = tuple(path for path in fallbacks if path.is_file())
        self._fonts: dict[tuple[Path, float], ImageFont.FreeTypeFont] = {}
        self._notdef: dict[Path, bytes] = {}
        self._covers: dict[tuple[Path, str], bool] = {}

    def primary(self, family: FontFamily, bold: bool) -> Path:
        path = self.dejavu_dir / _DEJAVU_FILES[(family, bold)]
        if not path.is_file():
            raise LabelError(
                LabelProblem.BAD_TEMPLATE,
                f"the label font {path} is not installed; install fonts-dejavu-core",
            )
        return path

    def font(self, path: Path, size_px: float) -> ImageFont.FreeTypeFont:
        size = max(1.0, round(size_px * 4) / 4)  # quarter pixels: few cache entries
        key = (path, size)
        if key not in self._fonts:
            self._fonts[key] = ImageFont.truetype(str(path), size)
        return self._fonts[key]

    def runs(
        self, text: str, family: FontFamily, bold: bool, size_px: float
    ) -> list[tuple[str, ImageFont.FreeTypeFont]]:
        """`text` cut into runs, each with the first font of the chain that draws it."""
        chain = (self.primary(family, bold), *self.fallbacks)
        out: list[tuple[str, Path]] = []
        for ch in text:
            if out and (unicodedata.category(ch).startswith("M") or ch.isspace()):
                path = out[-1][1]  # marks and spaces stay with what they follow
            else:
                path = next((p for p in chain if self.covers(p, ch)), chain[0])
            if out and out[-1][1] == path:
                out[-1] = (out[-1][0] + ch, path)
            else:
                out.append((ch, path))
        return [(run, self.font(path, size_px)) for run, path in out]

    def covers(self, path: Path, ch: str) -> bool:
        if ch.isspace():
            return True
        key = (path, ch)
        if key not in self._covers:
            if path not in self._notdef:
                self._notdef[path] = self._probe(path, _SURELY_MISSING)
            self._covers[key] = self._probe(path, ch) != self._notdef[path]
        return self._covers[key]

    def _probe(self, path: Path, ch: str) -> bytes:
        image = Image.new("L", (_PROBE_PX * 2, _PROBE_PX * 2))
        ImageDraw.Draw(image).text(
            (_PROBE_PX // 2, _PROBE_PX // 2), ch, font=self.font(path, _PROBE_PX), fill=255
        )
        return image.tobytes()
