"""PMD pooler LayerNorm eps: the official value (1e-5), checked on tokens where eps matters.

Official V2 pooler (``CrossPooler``), in our words: LayerNorm over the cross block's output with
``eps = config.layer_norm_eps`` (1e-5 by default), take token 0, a bias-free Linear, then ReLU; the
pair score is ``10·cos(pooled, w)``.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from plugins.csa.decoder import PairwiseDecoder


def _official_score(decoder: PairwiseDecoder, image: torch.Tensor, video: torch.Tensor,
                    mask: torch.Tensor, eps: float) -> torch.Tensor:
    x = decoder.self_block(image)
    x, _ = decoder.cross_block(x, video, mask)
    normed = F.layer_norm(x, (x.shape[-1],), decoder.pooler_norm.weight, decoder.pooler_norm.bias, eps)
    pooled = F.relu(normed[:, 0] @ decoder.pooler.weight.T)
    return 10.0 * F.cosine_similarity(pooled, decoder.score_head.weight, dim=-1)


def test_pooler_layernorm_eps_is_the_official_1e5() -> None:
    torch.manual_seed(0)
    decoder = PairwiseDecoder(width=16, num_heads=4).eval()
    assert decoder.pooler_norm.eps == 1e-5
    # Small, near-constant tokens: the cross block's residual output has a variance near eps.
    image = 1e-3 * torch.randn(3, 5, 16)
    video = 1e-3 * torch.randn(3, 10, 16)
    mask = torch.ones(3, 10, dtype=torch.bool)
    with torch.no_grad():
        for block in (decoder.self_block, decoder.cross_block):
            for p in block.parameters():
                p.mul_(1e-3)  # keep the residual stream small
        # With a zero LN bias eps only rescales the pooled vector, which the cosine ignores.
        decoder.pooler_norm.bias.normal_()
        ours, _ = decoder(image, video, mask)
        official = _official_score(decoder, image, video, mask, eps=1e-5)
        other = _official_score(decoder, image, video, mask, eps=1e-12)
    torch.testing.assert_close(ours, official, rtol=1e-5, atol=1e-5)
    assert (ours - other).abs().max() > 1e-2  # the test can tell the two eps apart


def test_pooler_eps_stays_an_argument() -> None:
    assert PairwiseDecoder(width=8, num_heads=2, pooler_eps=1e-12).pooler_norm.eps == 1e-12
