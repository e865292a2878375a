"""When, where and with what a photo or recording was made, read from the file itself.

Photos: EXIF via Pillow (DateTimeOriginal with its offset, camera make/model, GPS position, pixel
size). Audio and video: ``mutagen`` (duration, tags such as the recording date) and, for MP4/MOV
(body cameras, phones), the movie header's creation time, read by walking the box headers with
seeks: a 2 GB video costs a few small reads. Whatever cannot be read is simply absent: the officer
enters the collection time and place by hand, and a damaged header never refuses the evidence.
"""

from __future__ import annotations

import datetime as dt
import struct
from pathlib import Path
from typing import Any, BinaryIO

from engine import clock

EXIF_IFD, GPS_IFD = 0x8769, 0x8825
DATETIME_ORIGINAL, OFFSET_TIME_ORIGINAL, DATETIME = 36867, 36881, 306
MAKE, MODEL = 271, 272
MP4_EPOCH = dt.datetime(1904, 1, 1, tzinfo=dt.UTC)
CONTAINERS = {b"moov", b"trak", b"mdia", b"udta"}


def extract(path: Path, content_type: str) -> dict[str, Any]:
    """Metadata worth keeping in the record; ``taken_at`` (ISO, aware) when the file says when it was made."""
    try:
        if content_type.startswith("image/"):
            return _image(path)
        if content_type.startswith(("audio/", "video/")):
            return _recording(path, content_type)
    except Exception:  # noqa: BLE001, S110  a file the parsers cannot read still is evidence
        return {}
    return {}


def taken_at(meta: dict[str, Any]) -> dt.datetime | None:
    value = meta.get("taken_at")
    return dt.datetime.fromisoformat(value) if isinstance(value, str) else None


def _image(path: Path) -> dict[str, Any]:
    from PIL import Image

    meta: dict[str, Any] = {}
    with Image.open(path) as image:  # reads the header only; pixels are never decoded here
        meta["width"], meta["height"] = image.size
        exif = image.getexif()
        if not exif:
            return meta
        details = exif.get_ifd(EXIF_IFD)
        for tag, name in ((MAKE, "make"), (MODEL, "model")):
            if exif.get(tag):
                meta[name] = str(exif[tag]).strip("\x00 ")[:100]
        stamp = details.get(DATETIME_ORIGINAL) or exif.get(DATETIME)
        when = _exif_time(stamp, details.get(OFFSET_TIME_ORIGINAL))
        if when:
            meta["taken_at"] = when.isoformat()
        gps = _gps(exif.get_ifd(GPS_IFD))
        if gps:
            meta["gps"] = gps
    return meta


def _exif_time(stamp: object, offset: object) -> dt.datetime | None:
    """EXIF times are local wall-clock time; without an offset tag, Beijing time is assumed."""
    if not isinstance(stamp, str):
        return None
    try:
        naive = dt.datetime.strptime(stamp.strip("\x00 "), "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None
    zone: dt.tzinfo = clock.SHANGHAI
    if isinstance(offset, str):
        try:
            zone = dt.datetime.strptime(offset.strip("\x00 "), "%z").tzinfo or zone
        except ValueError:
            pass
    return naive.replace(tzinfo=zone)


def _gps(ifd: dict[int, Any]) -> dict[str, float] | None:
    try:
        lat, lon = _degrees(ifd[2]), _degrees(ifd[4])
    except (KeyError, TypeError, ValueError, ZeroDivisionError, IndexError):
        return None
    if str(ifd.get(1, "N")).upper().startswith("S"):
        lat = -lat
    if str(ifd.get(3, "E")).upper().startswith("W"):
        lon = -lon
    return {"lat": round(lat, 6), "lon": round(lon, 6)}


def _degrees(value: Any) -> float:
    d, m, s = (float(v) for v in value)
    return d + m / 60 + s / 3600


def _recording(path: Path, content_type: str) -> dict[str, Any]:
    import mutagen

    meta: dict[str, Any] = {}
    try:
        media = mutagen.File(path)
    except Exception:  # noqa: BLE001  mutagen raises its own errors for every damaged file
        media = None
    if media is not None and media.info is not None and getattr(media.info, "length", None):
        meta["duration"] = round(float(media.info.length), 3)
    with path.open("rb") as f:
        created = _mp4_created(f) if content_type in ("video/mp4", "video/quicktime", "video/x-m4v", "audio/mp4",
                                                       "audio/x-m4a", "video/3gpp") else None
    if created:
        meta["taken_at"] = created.isoformat()
    return meta


def _mp4_created(f: BinaryIO) -> dt.datetime | None:
    """The ``mvhd`` creation time (seconds since 1904, UTC); 0 means the camera did not set it."""
    end = f.seek(0, 2)
    pos = 0
    stack = [end]
    while pos + 8 <= stack[-1]:
        f.seek(pos)
        header = f.read(8)
        if len(header) < 8:
            return None
        size, box = struct.unpack(">I4s", header)
        start = 8
        if size == 1:
            size = struct.unpack(">Q", f.read(8))[0]
            start = 16
        elif size == 0:
            size = stack[-1] - pos
        if size < start:
            return None
        if box == b"mvhd":
            version = f.read(1)[0]
            f.read(3)
            raw = f.read(8 if version == 1 else 4)
            seconds = struct.unpack(">Q" if version == 1 else ">I", raw)[0]
            return MP4_EPOCH + dt.timedelta(seconds=seconds) if seconds else None
        if box in CONTAINERS:
            stack.append(pos + size)
            pos += start
            continue
        pos += size
        while len(stack) > 1 and pos >= stack[-1]:
            pos = stack.pop()
    return None
