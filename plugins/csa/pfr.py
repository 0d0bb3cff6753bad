"""PFR: reconstruct the image tokens from the video tokens through PMD's attention (method.md §6)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from csa_bench.registry import MODELS

from .pmd import POSITIVE_MAPS_KEY


@MODELS.register_module()
class PFRLoss(nn.Module):
    """Patch feature reconstruction on the positive pairs' cross-attention maps.

    Must run **after** ``PMDLoss`` in the loss list: it reads ``batch['pmd_positive_maps']``
    ``(B, h, L, T·L)`` (``A'``, before dropout), plus ``frame_tokens (B, T, L, W)``,
    ``frame_mask (B, T)`` and ``image_tokens (B, L, W)``. ``RICERetriever`` checks the order.

    ``R = ReLU(conv(h/2→1)(ReLU(conv(h→h/2)(A'))))`` with every weight 1 and bias 0 at init (so
    ``R = (h/2)·Σ_h A'_h``); ``Î = softmax_keys(R) · sg(V_m)``; ``L = mean((Î − sg(H_img))²)``.
    Source and target are detached: gradients reach only the maps (method.md §6).
    Returns ``{'loss_pfr': ()}``.

    Args:
        num_heads: h of the PMD decoder (the conv's input channels).
        loss_weight: 1.0 (V2) or 0.05 (V1).
        mask_padded: Give padded frames' keys no softmax mass (default). ``False`` reproduces the
            official leak (padded keys get ``exp(0)`` mass with zero values, shrinking ``Î``).
            Without ``softmax`` padded keys carry zero values and add nothing either way.
        softmax: Normalise ``R`` over the keys (V2). V1 multiplies the values by ``R`` itself.
        drop_cls: V1: leave out the query's CLS token and every frame's CLS token, from the maps
            (``(B, h, L-1, T·(L-1))``), the values and the target.
        conv_init: ``'ones'`` (V2: weights 1, biases 0) or ``'default'`` (V1: PyTorch's Conv2d init).

    The V1 option set (docs/method_v1.md) is ``softmax=False, drop_cls=True, conv_init='default',
    loss_weight=0.05`` on the raw maps of a ``PMDLoss(scale_maps=False)``.
    """

    requires_losses = ('PMDLoss',)

    def __init__(self, num_heads: int = 8, loss_weight: float = 1.0, mask_padded: bool = True,
                 softmax: bool = True, drop_cls: bool = False, conv_init: str = 'ones') -> None:
        super().__init__()
        if num_heads % 2:
            raise ValueError(f'PFR halves the head channels: num_heads={num_heads} must be even')
        if conv_init not in ('ones', 'default'):
            raise ValueError(f"PFR conv_init must be 'ones' or 'default', got {conv_init!r}")
        self.num_heads, self.loss_weight, self.mask_padded = num_heads, loss_weight, mask_padded
        self.softmax, self.drop_cls, self.conv_init = softmax, drop_cls, conv_init
        self.attn_head = nn.Sequential(
            nn.Conv2d(num_heads, num_heads // 2, 1), nn.ReLU(),
            nn.Conv2d(num_heads // 2, 1, 1), nn.ReLU())
        if conv_init == 'ones':
            for module in self.attn_head:
                if isinstance(module, nn.Conv2d):  # V2 init: weights 1, biases 0 (method.md §6.2)
                    nn.init.ones_(module.weight)
                    nn.init.zeros_(module.bias)

    def attention_logits(self, maps: torch.Tensor) -> torch.Tensor:
        """``A' (B, h, L, K) -> R (B, L, K)``."""
        return self.attn_head(maps).squeeze(1)

    def forward(self, batch: dict) -> dict[str, torch.Tensor]:
        """See the class docstring for the batch keys read and the dict returned."""
        if POSITIVE_MAPS_KEY not in batch:
            raise KeyError(f'PFRLoss needs batch[{POSITIVE_MAPS_KEY!r}] from a PMDLoss run before it; put '
                           'PMDLoss earlier in the losses list')
        maps = batch[POSITIVE_MAPS_KEY]
        if maps.shape[1] != self.num_heads:
            raise ValueError(f'PFRLoss(num_heads={self.num_heads}) got maps with {maps.shape[1]} heads')
        frame_tokens, frame_mask = batch['frame_tokens'], batch['frame_mask']
        target = batch['image_tokens']
        b, t, length, width = frame_tokens.shape
        if self.drop_cls:
            # (B, h, L, T·L) -> (B, h, L-1, T·(L-1)): no query CLS row, no frame CLS column.
            maps = maps.reshape(b, maps.shape[1], length, t, length)[:, :, 1:, :, 1:].reshape(
                b, maps.shape[1], length - 1, t * (length - 1))
            frame_tokens, target = frame_tokens[:, :, 1:], target[:, 1:]
            length -= 1
        key_mask = frame_mask.repeat_interleave(length, dim=1)  # (B, T·L)
        logits = self.attention_logits(maps)  # (B, L, T·L)
        if self.softmax:
            if self.mask_padded:
                logits = logits.masked_fill(~key_mask[:, None, :], -torch.inf)
            weights = logits.float().softmax(dim=-1)
        else:
            weights = logits.float()
        values = frame_tokens.detach().reshape(b, t * length, width).float() * key_mask[..., None]
        recon = weights @ values  # (B, L, W)
        loss = F.mse_loss(recon, target.detach().float())
        return {'loss_pfr': self.loss_weight * loss}

    def extra_repr(self) -> str:
        return (f'num_heads={self.num_heads}, loss_weight={self.loss_weight}, mask_padded={self.mask_padded}, '
                f'softmax={self.softmax}, drop_cls={self.drop_cls}, conv_init={self.conv_init!r}')
