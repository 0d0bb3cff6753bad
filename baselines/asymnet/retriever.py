"""AsymNet-lite retriever: CNN frames -> LSTM steps; CNN image -> feature; pairwise similarity head."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from csa_bench.models.retriever import VideoShopRetriever, build_module
from csa_bench.registry import MODELS


def check_prefix_mask(frame_mask: torch.Tensor) -> None:
    """Raise unless every clip's real frames come first (padding at the end).

    The LSTM is causal, so trailing padding never reaches a real step; a hole would.
    """
    holes = (frame_mask[:, 1:] & ~frame_mask[:, :-1]).any(dim=1)
    if bool(holes.any()):
        raise ValueError(f'clips {holes.nonzero().flatten().tolist()} have padded frames before real ones; '
                         'the recurrent baselines need padding at the end of the clip')


@MODELS.register_module()
class AsymNetRetriever(VideoShopRetriever):
    """Video2Shop's asymmetric network, lite (baselines.md §5).

    Video side: shared CNN per frame ``(B, T, D)`` -> 1-layer LSTM -> steps ``h (B, T, H)`` (zero on
    padded frames). Image side: the same CNN -> ``Linear(D, H)`` -> ``f (B, H)``. Matching is the
    ``AsymNetSimilarityHead`` (per-step MLP + gated fusion), which is the ``pairwise_scorer``.

    Batch dict: the base keys plus ``step_feats (B, T, H)``, ``image_feat (B, H)`` and
    ``pair_head``. ``video_emb`` is the L2-normalised masked mean of ``h`` and ``image_emb`` the
    L2-normalised ``f``: the embedding used to shortlist candidates before pairwise re-ranking.
    No loss aligns them directly, so the shortlist should be long (or exhaustive) for AsymNet.

    Args:
        encoder: Frame / image CNN config (``*Encoder``; its ``embed_dim`` is ``D``).
        hidden_dim: LSTM hidden size ``H`` (512 full).
        head: ``AsymNetSimilarityHead`` config; its ``dim`` must equal ``hidden_dim``.
        losses: Loss configs (``AsymNetBCELoss``).
        pooling: Pooling of the steps for ``video_emb`` (masked mean by default).
        **kwargs: Other ``VideoShopRetriever`` arguments.
    """

    def __init__(self, encoder: dict | nn.Module, hidden_dim: int = 512, head: dict | nn.Module | None = None,
                 losses: list[dict | nn.Module] | None = None, pooling: dict | nn.Module | None = None,
                 **kwargs) -> None:
        super().__init__(encoder=encoder, pooling=pooling or dict(type='MeanPooling'), losses=losses, **kwargs)
        dim = self.encoder.embed_dim
        self.lstm = nn.LSTM(dim, hidden_dim, num_layers=1, batch_first=True)
        self.image_proj = nn.Linear(dim, hidden_dim)
        self.head = build_module(head if head is not None else
                                 dict(type='AsymNetSimilarityHead', dim=hidden_dim))
        if self.head.dim != hidden_dim:
            raise ValueError(f'AsymNet head dim {self.head.dim} != hidden_dim {hidden_dim}')

    @property
    def pairwise_scorer(self) -> nn.Module:
        """The similarity head (``score_pairs``)."""
        return self.head

    def temporal(self, frame_emb: torch.Tensor, frame_mask: torch.Tensor) -> torch.Tensor:
        """LSTM over frames ``(B, T, D)`` -> steps ``(B, T, H)``, zero where ``frame_mask`` is False."""
        check_prefix_mask(frame_mask)
        steps, _ = self.lstm(frame_emb)
        return steps * frame_mask[..., None].to(steps.dtype)

    def embed(self, inputs: dict) -> dict:
        """Encode the views present; adds ``step_feats``, ``image_feat`` and ``pair_head``."""
        out: dict = {'pair_head': self.head}
        if inputs.get('video') is not None:
            mask = inputs['frame_mask']
            frame_emb, frame_tokens = self.encode_frames(inputs['video'], mask)
            steps = self.temporal(frame_emb, mask)
            out.update(frame_emb=frame_emb, frame_tokens=frame_tokens, frame_mask=mask, step_feats=steps,
                       video_emb=F.normalize(self.pooling(steps, mask), dim=-1))
        if inputs.get('image') is not None:
            image_emb, image_tokens = self.encode_image(inputs['image'])
            feat = self.image_proj(image_emb)
            out.update(image_feat=feat, image_emb=F.normalize(feat, dim=-1), image_tokens=image_tokens)
        return out

    def pair_states(self, batch: dict) -> tuple[list[dict] | None, list[dict] | None]:
        """Clips ``{'steps': (T, H), 'frame_mask': (T,)}``, images ``{'feat': (H,)}``."""
        clips = images = None
        if 'step_feats' in batch:
            clips = [{'steps': h, 'frame_mask': m}
                     for h, m in zip(batch['step_feats'], batch['frame_mask'], strict=True)]
        if 'image_feat' in batch:
            images = [{'feat': f} for f in batch['image_feat']]
        return clips, images
