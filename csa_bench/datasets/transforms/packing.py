"""Packing a transformed sample into the data preprocessor's input contract."""
from __future__ import annotations

import numpy as np
import torch
from mmcv.transforms import BaseTransform

from ...registry import TRANSFORMS
from ...structures import SAMPLE_DEFAULTS, meta_of
from .loading import stack_frames


@TRANSFORMS.register_module()
class PackRetrievalInputs(BaseTransform):
    """Pack pixels as uint8 tensors and keep the sample's metadata (normalisation is the preprocessor's).

    Clips are zero-padded to ``num_frames`` frames; ``frame_mask`` is True for real frames.

    Required keys: ``imgs`` (clip frames, each ``(H, W, 3)``) and/or ``img`` (``(H, W, 3)``), plus
    the sample schema keys.

    Added keys: ``inputs`` = ``{'video': uint8 (T, C, H, W), 'frame_mask': bool (T,)}`` and/or
    ``{'image': uint8 (C, H, W)}``; ``data_samples`` = the schema keys minus paths and pixels
    (:func:`csa_bench.structures.meta_of`) plus ``sample_idx``. The output holds only these two keys.

    Args:
        num_frames: T; defaults to the ``num_frames`` set by ``SampleFrames`` when ``None``.
    """

    def __init__(self, num_frames: int | None = None) -> None:
        self.num_frames = num_frames

    def transform(self, results: dict) -> dict:
        inputs: dict[str, torch.Tensor] = {}
        imgs = results.get('imgs')
        if imgs is not None:
            frames = stack_frames(imgs)  # (N, H, W, 3)
            total = self.num_frames or results.get('num_frames') or len(frames)
            if len(frames) > total:
                raise ValueError(f'{len(frames)} frames do not fit num_frames={total}; sample frames first')
            video = np.zeros((total, *frames.shape[1:]), dtype=np.uint8)
            video[:len(frames)] = frames
            mask = torch.zeros(total, dtype=torch.bool)
            mask[:len(frames)] = True
            inputs['video'] = torch.from_numpy(video).permute(0, 3, 1, 2).contiguous()
            inputs['frame_mask'] = mask
        img = results.get('img')
        if img is not None:
            inputs['image'] = torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1).contiguous()
        keep = {k: results[k] for k in (*SAMPLE_DEFAULTS, 'sample_idx') if k in results}
        return {'inputs': inputs, 'data_samples': meta_of(keep)}

    def __repr__(self) -> str:
        return f'{type(self).__name__}(num_frames={self.num_frames})'
