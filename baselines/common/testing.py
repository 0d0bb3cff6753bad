"""Contract checks shared by the baseline tests (mmengine.testing style): random packed batches and
the retriever contract of issue 7 (loss mode finite with gradients, predict mode unit-norm)."""
from __future__ import annotations

import torch
from torch import nn


def _pixels(shape: tuple[int, ...], g: torch.Generator) -> torch.Tensor:
    return torch.randint(0, 256, shape, generator=g, dtype=torch.uint8)


def random_pair_data(batch: int = 4, frames: int = 4, size: int = 64, num_products: int | None = None,
                     num_categories: int = 3, seed: int = 0) -> dict:
    """Packed ``pair`` samples as the packing transform emits them (uint8 pixels, variable length).

    Sample ``i`` has ``1 + i % frames`` real frames, product ``i % num_products`` (default: all
    distinct) and category ``i % num_categories``.
    """
    g = torch.Generator().manual_seed(seed)
    num_products = num_products or batch
    inputs, samples = [], []
    for i in range(batch):
        mask = torch.zeros(frames, dtype=torch.bool)
        mask[: 1 + i % frames] = True
        inputs.append({'video': _pixels((frames, 3, size, size), g),
                       'frame_mask': mask,
                       'image': _pixels((3, size, size), g)})
        product = i % num_products
        samples.append(dict(role='pair', sample_id=f'c{i}', item_id=f'p{product}', label=product,
                            category_id=i % num_categories))
    return {'inputs': inputs, 'data_samples': samples}


def random_test_data(queries: int = 2, gallery: int = 3, frames: int = 4, size: int = 64,
                     seed: int = 1) -> dict:
    """A mixed test batch: ``queries`` clips then ``gallery`` shop images (the test loader's order)."""
    g = torch.Generator().manual_seed(seed)
    inputs, samples = [], []
    for i in range(queries):
        mask = torch.zeros(frames, dtype=torch.bool)
        mask[: frames - i % frames] = True
        inputs.append({'video': _pixels((frames, 3, size, size), g),
                       'frame_mask': mask})
        samples.append(dict(role='query', sample_id=f'q{i}', item_id=f'p{i}', gt_ids=[f'p{i}']))
    for i in range(gallery):
        inputs.append({'image': _pixels((3, size, size), g)})
        samples.append(dict(role='gallery', sample_id=f'g{i}', item_id=f'p{i}'))
    return {'inputs': inputs, 'data_samples': samples}


def check_loss_mode(model: nn.Module, data: dict) -> dict[str, torch.Tensor]:
    """Run ``loss`` mode, check every output is a finite scalar, backprop the summed ``loss_*`` terms.

    Returns the loss dict. Raises ``AssertionError`` when a value is not finite or no trainable
    parameter receives a gradient.
    """
    model.train()
    model.zero_grad(set_to_none=True)
    batch = model.data_preprocessor(data, training=True)
    losses = model(**batch, mode='loss')
    assert any(k.startswith('loss_') for k in losses), f'no loss_* key in {sorted(losses)}'
    for key, value in losses.items():
        assert value.dim() == 0 and torch.isfinite(value), f'{key} = {value}'
    total = sum(v for k, v in losses.items() if k.startswith('loss_'))
    total.backward()
    return losses


def params_without_grad(model: nn.Module, prefixes: tuple[str, ...] = ()) -> list[str]:
    """Names of trainable parameters (optionally only under ``prefixes``) whose gradient is None or zero."""
    return [name for name, p in model.named_parameters()
            if p.requires_grad and (not prefixes or name.startswith(prefixes))
            and (p.grad is None or not bool(p.grad.abs().sum() > 0))]


def check_predict_mode(model: nn.Module, data: dict) -> list[dict]:
    """Run ``predict`` mode in eval; every output has a unit-norm ``embedding`` of equal size."""
    model.eval()
    with torch.no_grad():
        batch = model.data_preprocessor(data, training=False)
        outputs = model(**batch, mode='predict')
    assert len(outputs) == len(data['inputs'])
    dims = {out['embedding'].shape for out in outputs}
    assert len(dims) == 1 and len(next(iter(dims))) == 1, dims
    for out in outputs:
        norm = out['embedding'].norm().item()
        assert abs(norm - 1.0) < 1e-4, f"{out['sample_id']}: |embedding| = {norm}"
    return outputs
