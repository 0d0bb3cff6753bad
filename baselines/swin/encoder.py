"""timm Swin behind the encoder interface (timm's Swin returns NHWC features, unlike its CNNs)."""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from csa_bench.registry import MODELS
from csa_bench.utils.hints import missing_weights


@MODELS.register_module()
class SwinEncoder(nn.Module):
    """A timm Swin Transformer: ``forward(images (N, C, H, W)) -> (embedding (N, E), tokens (N, h·w, W))``.

    The embedding is ``Linear(GAP(last stage))`` (unnormalised; the retriever L2-normalises); tokens
    are the last stage's ``h × w`` map (NHWC in timm) flattened, after the final LayerNorm.

    Args:
        model_name: A timm Swin name (``swin_base_patch4_window7_224``, ``swin_tiny_patch4_window7_224``).
        embed_dim: E (512, baselines.md §9).
        pretrained: Local timm weight file; None for random init. Nothing is downloaded.
        **swin_kwargs: ``SwinTransformer`` arguments overriding the named model's (``img_size``,
            ``window_size``, ``embed_dim`` as ``swin_width``, ``depths``, ``num_heads``, ...).
    """

    def __init__(self, model_name: str = 'swin_base_patch4_window7_224', embed_dim: int = 512,
                 pretrained: str | None = None, swin_width: int | None = None, **swin_kwargs) -> None:
        super().__init__()
        import timm

        if not model_name.startswith('swin'):
            raise ValueError(f'SwinEncoder expects a timm Swin model, got {model_name!r}')
        overlay = None
        if pretrained is not None:
            if not Path(pretrained).is_file():
                raise FileNotFoundError(missing_weights(f'Swin weights for {model_name!r}', pretrained))
            overlay = dict(file=str(pretrained))
        if swin_width is not None:  # timm's name for the stage-1 width clashes with ours (E)
            swin_kwargs['embed_dim'] = swin_width
        self.model = timm.create_model(model_name, pretrained=pretrained is not None, num_classes=0,
                                       pretrained_cfg_overlay=overlay, **swin_kwargs)
        self.width = int(self.model.num_features)
        self.proj = nn.Linear(self.width, embed_dim)
        self.embed_dim = embed_dim
        self.model_name = model_name

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Encode ``(N, C, H, W)``; see the class docstring."""
        feats = self.model.forward_features(images)                       # (N, h, w, W), normed
        pooled = self.model.forward_head(feats, pre_logits=True)          # GAP -> (N, W)
        return self.proj(pooled), feats.flatten(1, 2)

    def extra_repr(self) -> str:
        return f'model_name={self.model_name!r}, embed_dim={self.embed_dim}, width={self.width}'
