"""Batch assembly for retrieval: stack clips and shop images, normalise, keep the frame mask."""
from __future__ import annotations

from collections.abc import Sequence

import torch
from mmengine.model import BaseDataPreprocessor

from csa_bench.registry import MODELS

#: OpenAI CLIP normalisation (method.md §1), on the 0-255 scale.
CLIP_MEAN = (0.48145466 * 255, 0.4578275 * 255, 0.40821073 * 255)
CLIP_STD = (0.26862954 * 255, 0.26130258 * 255, 0.27577711 * 255)


@MODELS.register_module()
class RetrievalDataPreprocessor(BaseDataPreprocessor):
    """Turn a list of packed samples into the model's batch dict.

    Input (``pseudo_collate`` of packed samples)::

        {'inputs': [ {'video': uint8 (T, C, H, W), 'frame_mask': bool (T,)} and/or
                     {'image': uint8 (C, H, W)}, ... ],
         'data_samples': [dict, ...]}

    Output ``{'inputs': batch, 'data_samples': list[dict]}`` with ``batch``::

        video        float (Bv, T, C, H, W), normalised; padded frames are all-zero (after
                     normalisation, as the official code pads)
        frame_mask   bool (Bv, T), True = real frame
        video_index  long (Bv,): position of each clip in the batch
        image        float (Bi, C, H, W), normalised
        image_index  long (Bi,)

    Absent views are ``None``. Mixed batches (the test loader yields queries then gallery) are
    split by which inputs each sample carries.

    Args:
        mean: Per-channel mean on the 0-255 scale (CLIP's by default).
        std: Per-channel std on the 0-255 scale.
    """

    def __init__(self, mean: Sequence[float] = CLIP_MEAN, std: Sequence[float] = CLIP_STD) -> None:
        super().__init__()
        self.register_buffer('mean', torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1), False)
        self.register_buffer('std', torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1), False)

    def _normalise(self, pixels: torch.Tensor) -> torch.Tensor:
        return (pixels.to(self.device, torch.float32) - self.mean) / self.std

    def forward(self, data: dict, training: bool = False) -> dict:
        inputs: list[dict] = list(data['inputs'])
        samples = list(data.get('data_samples') or [{} for _ in inputs])
        clips = [(i, x) for i, x in enumerate(inputs) if 'video' in x]
        images = [(i, x) for i, x in enumerate(inputs) if 'image' in x]
        batch: dict[str, torch.Tensor | None] = dict(
            video=None, frame_mask=None, video_index=None, image=None, image_index=None)
        if clips:
            video = torch.stack([x['video'] for _, x in clips])          # (Bv, T, C, H, W)
            mask = torch.stack([x['frame_mask'] for _, x in clips]).to(self.device, torch.bool)
            bv, t = video.shape[:2]
            video = self._normalise(video.flatten(0, 1)).view(bv, t, *video.shape[2:])
            # Padded frames are zero after normalisation (method.md §1).
            batch['video'] = video * mask[:, :, None, None, None]
            batch['frame_mask'] = mask
            batch['video_index'] = torch.tensor([i for i, _ in clips], device=self.device)
        if images:
            batch['image'] = self._normalise(torch.stack([x['image'] for _, x in images]))
            batch['image_index'] = torch.tensor([i for i, _ in images], device=self.device)
        return {'inputs': batch, 'data_samples': samples}
