"""SGMN's temporal difference block (CLIP2Video's TDB as used by SGMN, baselines.md §11.2.2)."""
from __future__ import annotations

import torch
from torch import nn

from csa_bench.registry import MODELS

from .blocks import ResidualAttentionBlock


def interleave_index(num_frames: int) -> torch.Tensor:
    """Positions ``[0, T, 1, T+1, …, T−2, 2T−2, T−1]`` of ``cat(frames (T), differences (T−1))``.

    Puts difference token ``d_{t+1} = f_{t+1} − f_t`` between frames ``t`` and ``t+1``.
    """
    order = []
    for t in range(num_frames - 1):
        order += [t, num_frames + t]
    return torch.tensor(order + [num_frames - 1], dtype=torch.long)


@MODELS.register_module()
class SGMNTemporalDifferenceBlock(nn.Module):
    """Frame CLS vectors ``(B, T, D)`` -> temporally enhanced frames ``(B, T, D)``.

    1. Differences of adjacent frames ``(B, T−1, D)`` + position embeddings ``[1..T−1]`` -> one
       block (key mask = the later frame's mask) -> ``2σ(LN(·)) − 1`` (values in (−1, 1)).
    2. Interleave ``[f0, d1, f1, …, d_{T−1}, f_{T−1}]`` ``(B, 2T−1, D)``; add position embeddings (a
       difference token takes its left frame's position) and type embeddings (frame 1, difference 0);
       the key mask of a difference token is its left frame's (so the one right after the last real
       frame stays visible: the released quirk, kept).
    3. Two blocks with the additive key mask; keep the even positions (the frames) and add the raw
       CLS vectors as a residual.

    Args:
        dim: Width ``D``.
        num_heads: Heads of the blocks (8 in SGMN).
        num_layers: Blocks after the interleave (``cross_num_hidden_layers=2``).
        max_positions: Size of the position table (77, CLIP4Clip's cross config).
        mask_repeat: The released ``repeat(n_head)`` mask tiling (quirk ``tmc_mask_repeat``).
    """

    def __init__(self, dim: int = 512, num_heads: int = 8, num_layers: int = 2, max_positions: int = 77,
                 mask_repeat: bool = True) -> None:
        super().__init__()
        self.mask_repeat = mask_repeat
        self.position_embed = nn.Embedding(max_positions, dim)
        self.type_embed = nn.Embedding(2, dim)
        nn.init.normal_(self.position_embed.weight, std=0.02)
        nn.init.normal_(self.type_embed.weight, std=0.02)
        self.diff_block = ResidualAttentionBlock(dim, num_heads, mask_repeat)
        self.diff_norm = nn.LayerNorm(dim)
        self.blocks = nn.ModuleList(ResidualAttentionBlock(dim, num_heads, mask_repeat) for _ in range(num_layers))
        #: the last forward's difference tokens and interleaved sequence (for tests / diagnostics)
        self.last_differences: torch.Tensor | None = None
        self.last_sequence: torch.Tensor | None = None

    def forward(self, frames: torch.Tensor, frame_mask: torch.Tensor) -> torch.Tensor:
        """``frames (B, T, D)``, ``frame_mask (B, T)`` bool -> ``(B, T, D)``."""
        b, t, _ = frames.shape
        if t < 2:
            raise ValueError(f'the temporal difference block needs T >= 2 frames, got {t}')
        pos = self.position_embed(torch.arange(t, device=frames.device))[None].expand(b, -1, -1)  # (B, T, D)
        diff = frames[:, 1:] - frames[:, :-1] + pos[:, 1:]
        diff = self.diff_block(diff, frame_mask[:, 1:])
        diff = 2 * torch.sigmoid(self.diff_norm(diff)) - 1
        index = interleave_index(t).to(frames.device)
        seq = torch.cat([frames, diff], dim=1).index_select(1, index)                      # (B, 2T−1, D)
        seq_pos = torch.cat([pos, pos], dim=1).index_select(1, index)
        kinds = torch.cat([torch.ones(t, dtype=torch.long), torch.zeros(t, dtype=torch.long)]).to(frames.device)
        seq_type = self.type_embed(kinds.index_select(0, index))[None]
        seq_mask = torch.cat([frame_mask, frame_mask], dim=1).index_select(1, index)
        self.last_differences, self.last_sequence = diff.detach(), seq.detach()
        x = seq + seq_pos + seq_type
        for block in self.blocks:
            x = block(x, seq_mask)
        return x[:, 0::2] + frames
