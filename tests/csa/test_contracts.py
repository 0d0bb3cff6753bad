"""Contract tests over every *Loss / *Encoder / *Pooling that the RICE and encoder plugins register."""
from __future__ import annotations

import pytest
import torch

import plugins  # noqa: F401  (registers the plugins at collection time, for the parametrization)
from csa_bench.registry import MODELS

from .rice_helpers import token_batch

OWNED_MODULES = ('plugins.csa', 'plugins.encoders', 'plugins.pooling')
#: How to build each owned plugin at test size; a newly registered plugin must be added here.
BUILD: dict[str, dict] = {
    'ICLLoss': dict(),
    'PMDLoss': dict(width=16, num_heads=4, pmd_init='random'),
    'PFRLoss': dict(num_heads=4),
    'CLIPViTEncoder': dict(arch='tiny'),
    'TimmEncoder': dict(model_name='vit_tiny_patch16_224', img_size=32, depth=1, embed_dim=16),
    'MeanPooling': dict(),
}
#: Losses that read what an earlier loss stored in the batch dict.
PREREQUISITE = {'PFRLoss': 'PMDLoss'}


def _owned(suffix: str) -> list[str]:
    names = [name for name, cls in MODELS.module_dict.items()
             if name.endswith(suffix) and cls.__module__.startswith(OWNED_MODULES)]
    assert names, f'no registered *{suffix} found'
    return sorted(names)


def test_every_owned_plugin_has_a_test_build() -> None:
    owned = {n for s in ('Loss', 'Encoder', 'Pooling') for n in _owned(s)}
    assert owned <= set(BUILD), f'add a BUILD entry for {sorted(owned - set(BUILD))}'


@pytest.mark.parametrize('name', _owned('Loss'))
def test_loss_contract(name: str) -> None:
    batch = token_batch(b=4, width=16, requires_grad=True)
    batch['video_emb'].requires_grad_(True)
    if name in PREREQUISITE:
        MODELS.build(dict(type=PREREQUISITE[name], **BUILD[PREREQUISITE[name]]))(batch)
    out = MODELS.build(dict(type=name, **BUILD[name]))(batch)
    losses = {k: v for k, v in out.items() if k.startswith('loss_')}
    assert losses, f'{name} returned no loss_* key: {sorted(out)}'
    for key, value in out.items():
        assert isinstance(value, torch.Tensor) and value.dim() == 0 and torch.isfinite(value), key
        if not key.startswith('loss_'):
            assert not value.requires_grad, f'diagnostic {key} must be detached'
    sum(losses.values()).backward()
    grads = [batch[k].grad for k in ('image_tokens', 'frame_tokens', 'video_emb') if batch[k].grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)
    assert any(g.abs().sum() > 0 for g in grads)


@pytest.mark.parametrize('name', _owned('Encoder'))
def test_encoder_contract(name: str) -> None:
    enc = MODELS.build(dict(type=name, **BUILD[name]))
    size = BUILD[name].get('img_size') or enc.arch['img_size']
    images = torch.randn(2, 3, size, size)
    emb, tokens = enc(images)
    assert emb.shape == (2, enc.embed_dim)
    assert tokens.dim() == 3 and tokens.shape[0] == 2 and tokens.shape[2] == enc.width
    assert torch.isfinite(emb).all() and torch.isfinite(tokens).all()
    (emb.sum() + tokens.sum()).backward()
    missing = [n for n, p in enc.named_parameters() if p.requires_grad and p.grad is None]
    assert not missing, f'{name}: no gradient for {missing[:5]}'


@pytest.mark.parametrize('name', _owned('Pooling'))
def test_pooling_contract(name: str) -> None:
    pool = MODELS.build(dict(type=name, **BUILD[name]))
    emb = torch.randn(3, 4, 8, requires_grad=True)
    mask = torch.tensor([[1, 0, 0, 0], [1, 1, 0, 0], [1, 1, 1, 1]], dtype=torch.bool)
    out = pool(emb, mask)
    assert out.shape == (3, 8) and torch.isfinite(out).all()
    out.sum().backward()
    assert emb.grad[~mask].abs().sum() == 0 and emb.grad[mask].abs().sum() > 0
