"""``retrieval_collate``: packed samples -> ``{'inputs': [dict], 'data_samples': [dict]}``.

mmengine's ``pseudo_collate`` recurses into mappings: a batch of packed dict samples would come
out as ``{'inputs': {'video': [...], ...}, 'data_samples': {'role': [...], ...}}`` and fail on a
batch that mixes queries (video only) with gallery images (image only). The data preprocessor
wants one dict per sample, so this collate keeps the per-sample dicts in lists and leaves the
stacking to the preprocessor.

It also implements the ``on_bad_sample='skip'`` side of the bad-sample policy: a skipped sample
arrives as ``None`` and is dropped (the dataset has recorded it in ``bad_samples``), so the batch
shrinks instead of silently taking another sample.
"""
from __future__ import annotations

from collections.abc import Sequence

from ..registry import FUNCTIONS


@FUNCTIONS.register_module()
def retrieval_collate(data_batch: Sequence[dict | None]) -> dict:
    """Collate packed samples into lists, dropping ``None`` (skipped bad samples).

    Args:
        data_batch: ``PackRetrievalInputs`` outputs (``{'inputs': dict, 'data_samples': dict}``) or
            ``None``.

    Returns:
        ``{'inputs': [dict, ...], 'data_samples': [dict, ...]}``, both empty when every sample was bad.
    """
    kept = [item for item in data_batch if item is not None]
    return {'inputs': [item['inputs'] for item in kept],
            'data_samples': [item['data_samples'] for item in kept]}
