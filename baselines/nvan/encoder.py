"""The NVAN clip network: ResNet stages interleaved with masked non-local blocks, BN-neck embedding."""
from __future__ import annotations

import torch
from torch import nn

from csa_bench.registry import MODELS

from .non_local import MaskedNonLocalBlock


@MODELS.register_module()
class NVANEncoder(nn.Module):
    """ResNet + non-local blocks after the configured stages; an image is a 1-frame clip.

    ``forward_clip(video (B, T, C, H, W), frame_mask (B, T)) -> dict`` (the ``ClipLevelRetriever``
    contract): ``frame_emb (B, T, E)`` = ``Linear(spatial GAP)`` of each real frame (zero when
    padded), ``clip_emb (B, E)`` = BN-neck of their masked mean (= spatio-temporal GAP, since every
    frame has the same ``h·w``), ``frame_tokens (B, T, h·w, C)``.
    ``forward(images (N, C, H, W)) -> (embedding (N, E), tokens (N, h·w, C))`` runs 1-frame clips.

    Padded frames never enter the CNN (BatchNorm sees real frames only): real frames are encoded as
    one flat batch and scattered into a zero ``(B, T, ...)`` volume only for the non-local blocks.

    Args:
        model_name: A timm ResNet (``resnet18`` tiny, ``resnet50`` full).
        embed_dim: E (512, baselines.md §7).
        non_local_stages: ResNet stages (1-4) followed by a non-local block: (3, 4) per the lite spec.
        pretrained: Local timm weight file for the ResNet, or None (random init).
        **resnet_kwargs: ``timm.create_model`` arguments (e.g. ``channels``, ``stem_width`` for a
            narrower CPU twin).
    """

    def __init__(self, model_name: str = 'resnet18', embed_dim: int = 512,
                 non_local_stages: tuple[int, ...] = (3, 4), pretrained: str | None = None,
                 **resnet_kwargs) -> None:
        super().__init__()
        from plugins.encoders import TimmEncoder

        self.resnet = TimmEncoder(model_name, embed_dim=None, pretrained=pretrained, **resnet_kwargs).model
        if not all(hasattr(self.resnet, f'layer{i}') for i in range(1, 5)):
            raise ValueError(f'NVANEncoder needs a timm ResNet with layer1..layer4; {model_name!r} has none')
        bad = [s for s in non_local_stages if s not in (1, 2, 3, 4)]
        if bad:
            raise ValueError(f'non_local_stages must be within 1..4, got {bad}')
        self.non_local_stages = tuple(non_local_stages)
        self.non_local = nn.ModuleDict({
            str(s): MaskedNonLocalBlock(self._stage_channels(s)) for s in self.non_local_stages})
        self.width = self._stage_channels(4)
        self.fc = nn.Linear(self.width, embed_dim)
        self.neck = nn.BatchNorm1d(embed_dim)  # BN-neck (Luo et al.'s bag of tricks)
        self.embed_dim = embed_dim
        self.model_name = model_name

    def _stage_channels(self, stage: int) -> int:
        layer = getattr(self.resnet, f'layer{stage}')
        last = layer[-1]
        conv = last.conv3 if hasattr(last, 'conv3') else last.conv2  # Bottleneck vs BasicBlock
        return int(conv.out_channels)

    def forward_clip(self, video: torch.Tensor, frame_mask: torch.Tensor) -> dict[str, torch.Tensor]:
        """See the class docstring; ``video`` is normalised, padded frames may hold anything."""
        b, t = video.shape[:2]
        index = frame_mask.flatten().nonzero().squeeze(1)                      # real frames in (B·T)
        net = self.resnet
        x = net.maxpool(net.act1(net.bn1(net.conv1(video.flatten(0, 1)[index]))))
        for stage in range(1, 5):
            x = getattr(net, f'layer{stage}')(x)
            if stage in self.non_local_stages:
                volume = x.new_zeros(b * t, *x.shape[1:]).index_copy(0, index, x)
                volume = self.non_local[str(stage)](volume.view(b, t, *x.shape[1:]), frame_mask)
                x = volume.flatten(0, 1)[index]
        frame_valid = self.fc(x.mean(dim=(2, 3)))                               # (Nv, E)
        frame_emb = frame_valid.new_zeros(b * t, frame_valid.shape[1]).index_copy(0, index, frame_valid)
        frame_emb = frame_emb.view(b, t, -1)
        tokens = x.flatten(2).transpose(1, 2)                                   # (Nv, hw, C)
        frame_tokens = tokens.new_zeros(b * t, *tokens.shape[1:]).index_copy(0, index, tokens)
        counts = frame_mask.sum(1, keepdim=True).to(frame_emb.dtype)
        clip_emb = self.neck(frame_emb.sum(1) / counts)
        return dict(clip_emb=clip_emb, frame_emb=frame_emb,
                    frame_tokens=frame_tokens.view(b, t, *tokens.shape[1:]))

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Encode shop images ``(N, C, H, W)`` as 1-frame clips."""
        mask = torch.ones(images.shape[0], 1, dtype=torch.bool, device=images.device)
        out = self.forward_clip(images[:, None], mask)
        return out['clip_emb'], out['frame_tokens'][:, 0]

    def extra_repr(self) -> str:
        return (f'model_name={self.model_name!r}, embed_dim={self.embed_dim}, '
                f'non_local_stages={self.non_local_stages}')
