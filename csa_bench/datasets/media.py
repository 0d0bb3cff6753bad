"""Reading media files strictly: a truncated or unreadable file is an error, never silently padded.

OpenCV and libjpeg happily decode a JPEG cut short (the missing rows come out grey), so every image
goes through :func:`verify_image_bytes` first: the container's end marker must be present (JPEG EOI
``FF D9``, PNG ``IEND``) and the decoder must return pixels. Videos are opened with decord, which
fails on a missing ``moov`` atom; frames it cannot seek to raise too.
"""
from __future__ import annotations

import math
import os
import sys
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

JPEG_SOI = b'\xff\xd8'
JPEG_EOI = b'\xff\xd9'
PNG_MAGIC = b'\x89PNG\r\n\x1a\n'
PNG_IEND = b'IEND\xaeB`\x82'
#: Bytes after the end marker that still count as complete (some encoders pad with zeros).
_TAIL_SLACK = 64


class MediaError(ValueError):
    """A media file is missing, truncated or cannot be decoded.

    Attributes:
        path: the offending file.
        reason: a short human-readable reason.
    """

    def __init__(self, path: str | os.PathLike, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f'{self.path}: {reason}')


def verify_image_bytes(data: bytes, path: str | os.PathLike) -> None:
    """Raise :class:`MediaError` unless ``data`` is a complete JPEG or PNG file."""
    if data.startswith(JPEG_SOI):
        # FF D9 cannot occur inside entropy-coded data (FF is stuffed as FF 00), so finding it
        # near the end means the stream was closed.
        if JPEG_EOI not in data.rstrip(b'\x00')[-_TAIL_SLACK:]:
            raise MediaError(path, 'truncated JPEG (no end-of-image marker FF D9)')
    elif data.startswith(PNG_MAGIC):
        if PNG_IEND not in data[-_TAIL_SLACK:]:
            raise MediaError(path, 'truncated PNG (no IEND chunk)')
    elif not data:
        raise MediaError(path, 'empty file')
    else:
        raise MediaError(path, 'not a JPEG or PNG file (unknown signature)')


def _decord_loaded_before_cv2() -> bool:
    """decord bundles its own zlib: once it is loaded before OpenCV, every cv2 PNG decode fails
    ("libpng error: bad parameters to zlib"; decord 0.6.0 with opencv 5.0, checked). csa_bench loads
    cv2 first (decord is imported lazily); ``sys.modules`` keeps import order, so a caller that
    imported decord first can be told so."""
    names = list(sys.modules)
    return 'decord' in sys.modules and names.index('decord') < names.index('cv2')


def read_image(path: str | os.PathLike, verify: bool = True, exif_orientation: bool = False) -> np.ndarray:
    """Read an image as an RGB uint8 array of shape ``(H, W, 3)``, as stored (EXIF orientation ignored).

    The official pipelines open images with PIL, which returns the stored pixel grid and leaves the
    EXIF ``Orientation`` tag alone; OpenCV's default colour decode would rotate/flip by that tag. We
    decode with ``IMREAD_IGNORE_ORIENTATION`` so that both agree (docs/pipelines.md, "Decoding").

    Args:
        path: a JPEG or PNG file.
        verify: check that the file is complete first (:func:`verify_image_bytes`).
        exif_orientation: apply the EXIF orientation like OpenCV's default decode (not official).

    Raises:
        MediaError: the file is missing, truncated or undecodable.
    """
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise MediaError(path, 'file not found') from None
    except OSError as exc:
        raise MediaError(path, f'cannot read ({exc.strerror or exc})') from None
    if verify:
        verify_image_bytes(data, path)
    flags = cv2.IMREAD_COLOR if exif_orientation else cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION
    try:
        # cv2 directly: mmcv converts BGR -> RGB only for the plain IMREAD_COLOR flag.
        img = cv2.imdecode(np.frombuffer(data, np.uint8), flags)
    except cv2.error:
        img = None
    if img is None or img.size == 0:
        hint = (
            ' (decord was imported before cv2 in this process, which breaks PNG decoding: import cv2 first)'
            if data.startswith(PNG_MAGIC) and _decord_loaded_before_cv2()
            else ''
        )
        raise MediaError(path, f'the decoder returned no pixels{hint}')
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def open_video(path: str | os.PathLike):
    """Open ``path`` with decord (CPU, RGB); returns a ``decord.VideoReader``.

    Raises:
        MediaError: the file is missing, has no frames or cannot be opened.
    """
    import decord  # heavy native import; only loaded when a video is read

    if not os.path.isfile(path):
        raise MediaError(path, 'file not found')
    try:
        reader = decord.VideoReader(str(path), num_threads=1)
    except (RuntimeError, decord.DECORDError) as exc:
        raise MediaError(path, f'cannot open video ({str(exc).splitlines()[0][:200]})') from None
    if len(reader) == 0:
        raise MediaError(path, 'video has no frames')
    return reader


#: Frame-selection rules of :func:`one_fps_indices`.
FPS_RULES = ('ffmpeg', 'nearest')


def _rational(rate: float) -> Fraction:
    """A frame rate as the exact fraction its container stores (29.97002997 -> 30000/1001)."""
    return Fraction(rate).limit_denominator(100_000)


def one_fps_indices(num_frames: int, avg_fps: float, fps: float = 1.0, rule: str = 'ffmpeg') -> list[int]:
    """Frame indices kept by sampling a constant-rate video at ``fps`` frames per second.

    ``rule='ffmpeg'`` (default) is exactly what ``ffmpeg -i video.mp4 -vf fps=1`` keeps, which is
    how the official MovingFashion frames were extracted. ffmpeg's ``fps`` filter rounds every input
    timestamp to the output clock (to nearest, halves away from zero) and emits, for output tick
    ``k``, the last input frame rounded to a tick ``<= k``; the stream ends at the rounded end time
    of the last frame. With input frame ``i`` at ``i / r`` seconds (``r = avg_fps``) this gives

    * output frame ``k`` = input frame ``ceil((k + 1/2) · r / fps) − 1``;
    * ``floor(n · fps / r + 1/2)`` output frames, ``n = num_frames`` (none for a clip shorter than
      half a sampling period).

    Both are evaluated in exact rational arithmetic (``r`` as the fraction the container stores).
    ``rule='nearest'`` is the earlier csa_bench rule: output ``k`` takes the frame nearest ``k / fps``
    (about half a period earlier than ffmpeg), ``floor(n · fps / r)`` frames and at least one.
    Both assume a constant frame rate starting at time 0.

    Args:
        num_frames: decoded frames in the video.
        avg_fps: the video's frame rate.
        fps: the sampling rate.
        rule: ``'ffmpeg'`` or ``'nearest'``.
    """
    if rule not in FPS_RULES:
        raise ValueError(f'rule must be one of {FPS_RULES}, got {rule!r}')
    if num_frames <= 0:
        return []
    if avg_fps <= 0:
        return [0]
    if rule == 'nearest':
        count = max(1, int(np.floor(num_frames / avg_fps * fps + 1e-6)))
        return [min(num_frames - 1, int(round(k / fps * avg_fps))) for k in range(count)]
    step = _rational(avg_fps) / _rational(fps)  # input frames per output frame
    count = math.floor(num_frames / step + Fraction(1, 2))
    # ceil(x) - 1 for x = (k + 1/2)·step; the min() only guards float rates that do not round-trip.
    return [min(num_frames - 1, math.ceil((k + Fraction(1, 2)) * step) - 1) for k in range(count)]


def tenframe_indices(n: int, k: int = 10) -> list[int]:
    """Keep at most ``k`` of ``n`` items with the ``floor(i·n/k)`` rule (CSA's MovingFashion prep).

    This is the V1 rule ``floor(linspace(0, n, k, endpoint=False))`` written exactly in integers.
    """
    if n <= k:
        return list(range(n))
    return [i * n // k for i in range(k)]


def read_video_frames(reader, indices: list[int], path: str | os.PathLike) -> np.ndarray:
    """Decode ``indices`` in one ``get_batch`` call; returns uint8 ``(N, H, W, 3)`` RGB.

    Raises:
        MediaError: an index is out of range or a frame cannot be decoded.
    """
    if not indices:
        raise MediaError(path, 'no frames selected')
    if max(indices) >= len(reader) or min(indices) < 0:
        raise MediaError(path, f'frame index out of range (video has {len(reader)} frames)')
    try:
        return reader.get_batch(list(indices)).asnumpy()
    except Exception as exc:  # decord raises its own error types from C++
        raise MediaError(path, f'cannot decode frames ({str(exc).splitlines()[0][:200]})') from None
