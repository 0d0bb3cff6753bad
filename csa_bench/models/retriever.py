"""The composable video-to-shop retriever: encoder(s) + temporal pooling + a list of losses."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from mmengine.model import BaseModel
from torch import nn

from csa_bench.registry import MODELS


def build_module(cfg: dict | nn.Module | None) -> nn.Module | None:
    """Build-or-accept (mmpretrain's retriever pattern): configs are built, modules pass through."""
    if cfg is None or isinstance(cfg, nn.Module):
        return cfg
    return MODELS.build(cfg)


@MODELS.register_module()
class VideoShopRetriever(BaseModel):
    """Encode clips and shop images into one embedding space; train with a list of losses.

    Modes (mmengine ``BaseModel`` contract), given the preprocessor's batch dict:

    - ``loss``: needs ``video`` and ``image`` for the same samples (``pair`` role). Builds the
      batch dict below, calls every loss in order, returns the merged ``dict[str, Tensor]``.
    - ``predict``: one dict per sample, its ``data_samples`` entry plus ``embedding`` (E,)
      (L2-normalised clip embedding for clips, image embedding for images) and, when the model
      has a ``pairwise_scorer``, ``pair_state`` (dict of tensors without batch dim).
    - ``tensor``: the batch dict itself.

    Batch dict handed to the losses::

        frame_emb     (B, T, E)     per-frame embeddings (padded frames are zero)
        frame_tokens  (B, T, L, W)  per-frame tokens (padded frames are zero)
        frame_mask    (B, T) bool
        video_emb     (B, E)        L2-normalised pooled clip embedding
        image_emb     (B, E)        L2-normalised shop-image embedding
        image_tokens  (B, L, W)
        labels        (B,) long     product label (-1 unknown)
        category      (B,) long     category id (-1 unknown)
        data_samples  list[dict]
        encoder       the frame/image encoder module
    A loss may add keys for the losses after it (e.g. PMD's attention maps for PFR).

    Args:
        encoder: Frame and shop-image encoder config (shared between the views).
        pooling: Temporal pooling config ``(B, T, E), (B, T) -> (B, E)``.
        losses: Loss configs, run in order; each returns ``dict[str, Tensor]``.
        image_encoder: Optional separate shop-image tower (two-tower methods).
        data_preprocessor: Defaults to ``RetrievalDataPreprocessor``.
        skip_padded_frames: Encode only real frames. Numerically identical (no BatchNorm in
            the ViT; method.md §2) and faster; switch off for encoders with batch statistics.
        init_cfg: mmengine init config.
    """

    def __init__(self, encoder: dict | nn.Module, pooling: dict | nn.Module,
                 losses: list[dict | nn.Module] | None = None, image_encoder: dict | nn.Module | None = None,
                 data_preprocessor: dict | None = None, skip_padded_frames: bool = True,
                 init_cfg: dict | None = None) -> None:
        if data_preprocessor is None:
            data_preprocessor = dict(type='RetrievalDataPreprocessor')
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.encoder = build_module(encoder)
        self.image_encoder = build_module(image_encoder)
        self.pooling = build_module(pooling)
        self.losses = nn.ModuleList([build_module(cfg) for cfg in (losses or [])])
        self.skip_padded_frames = skip_padded_frames

    # ------------------------------------------------------------------ encoding
    @property
    def pairwise_scorer(self):
        """Object with ``score_pairs(query_state, gallery_state) -> (n,)``, or None."""
        return None

    def encode_image(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Shop images ``(N, C, H, W)`` -> (embedding ``(N, E)`` unnormalised, tokens ``(N, L, W)``)."""
        encoder = self.image_encoder if self.image_encoder is not None else self.encoder
        return encoder(image)

    def encode_frames(self, video: torch.Tensor, frame_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Clips ``(B, T, C, H, W)`` -> frame embeddings ``(B, T, E)`` and tokens ``(B, T, L, W)``.

        Padded frames get zero embeddings and tokens; with ``skip_padded_frames`` they are not
        encoded at all.
        """
        b, t = video.shape[:2]
        flat = video.flatten(0, 1)
        if not self.skip_padded_frames:
            emb, tokens = self.encoder(flat)
            keep = frame_mask.flatten().to(emb.dtype)
            emb, tokens = emb * keep[:, None], tokens * keep[:, None, None]
            return emb.view(b, t, -1), tokens.view(b, t, *tokens.shape[1:])
        index = frame_mask.flatten().nonzero().squeeze(1)
        emb_valid, tok_valid = self.encoder(flat[index])
        emb = emb_valid.new_zeros(b * t, emb_valid.shape[-1]).index_copy(0, index, emb_valid)
        tokens = tok_valid.new_zeros(b * t, *tok_valid.shape[1:]).index_copy(0, index, tok_valid)
        return emb.view(b, t, -1), tokens.view(b, t, *tokens.shape[1:])

    def pool(self, frame_emb: torch.Tensor, frame_mask: torch.Tensor) -> torch.Tensor:
        """Pool frames ``(B, T, E)`` -> L2-normalised clip embedding ``(B, E)``."""
        return F.normalize(self.pooling(frame_emb, frame_mask), dim=-1)

    def embed(self, inputs: dict) -> dict:
        """Encode whatever views the batch carries; see the class docstring for the keys."""
        out: dict = {}
        if inputs.get('video') is not None:
            frame_emb, frame_tokens = self.encode_frames(inputs['video'], inputs['frame_mask'])
            out.update(frame_emb=frame_emb, frame_tokens=frame_tokens, frame_mask=inputs['frame_mask'],
                       video_emb=self.pool(frame_emb, inputs['frame_mask']))
        if inputs.get('image') is not None:
            image_emb, image_tokens = self.encode_image(inputs['image'])
            out.update(image_emb=F.normalize(image_emb, dim=-1), image_tokens=image_tokens)
        return out

    # ------------------------------------------------------------------ modes
    def forward(self, inputs: dict, data_samples: list[dict] | None = None, mode: str = 'tensor'):
        if mode == 'loss':
            return self.loss(inputs, data_samples or [])
        if mode == 'predict':
            return self.predict(inputs, data_samples or [])
        if mode == 'tensor':
            return self.embed(inputs)
        raise ValueError(f"Invalid mode {mode!r}: expected 'loss', 'predict' or 'tensor'")

    def loss(self, inputs: dict, data_samples: list[dict]) -> dict[str, torch.Tensor]:
        """Run every loss on the pair batch; returns the merged loss/diagnostic dict."""
        if inputs.get('video') is None or inputs.get('image') is None:
            raise ValueError('loss mode needs clip/shop-image pairs: the training pipeline must pack '
                             'both "video" and "image" for every sample (role "pair")')
        if not torch.equal(inputs['video_index'], inputs['image_index']):
            raise ValueError('loss mode needs every sample to carry both a clip and a shop image')
        batch = self.embed(inputs)
        device = batch['video_emb'].device
        batch.update(
            labels=torch.tensor([int(s.get('label', -1)) for s in data_samples], device=device),
            category=torch.tensor([int(s.get('category_id', -1)) for s in data_samples], device=device),
            data_samples=data_samples, encoder=self.encoder)
        losses: dict[str, torch.Tensor] = {}
        for loss in self.losses:
            for key, value in loss(batch).items():
                if key in losses:
                    raise KeyError(f'two losses returned the key {key!r}; give them distinct names')
                losses[key] = value
        return losses

    def pair_states(self, batch: dict) -> tuple[list[dict] | None, list[dict] | None]:
        """Per-sample states for the pairwise scorer: clips, then images (None when absent).

        Default: clip ``{'tokens': (T, L, W), 'frame_mask': (T,)}``, image ``{'tokens': (L, W)}``.
        """
        clips = images = None
        if 'frame_tokens' in batch:
            clips = [{'tokens': tok, 'frame_mask': m}
                     for tok, m in zip(batch['frame_tokens'], batch['frame_mask'], strict=True)]
        if 'image_tokens' in batch:
            images = [{'tokens': tok} for tok in batch['image_tokens']]
        return clips, images

    def predict(self, inputs: dict, data_samples: list[dict]) -> list[dict]:
        """One output dict per sample: its meta + ``embedding`` (E,) (+ ``pair_state``)."""
        batch = self.embed(inputs)
        outputs = [dict(sample) for sample in data_samples]
        clip_states, image_states = (self.pair_states(batch) if self.pairwise_scorer is not None
                                     else (None, None))
        if inputs.get('video') is not None:
            for j, i in enumerate(inputs['video_index'].tolist()):
                outputs[i]['embedding'] = batch['video_emb'][j].detach()
                if clip_states is not None:
                    outputs[i]['pair_state'] = {k: v.detach() for k, v in clip_states[j].items()}
        if inputs.get('image') is not None:
            for j, i in enumerate(inputs['image_index'].tolist()):
                outputs[i]['embedding'] = batch['image_emb'][j].detach()
                if image_states is not None:
                    outputs[i]['pair_state'] = {k: v.detach() for k, v in image_states[j].items()}
        return outputs
