"""Pictures made ready for MMS before Send is pressed: checked, converted, shrunk.

Twilio formats JPEG, PNG and GIF for the recipient's phone and takes at most 5 MB per
message.  A picture of one of those types that fits is attached as it is; anything else
Qt can read (a pasted screenshot, BMP, TIFF, WebP, HEIC where the plugin exists) and
anything too large is re-encoded as JPEG, lowering the quality and then the size until
it fits.  Only a picture that cannot be read, or cannot be made small enough, is refused
— with the reason, when it is attached, never at Send.

Everything here uses QtGui only (no widgets) and runs on a worker thread.
"""

from __future__ import annotations

import functools
import logging
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QSize, Qt
from PySide6.QtGui import QImage, QImageReader

logger = logging.getLogger(__name__)

MAX_MMS_BYTES: Final = 5 * 1024 * 1024
#: Formatted by Twilio for the recipient's device: sent unchanged when they fit.
SENT_AS_IS: Final = (".jpg", ".jpeg", ".png", ".gif")
#: Other image types Twilio's MMS accepts (not reformatted for phones, so converted).
TWILIO_ALSO_ACCEPTS: Final = (".bmp", ".tif", ".tiff", ".heic", ".heif", ".webp")
QUALITIES: Final = (88, 80, 70, 60, 50)
#: Each round that still does not fit makes the picture this much smaller on each side.
SCALE_STEP: Final = 0.75
#: Longest side a shrunk picture starts from: phones show MMS pictures far smaller.
START_SIDE: Final = 2560
SMALLEST_SIDE: Final = 320
ALLOCATION_LIMIT_MB: Final = 512


class PictureRefused(ValueError):
    """The picture cannot be sent; ``str()`` says why in plain words."""


@dataclass(frozen=True, slots=True)
class ReadyPicture:
    path: Path
    size: int
    #: The size before shrinking (None when attached unchanged).
    original_size: int | None = None

    @property
    def shrunk(self) -> bool:
        return self.original_size is not None


@functools.cache
def picture_suffixes() -> tuple[str, ...]:
    """Every suffix the file picker offers: Twilio's image types and what Qt can read."""
    formats = QImageReader.supportedImageFormats()
    readable = {"." + bytes(f.data()).decode().lower() for f in formats}
    wanted = set(SENT_AS_IS) | set(TWILIO_ALSO_ACCEPTS) | readable
    unsuitable = {".svg", ".svgz", ".pdf", ".ico", ".cur", ".icns", ".xpm", ".xbm"}
    return tuple(sorted(wanted - unsuitable))


def is_picture_name(name: str) -> bool:
    return Path(name).suffix.lower() in picture_suffixes()


def describe_size(size: int) -> str:
    """ "820 KB", "4.8 MB" (1 MB = 1024 × 1024 bytes, as the limit is counted)."""
    if size < 1024 * 1024:
        return f"{max(1, round(size / 1024))} KB"
    return f"{size / (1024 * 1024):.1f} MB"


def prepare_file(source: Path, out_dir: Path, budget: int = MAX_MMS_BYTES) -> ReadyPicture:
    """*Blocking.*  ``source`` as it is if Twilio can send it within ``budget`` bytes,
    else a JPEG copy in ``out_dir`` that fits; raises PictureRefused."""
    try:
        size = source.stat().st_size
    except OSError as exc:
        raise PictureRefused(f"{source.name} could not be read: {exc.strerror or exc}.") from exc
    reader = QImageReader(str(source))
    reader.setAllocationLimit(ALLOCATION_LIMIT_MB)
    reader.setAutoTransform(True)
    if not reader.canRead():
        raise PictureRefused(
            f"{source.name} is not a picture Twoway can read; save it as JPEG or PNG first."
        )
    if source.suffix.lower() in SENT_AS_IS and size <= budget:
        return ReadyPicture(source, size)
    image = reader.read()
    if image.isNull():
        raise PictureRefused(
            f"{source.name} could not be opened ({reader.errorString()}); "
            "save it as JPEG or PNG first."
        )
    return _shrink(image, source.stem, out_dir, budget, size)


def prepare_image(image: QImage, out_dir: Path, budget: int = MAX_MMS_BYTES) -> ReadyPicture:
    """*Blocking.*  A pasted picture saved as PNG (screenshots stay sharp) when it fits,
    else as a JPEG that does; raises PictureRefused."""
    if image.isNull():
        raise PictureRefused("The clipboard holds no picture Twoway can read.")
    data = _encode(image, "PNG", -1)
    name = f"pasted-{uuid.uuid4().hex[:8]}"
    if len(data) <= budget:
        return ReadyPicture(_write(out_dir, name + ".png", data), len(data))
    return _shrink(image, name, out_dir, budget, len(data))


def _shrink(image: QImage, stem: str, out_dir: Path, budget: int, original: int) -> ReadyPicture:
    if budget <= 0:
        raise PictureRefused("The pictures already attached use all 5 MB a text can carry.")
    if image.hasAlphaChannel():  # JPEG has none: put transparent parts on white
        flat = QImage(image.size(), QImage.Format.Format_RGB32)
        flat.fill(Qt.GlobalColor.white)
        from PySide6.QtGui import QPainter

        painter = QPainter(flat)
        painter.drawImage(0, 0, image)
        painter.end()
        image = flat
    side = max(image.width(), image.height())
    if side > START_SIDE:
        image = _scaled(image, START_SIDE / side)
    while True:
        for quality in QUALITIES:
            data = _encode(image, "JPEG", quality)
            if len(data) <= budget:
                path = _write(out_dir, f"{stem}-{uuid.uuid4().hex[:6]}.jpg", data)
                logger.info(
                    "Picture shrunk from %d to %d bytes (%dx%d, quality %d)",
                    original,
                    len(data),
                    image.width(),
                    image.height(),
                    quality,
                )
                return ReadyPicture(path, len(data), original)
        if max(image.width(), image.height()) * SCALE_STEP < SMALLEST_SIDE:
            raise PictureRefused(
                f"{stem} could not be made smaller than {describe_size(budget)}, "
                "the room left in this text."
            )
        image = _scaled(image, SCALE_STEP)


def _scaled(image: QImage, factor: float) -> QImage:
    target = QSize(max(1, round(image.width() * factor)), max(1, round(image.height() * factor)))
    return image.scaled(
        target, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
    )


def _encode(image: QImage, fmt: str, quality: int) -> bytes:
    array = QByteArray()
    buffer = QBuffer(array)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(buffer, fmt, quality):  # type: ignore[call-overload]  # str at runtime
        raise PictureRefused(f"The picture could not be saved as {fmt}.")
    buffer.close()
    return bytes(array.data())


def _write(out_dir: Path, name: str, data: bytes) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / name
    partial = path.with_name(path.name + ".part")
    partial.write_bytes(data)
    partial.replace(path)
    return path
