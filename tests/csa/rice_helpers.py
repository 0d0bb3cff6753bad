"""Small shared builders for the RICE tests (tiny shapes, deterministic)."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def token_batch(b: int = 4, t: int = 3, length: int = 5, width: int = 16, embed: int = 8, seed: int = 0,
                requires_grad: bool = False) -> dict:
    """A loss batch dict of random tokens/embeddings; clip i has ``1 + i % t`` real frames."""
    g = torch.Generator().manual_seed(seed)
    mask = torch.zeros(b, t, dtype=torch.bool)
    for i in range(b):
        mask[i, : 1 + i % t] = True
    frame_tokens = torch.randn(b, t, length, width, generator=g) * mask[..., None, None]
    batch = dict(image_tokens=torch.randn(b, length, width, generator=g), frame_tokens=frame_tokens,
                 frame_mask=mask, video_emb=F.normalize(torch.randn(b, embed, generator=g), dim=-1),
                 image_emb=F.normalize(torch.randn(b, embed, generator=g), dim=-1),
                 labels=torch.arange(b), data_samples=[dict(item_id=f'p{i}') for i in range(b)])
    if requires_grad:
        for key in ('image_tokens', 'frame_tokens'):
            batch[key].requires_grad_(True)
    return batch
