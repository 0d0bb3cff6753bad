"""SEAM-lite retriever: shared CNN trunk -> 256-d descriptors; non-local + attention pooling on clips."""
from __future__ import annotations

import torch.nn.functional as F
from torch import nn

from csa_bench.models.retriever import VideoShopRetriever
from csa_bench.registry import MODELS

from .modules import SEAMDescriptorHead, SEAMMatchHead, SEAMTemporalAggregator


@MODELS.register_module()
class SEAMRetriever(VideoShopRetriever):
    """SEAM Match R-CNN, lite (baselines.md §6).

    Frames and shop images share the CNN trunk and the ``SEAMDescriptorHead`` (``d (N, D)``); a
    clip's descriptors go through ``SEAMTemporalAggregator`` (``a (B, D)``); the shop side is
    ``d_img`` itself (pooling a 1-element sequence is the identity). ``SEAMMatchHead`` scores
    ``(a − b)²`` and is the (decomposable) ``pairwise_scorer``.

    Batch dict: the base keys (``frame_emb`` = frame descriptors ``(B, T, D)``) plus
    ``clip_desc (B, D)``, ``image_desc (B, D)`` and ``pair_head``. ``video_emb`` / ``image_emb`` are
    the L2-normalised descriptors (the shortlist embedding); states are ``{'desc': (D,)}``.

    Args:
        encoder: CNN trunk config (``TimmEncoder``; tokens = its last-stage map, width ``C``).
        dim: Descriptor size ``D`` (256).
        losses: Loss configs (``SEAMMatchLoss``).
        **kwargs: Other ``VideoShopRetriever`` arguments (``pooling`` is unused: it is the aggregator).
    """

    def __init__(self, encoder: dict | nn.Module, dim: int = 256, losses: list[dict | nn.Module] | None = None,
                 **kwargs) -> None:
        kwargs.setdefault('pooling', None)
        super().__init__(encoder=encoder, losses=losses, **kwargs)
        self.descriptor = SEAMDescriptorHead(self.encoder.width, dim)
        self.aggregator = SEAMTemporalAggregator(dim)
        self.head = SEAMMatchHead(dim)

    @property
    def pairwise_scorer(self) -> nn.Module:
        """The matching head (``score_pairs`` and the exact ``score_matrix``)."""
        return self.head

    def embed(self, inputs: dict) -> dict:
        """Encode the views present; adds ``clip_desc``, ``image_desc`` and ``pair_head``."""
        out: dict = {'pair_head': self.head}
        if inputs.get('video') is not None:
            video, mask = inputs['video'], inputs['frame_mask']
            b, t = video.shape[:2]
            # Descriptors of the real frames only: BatchNorm statistics must not see padding.
            index = mask.flatten().nonzero().squeeze(1)
            _, tokens = self.encoder(video.flatten(0, 1)[index])
            desc_valid = self.descriptor(tokens)
            frames = desc_valid.new_zeros(b * t, desc_valid.shape[-1]).index_copy(0, index, desc_valid)
            frames = frames.view(b, t, -1)
            clip = self.aggregator(frames, mask)
            out.update(frame_emb=frames, frame_mask=mask, clip_desc=clip, video_emb=F.normalize(clip, dim=-1))
        if inputs.get('image') is not None:
            _, tokens = self.encode_image(inputs['image'])
            desc = self.descriptor(tokens)
            out.update(image_desc=desc, image_emb=F.normalize(desc, dim=-1), image_tokens=tokens)
        return out

    def pair_states(self, batch: dict) -> tuple[list[dict] | None, list[dict] | None]:
        """Clips ``{'desc': a (D,)}``, images ``{'desc': d_img (D,)}``."""
        clips = [{'desc': a} for a in batch['clip_desc']] if 'clip_desc' in batch else None
        images = [{'desc': d} for d in batch['image_desc']] if 'image_desc' in batch else None
        return clips, images
