"""A retriever whose video tower encodes whole clips (frames attend to one another), not single frames."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from csa_bench.models.retriever import VideoShopRetriever
from csa_bench.registry import MODELS


@MODELS.register_module()
class ClipLevelRetriever(VideoShopRetriever):
    """``VideoShopRetriever`` for clip-level video towers (NVAN, TimeSformer).

    The frame encoder is replaced by a clip encoder exposing
    ``forward_clip(video (B, T, C, H, W), frame_mask (B, T)) -> dict`` with

        clip_emb      (B, E)        clip embedding, unnormalised
        frame_emb     (B, T, E)     per-frame embeddings (zero for padded frames)
        frame_tokens  (B, T, L, W)  per-frame tokens (zero for padded frames)

    so the batch dict keeps the keys of the base class (``video_emb`` is ``clip_emb`` L2-normalised).
    Shop images go through ``image_encoder`` when given (two towers), else through the clip
    encoder's ``forward(images) -> (embedding, tokens)``. No pooling module: the tower pools.

    Args:
        encoder: Clip encoder config (see above); also the image encoder when ``image_encoder`` is None.
        losses: Loss configs, run in order.
        image_encoder: Optional separate shop-image tower.
        data_preprocessor: Defaults to ``RetrievalDataPreprocessor``.
        init_cfg: mmengine init config.
    """

    def __init__(self, encoder: dict | nn.Module, losses: list[dict | nn.Module] | None = None,
                 image_encoder: dict | nn.Module | None = None, data_preprocessor: dict | None = None,
                 init_cfg: dict | None = None) -> None:
        super().__init__(encoder=encoder, pooling=None, losses=losses, image_encoder=image_encoder,
                         data_preprocessor=data_preprocessor, skip_padded_frames=False, init_cfg=init_cfg)
        if not callable(getattr(self.encoder, 'forward_clip', None)):
            raise TypeError(f'ClipLevelRetriever needs an encoder with forward_clip(video, frame_mask); '
                            f'{type(self.encoder).__name__} has none')

    def encode_frames(self, video: torch.Tensor,
                      frame_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-frame embeddings ``(B, T, E)`` and tokens ``(B, T, L, W)`` from the clip tower."""
        out = self.encoder.forward_clip(video, frame_mask)
        return out['frame_emb'], out['frame_tokens']

    def embed(self, inputs: dict) -> dict:
        """As the base class, with the clip embedding taken from the clip tower."""
        out: dict = {}
        if inputs.get('video') is not None:
            clip = self.encoder.forward_clip(inputs['video'], inputs['frame_mask'])
            out.update(frame_emb=clip['frame_emb'], frame_tokens=clip['frame_tokens'],
                       frame_mask=inputs['frame_mask'], video_emb=F.normalize(clip['clip_emb'], dim=-1))
        if inputs.get('image') is not None:
            image_emb, image_tokens = self.encode_image(inputs['image'])
            out.update(image_emb=F.normalize(image_emb, dim=-1), image_tokens=image_tokens)
        return out
