"""Per-frame pixel transforms: resize, random / centre crop, horizontal flip (method.md §1).

Each frame of a clip and the shop image are transformed **independently** (official V2: crops and
flips are not consistent across a clip). mmcv's ``Resize`` / ``CenterCrop`` / ``RandomFlip``
transform classes act on a single ``img`` key, so these apply mmcv's image functions
(``imresize``, ``imcrop``, ``imflip``) to every array under ``keys`` (``imgs``: list of frames,
``img``: the shop image); absent keys are skipped.
"""
from __future__ import annotations

import mmcv
import numpy as np
from mmcv.image.geometric import cv2_interp_codes, pillow_interp_codes
from mmcv.transforms import BaseTransform

from ...registry import TRANSFORMS

DEFAULT_KEYS = ('imgs', 'img')


def _to_pair(size: int | tuple[int, int] | list[int]) -> tuple[int, int]:
    """``size`` as ``(h, w)``."""
    if isinstance(size, int):
        return size, size
    if len(size) != 2:
        raise ValueError(f'size must be an int or (h, w), got {size!r}')
    return int(size[0]), int(size[1])


class _PerFrame(BaseTransform):
    """Apply :meth:`apply` to every array under ``keys``: frames one at a time, then the image."""

    def __init__(self, keys: tuple[str, ...] | list[str] = DEFAULT_KEYS) -> None:
        self.keys = tuple(keys)

    def apply(self, img: np.ndarray) -> np.ndarray:
        """Transform one ``(H, W, 3)`` array (subclasses)."""
        return img

    def transform(self, results: dict) -> dict:
        for key in self.keys:
            value = results.get(key)
            if value is None:
                continue
            results[key] = [self.apply(v) for v in value] if isinstance(value, list) else self.apply(value)
        if 'img' in results and results['img'] is not None:
            results['img_shape'] = results['img'].shape[:2]
        return results


#: Resize backends of :class:`ResizeFrames`.
RESIZE_BACKENDS = ('pillow', 'cv2')


@TRANSFORMS.register_module()
class ResizeFrames(_PerFrame):
    """Resize every frame and the shop image to ``size`` (aspect ratio not kept, V2 ``Resize((256,256))``).

    The default ``backend='pillow'`` is pixel-exact to the official pipeline, which applies
    torchvision's ``Resize`` to PIL images: PIL's resampling filters widen their support when they
    shrink an image (antialiasing), so every source pixel under the footprint contributes.
    ``backend='cv2'`` is OpenCV's ``resize`` (the earlier csa_bench default): its bilinear reads only
    the 2×2 nearest source pixels, so a 2-4× downscale aliases and differs by a few grey levels on
    average (docs/pipelines.md, "Resize").

    Required keys: ``imgs`` and/or ``img`` (those in ``keys``).

    Added keys: none (modifies ``imgs``/``img``, updates ``img_shape``).

    Args:
        size: output ``(h, w)`` or an int for a square.
        interpolation: ``'bilinear'``, ``'bicubic'``, ``'nearest'``, ... (mmcv names; the pillow
            backend accepts nearest, bilinear, bicubic, box, lanczos, hamming).
        backend: ``'pillow'`` (official) or ``'cv2'``.
        keys: the result keys to transform.
    """

    def __init__(self, size: int | tuple[int, int] = 256, interpolation: str = 'bilinear',
                 backend: str = 'pillow', keys: tuple[str, ...] | list[str] = DEFAULT_KEYS) -> None:
        super().__init__(keys)
        if backend not in RESIZE_BACKENDS:
            raise ValueError(f'backend must be one of {RESIZE_BACKENDS}, got {backend!r}')
        codes = pillow_interp_codes if backend == 'pillow' else cv2_interp_codes
        if interpolation not in codes:
            raise ValueError(f'interpolation {interpolation!r} is not available with backend {backend!r}; '
                             f'choose one of {sorted(codes)}')
        self.size = _to_pair(size)
        self.interpolation = interpolation
        self.backend = backend

    def apply(self, img: np.ndarray) -> np.ndarray:
        h, w = self.size
        return mmcv.imresize(img, (w, h), interpolation=self.interpolation, backend=self.backend)

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(size={self.size}, interpolation={self.interpolation!r}, '
                f'backend={self.backend!r}, keys={self.keys})')


def _crop(img: np.ndarray, top: int, left: int, h: int, w: int) -> np.ndarray:
    if img.shape[0] < h or img.shape[1] < w:
        raise ValueError(f'cannot crop {h}x{w} out of an image of {img.shape[0]}x{img.shape[1]}; resize first')
    return mmcv.imcrop(img, np.array([left, top, left + w - 1, top + h - 1]))


@TRANSFORMS.register_module()
class RandomCropFrames(_PerFrame):
    """Crop a random ``size`` window out of each frame and the image, independently (training).

    Required keys: ``imgs`` and/or ``img``. Added keys: none (modifies them).

    Args:
        size: crop ``(h, w)`` or an int for a square.
        keys: the result keys to transform.
    """

    def __init__(self, size: int | tuple[int, int] = 224, keys: tuple[str, ...] | list[str] = DEFAULT_KEYS) -> None:
        super().__init__(keys)
        self.size = _to_pair(size)

    def apply(self, img: np.ndarray) -> np.ndarray:
        h, w = self.size
        top = np.random.randint(0, max(img.shape[0] - h, 0) + 1)
        left = np.random.randint(0, max(img.shape[1] - w, 0) + 1)
        return _crop(img, top, left, h, w)

    def __repr__(self) -> str:
        return f'{type(self).__name__}(size={self.size}, keys={self.keys})'


@TRANSFORMS.register_module()
class CenterCropFrames(_PerFrame):
    """Crop the central ``size`` window of each frame and the image (evaluation; deterministic).

    Required keys: ``imgs`` and/or ``img``. Added keys: none (modifies them).

    Args:
        size: crop ``(h, w)`` or an int for a square.
        keys: the result keys to transform.
    """

    def __init__(self, size: int | tuple[int, int] = 224, keys: tuple[str, ...] | list[str] = DEFAULT_KEYS) -> None:
        super().__init__(keys)
        self.size = _to_pair(size)

    def apply(self, img: np.ndarray) -> np.ndarray:
        h, w = self.size
        # Same rounding as torchvision's CenterCrop: int(round((H - h) / 2)).
        return _crop(img, int(round((img.shape[0] - h) / 2)), int(round((img.shape[1] - w) / 2)), h, w)

    def __repr__(self) -> str:
        return f'{type(self).__name__}(size={self.size}, keys={self.keys})'


@TRANSFORMS.register_module()
class RandomFlipFrames(_PerFrame):
    """Flip each frame and the image horizontally with probability ``prob``, independently (training).

    Required keys: ``imgs`` and/or ``img``. Added keys: none (modifies them).

    Args:
        prob: flip probability per array.
        keys: the result keys to transform.
    """

    def __init__(self, prob: float = 0.5, keys: tuple[str, ...] | list[str] = DEFAULT_KEYS) -> None:
        super().__init__(keys)
        if not 0.0 <= prob <= 1.0:
            raise ValueError(f'prob must be in [0, 1], got {prob}')
        self.prob = prob

    def apply(self, img: np.ndarray) -> np.ndarray:
        return mmcv.imflip(img, 'horizontal') if np.random.random() < self.prob else img

    def __repr__(self) -> str:
        return f'{type(self).__name__}(prob={self.prob}, keys={self.keys})'
