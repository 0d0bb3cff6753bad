"""Transforms of the V1 (CLIP4Clip-era) LPR4M test pipeline (docs/method_v1.md).

V1 evaluated a query by listing its frame folder (``query/<clip_id>/``, names ending in ``.jpg``,
sorted by name) and keeping ``floor(linspace(0, n, 10, endpoint=False))`` of them
(``SampleFrames(mode='v1')``); every frame and shop image was squashed to 224² with PIL's bicubic
resize (no aspect ratio, no crop: the centre crop after a square resize is a no-op).
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from mmcv.transforms import BaseTransform
from PIL import Image

from ...registry import TRANSFORMS
from .pixel import DEFAULT_KEYS, _PerFrame, _to_pair

#: PIL resampling filters by name.
PIL_FILTERS = {'nearest': Image.Resampling.NEAREST, 'bilinear': Image.Resampling.BILINEAR,
               'bicubic': Image.Resampling.BICUBIC, 'lanczos': Image.Resampling.LANCZOS}


@TRANSFORMS.register_module()
class ListFolderFrames(BaseTransform):
    """Replace a clip's frame list by the listing of its frame folder (V1 query frames).

    The folder is the one directory holding every path in ``frame_paths``; the new list is every
    file in it whose name ends with ``suffix`` (case-sensitive, as V1's ``endswith('.jpg')``),
    sorted by name. Put ``SampleFrames(mode='v1')`` after it for V1's frame choice.

    Required keys: ``frame_paths`` (samples without it, e.g. gallery images, pass through).

    Added keys: none (replaces ``frame_paths``).

    Args:
        suffix: File-name ending that marks a frame.
        roles: Only samples whose ``role`` is listed are re-listed (default: queries only).

    Raises:
        ValueError: the frames of one sample sit in several folders, or the folder holds no frame.
    """

    def __init__(self, suffix: str = '.jpg', roles: tuple[str, ...] | list[str] = ('query',)) -> None:
        self.suffix = suffix
        self.roles = tuple(roles)

    def transform(self, results: dict) -> dict:
        paths = results.get('frame_paths')
        if not paths or results.get('role') not in self.roles:
            return results
        folders = {os.path.dirname(str(p)) for p in paths}
        if len(folders) != 1:
            raise ValueError(f'sample {results.get("sample_id")!r}: frames sit in {len(folders)} folders '
                             f'{sorted(folders)[:3]}; ListFolderFrames needs one frame folder per clip')
        folder = Path(folders.pop())
        try:
            names = sorted(entry.name for entry in os.scandir(folder)
                           if entry.is_file() and entry.name.endswith(self.suffix))
        except FileNotFoundError:
            raise ValueError(f'{folder}: frame folder of sample {results.get("sample_id")!r} does not exist') from None
        if not names:
            raise ValueError(f'{folder}: no file ending in {self.suffix!r} (sample {results.get("sample_id")!r})')
        results['frame_paths'] = [str(folder / name) for name in names]
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(suffix={self.suffix!r}, roles={self.roles})'


@TRANSFORMS.register_module()
class PILResizeFrames(_PerFrame):
    """Resize every frame and the shop image to ``size`` with PIL (V1: bicubic squash to 224²).

    PIL's resize filters its input (antialiasing) when downscaling, unlike OpenCV's; this is what
    torchvision's ``Resize`` does on PIL images. The aspect ratio is not kept.

    Required keys: ``imgs`` and/or ``img`` (RGB uint8 ``(H, W, 3)`` arrays).

    Added keys: none (modifies ``imgs``/``img``, updates ``img_shape``).

    Args:
        size: Output ``(h, w)`` or an int for a square.
        interpolation: A key of ``PIL_FILTERS``.
        keys: The result keys to transform.
    """

    def __init__(self, size: int | tuple[int, int] = 224, interpolation: str = 'bicubic',
                 keys: tuple[str, ...] | list[str] = DEFAULT_KEYS) -> None:
        super().__init__(keys)
        if interpolation not in PIL_FILTERS:
            raise ValueError(f'interpolation must be one of {sorted(PIL_FILTERS)}, got {interpolation!r}')
        self.size = _to_pair(size)
        self.interpolation = interpolation

    def apply(self, img: np.ndarray) -> np.ndarray:
        h, w = self.size
        return np.array(Image.fromarray(img).resize((w, h), PIL_FILTERS[self.interpolation]))

    def __repr__(self) -> str:
        return f'{type(self).__name__}(size={self.size}, interpolation={self.interpolation!r}, keys={self.keys})'
