"""Any timm backbone behind the encoder interface, with local-only pretrained weights."""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from csa_bench.registry import MODELS
from csa_bench.utils.hints import missing_weights


@MODELS.register_module()
class TimmEncoder(nn.Module):
    """A timm model as a frame / shop-image encoder.

    ``forward(images (N, C, H, W)) -> (embedding (N, E), tokens (N, L, W))``:
    tokens are ``forward_features`` reshaped to ``(N, L, W)`` (ViT-like outputs pass through,
    CNN maps ``(N, W, h, w)`` become ``(N, h·w, W)``); the embedding is timm's pooled pre-logits
    feature projected to ``embed_dim`` by a bias-free Linear (identity when ``embed_dim`` is None).

    Not an mmengine ``BaseModule``: its ``init_weights`` would re-initialise loaded weights.

    Args:
        model_name: Any ``timm.list_models()`` name.
        embed_dim: Output embedding size E; None keeps timm's ``num_features``.
        pretrained: Local weight file (timm's own format; loaded through timm's filters with
            ``pretrained_cfg_overlay=dict(file=...)``); None for random init. Nothing is downloaded.
        pretrained_cfg_overlay: Extra pretrained-cfg fields (mean/std/input size ...).
        **model_kwargs: Passed to ``timm.create_model`` (e.g. ``img_size``, ``drop_path_rate``).
    """

    def __init__(self, model_name: str, embed_dim: int | None = None, pretrained: str | None = None,
                 pretrained_cfg_overlay: dict | None = None, **model_kwargs) -> None:
        super().__init__()
        import timm

        overlay = dict(pretrained_cfg_overlay or {})
        if pretrained is not None:
            if not Path(pretrained).is_file():
                raise FileNotFoundError(missing_weights(f'timm weights for {model_name!r}', pretrained))
            overlay['file'] = str(pretrained)
        # num_classes=0: no classifier, forward_head(pre_logits=True) gives the pooled feature.
        self.model = timm.create_model(model_name, pretrained=pretrained is not None, num_classes=0,
                                       pretrained_cfg_overlay=overlay or None, **model_kwargs)
        self.model_name = model_name
        info = getattr(self.model, 'feature_info', None)
        # The channel count of forward_features: the last feature stage when timm records it
        # (CNNs with a conv head report num_features = the head's width instead).
        self.width = int(info[-1]['num_chs']) if info else int(self.model.num_features)
        pooled = int(self.model.num_features)
        self.embed_dim = embed_dim if embed_dim is not None else pooled
        self.proj = nn.Linear(pooled, embed_dim, bias=False) if embed_dim is not None else nn.Identity()

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Encode ``(N, C, H, W)`` into ``embedding (N, E)`` and ``tokens (N, L, W)``."""
        feats = self.model.forward_features(images)
        pooled = self.model.forward_head(feats, pre_logits=True)
        if feats.dim() == 4:  # NCHW feature map
            tokens = feats.flatten(2).transpose(1, 2)
        elif feats.dim() == 3:
            tokens = feats
        else:
            raise ValueError(f'{self.model_name}: forward_features returned shape {tuple(feats.shape)}; '
                             'expected (N, L, W) or (N, W, h, w)')
        return self.proj(pooled), tokens

    def extra_repr(self) -> str:
        return f'model_name={self.model_name!r}, embed_dim={self.embed_dim}, width={self.width}'
