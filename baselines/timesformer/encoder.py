"""Divided space-time attention (TimeSformer) with masked padded frames; without time it is a ViT."""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from csa_bench.registry import MODELS
from csa_bench.utils.hints import missing_weights


class DividedSpaceTimeBlock(nn.Module):
    """One TimeSformer block: temporal attention, spatial attention (CLS joins every frame), MLP.

    Parameter names follow timm's ViT ``Block`` (``norm1``, ``attn``, ``norm2``, ``mlp``) so that an
    ImageNet ViT's weights load into the spatial path; the temporal path adds ``temporal_norm1``,
    ``temporal_attn`` and ``temporal_fc`` (the official code's names).

    Args:
        dim: Token width.
        num_heads: Attention heads.
        mlp_ratio: MLP hidden width / ``dim``.
        temporal: Include temporal attention (video tower) or not (image tower = plain ViT block).
        zero_init_temporal_fc: Zero ``temporal_fc`` (official: every block but the first).
    """

    def __init__(self, dim: int, num_heads: int, mlp_ratio: float = 4.0, temporal: bool = True,
                 zero_init_temporal_fc: bool = True) -> None:
        super().__init__()
        from timm.layers import Attention, Mlp

        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, num_heads=num_heads, qkv_bias=True)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, int(dim * mlp_ratio))
        self.temporal = temporal
        if temporal:
            self.temporal_norm1 = nn.LayerNorm(dim, eps=1e-6)
            self.temporal_attn = Attention(dim, num_heads=num_heads, qkv_bias=True)
            self.temporal_fc = nn.Linear(dim, dim)
            if zero_init_temporal_fc:
                nn.init.zeros_(self.temporal_fc.weight)
                nn.init.zeros_(self.temporal_fc.bias)

    def forward(self, x: torch.Tensor, frame_mask: torch.Tensor) -> torch.Tensor:
        """Update ``x (B, 1 + T·P, D)`` (CLS, then patches frame by frame) given ``frame_mask (B, T)``."""
        b, t = frame_mask.shape
        cls, patches = x[:, :1], x[:, 1:]
        d = x.shape[-1]
        p = patches.shape[1] // t
        if self.temporal:
            # Each patch attends to the same location in the real frames (key mask as an additive
            # bias: every clip has >= 1 real frame, so no row is all -inf).
            xt = patches.view(b, t, p, d).transpose(1, 2).reshape(b * p, t, d)
            bias = torch.zeros(b, t, dtype=x.dtype, device=x.device).masked_fill(~frame_mask, float('-inf'))
            bias = bias[:, None, :].expand(b, p, t).reshape(b * p, 1, 1, t)
            res = self.temporal_fc(self.temporal_attn(self.temporal_norm1(xt), attn_mask=bias))
            patches = patches + res.view(b, p, t, d).transpose(1, 2).reshape(b, t * p, d)
        # Spatial attention within each frame, the CLS token joining every frame.
        xs = torch.cat([cls.expand(b, t, d).reshape(b * t, 1, d), patches.reshape(b * t, p, d)], dim=1)
        res = self.attn(self.norm1(xs)).view(b, t, 1 + p, d)
        weights = frame_mask.to(x.dtype)[:, :, None]
        cls = cls + ((res[:, :, 0] * weights).sum(1) / weights.sum(1))[:, None]  # mean over real frames
        patches = patches + res[:, :, 1:].reshape(b, t * p, d)
        x = torch.cat([cls, patches], dim=1)
        return x + self.mlp(self.norm2(x))


@MODELS.register_module()
class TimeSformerEncoder(nn.Module):
    """A ViT whose blocks are divided space-time blocks (``temporal=True``) or plain (image tower).

    ``forward_clip(video (B, T, C, H, W), frame_mask (B, T)) -> dict`` (``ClipLevelRetriever``):
    ``clip_emb (B, E)`` = ``proj(norm(CLS))``; ``frame_emb (B, T, E)`` = ``proj`` of each real frame's
    mean patch token after the final norm (zero when padded); ``frame_tokens (B, T, P, W)`` (zero
    when padded). ``forward(images (N, C, H, W)) -> (embedding (N, E), tokens (N, 1 + P, W))``
    encodes single images (no time embedding).

    Args:
        img_size: Input size.
        patch_size: Patch size.
        width: Token width W.
        depth: Blocks.
        num_heads: Attention heads.
        embed_dim: E (512, baselines.md §8).
        num_frames: Maximum T (size of the learned time embedding); 0 for an image tower.
        temporal: Divided space-time blocks (video tower) or plain ViT blocks (image tower).
        pretrained: Local timm ViT checkpoint (``state_dict`` with timm key names, e.g. from
            ``vit_base_patch16_224``) loaded into the spatial path; None for random init.
    """

    def __init__(self, img_size: int = 224, patch_size: int = 16, width: int = 768, depth: int = 12,
                 num_heads: int = 12, embed_dim: int = 512, num_frames: int = 10, temporal: bool = True,
                 pretrained: str | None = None) -> None:
        super().__init__()
        from timm.layers import PatchEmbed

        if temporal and num_frames < 1:
            raise ValueError('a temporal TimeSformerEncoder needs num_frames >= 1')
        self.patch_embed = PatchEmbed(img_size=img_size, patch_size=patch_size, embed_dim=width)
        num_patches = self.patch_embed.num_patches
        self.cls_token = nn.Parameter(torch.zeros(1, 1, width))
        self.pos_embed = nn.Parameter(torch.zeros(1, 1 + num_patches, width))
        self.time_embed = nn.Parameter(torch.zeros(1, num_frames, width)) if temporal else None
        self.blocks = nn.ModuleList([
            DividedSpaceTimeBlock(width, num_heads, temporal=temporal, zero_init_temporal_fc=i > 0)
            for i in range(depth)])
        self.norm = nn.LayerNorm(width, eps=1e-6)
        self.proj = nn.Linear(width, embed_dim)
        for param in (self.cls_token, self.pos_embed) + ((self.time_embed,) if temporal else ()):
            nn.init.trunc_normal_(param, std=0.02)  # timm / official ViT init
        self.temporal, self.num_frames = temporal, num_frames
        self.width, self.embed_dim, self.num_patches = width, embed_dim, num_patches
        if pretrained is not None:
            self.load_vit(pretrained)

    def load_vit(self, path: str | Path) -> None:
        """Load an ImageNet ViT (timm key names) into patch/pos/CLS embeddings, spatial blocks and norm.

        Raises:
            FileNotFoundError: no file at ``path``.
            ValueError: keys or shapes of the ViT path do not match this architecture.
        """
        from timm.layers import resample_abs_pos_embed

        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(missing_weights('ViT weights', path))
        state = torch.load(str(path), map_location='cpu', weights_only=True)
        state = state.get('state_dict', state.get('model', state))
        state = {k: v for k, v in state.items() if not k.startswith(('head.', 'fc_norm.'))}
        if 'pos_embed' in state and state['pos_embed'].shape != self.pos_embed.shape:
            grid = int(self.num_patches ** 0.5)
            state['pos_embed'] = resample_abs_pos_embed(state['pos_embed'], (grid, grid), num_prefix_tokens=1)
        result = self.load_state_dict(state, strict=False)
        missing = [k for k in result.missing_keys if not k.startswith(('proj.', 'time_embed'))
                   and '.temporal_' not in k]
        if missing or result.unexpected_keys:
            raise ValueError(f'{path}: not a matching timm ViT: missing {missing[:8]}, '
                             f'unexpected {result.unexpected_keys[:8]}')

    def _tokens(self, images: torch.Tensor, t: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Space (+ time) embedded patches: ``(N·T, C, H, W)`` -> CLS ``(N, 1, W)``, ``(N, T·P, W)``."""
        patches = self.patch_embed(images) + self.pos_embed[:, 1:]
        n = patches.shape[0] // t
        patches = patches.view(n, t, self.num_patches, self.width)
        if self.time_embed is not None:
            if t > self.num_frames:
                raise ValueError(f'clip has {t} frames but TimeSformerEncoder was built for num_frames='
                                 f'{self.num_frames}')
            patches = patches + self.time_embed[:, :t, None]
        cls = (self.cls_token + self.pos_embed[:, :1]).expand(n, 1, self.width)
        return cls, patches.reshape(n, t * self.num_patches, self.width)

    def forward_clip(self, video: torch.Tensor, frame_mask: torch.Tensor) -> dict[str, torch.Tensor]:
        """See the class docstring."""
        if not self.temporal:
            raise ValueError('this TimeSformerEncoder has no temporal attention (an image tower)')
        b, t = frame_mask.shape
        cls, patches = self._tokens(video.flatten(0, 1), t)
        x = torch.cat([cls, patches], dim=1)
        for block in self.blocks:
            x = block(x, frame_mask)
        x = self.norm(x)
        keep = frame_mask.to(x.dtype)
        frame_tokens = x[:, 1:].view(b, t, self.num_patches, self.width) * keep[:, :, None, None]
        frame_emb = self.proj(frame_tokens.mean(2)) * keep[:, :, None]
        return dict(clip_emb=self.proj(x[:, 0]), frame_emb=frame_emb, frame_tokens=frame_tokens)

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Encode single images ``(N, C, H, W)``: CLS embedding ``(N, E)`` and tokens ``(N, 1 + P, W)``."""
        # A video tower encodes a still as a 1-frame clip (with frame 0's time embedding).
        cls, patches = self._tokens(images, 1)
        mask = torch.ones(images.shape[0], 1, dtype=torch.bool, device=images.device)
        x = torch.cat([cls, patches], dim=1)
        for block in self.blocks:
            x = block(x, mask)
        x = self.norm(x)
        return self.proj(x[:, 0]), x

    def extra_repr(self) -> str:
        return (f'width={self.width}, depth={len(self.blocks)}, patches={self.num_patches}, '
                f'embed_dim={self.embed_dim}, temporal={self.temporal}, num_frames={self.num_frames}')
