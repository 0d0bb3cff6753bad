"""Collate for ``on_bad_sample='skip'``: drop the ``None`` a skipped sample returns, then pseudo-collate."""
from __future__ import annotations

from collections.abc import Sequence

from mmengine.dataset import pseudo_collate

from ..registry import FUNCTIONS


@FUNCTIONS.register_module()
def skip_none_collate(data_batch: Sequence[dict | None]) -> dict:
    """``pseudo_collate`` of the non-``None`` samples; the batch shrinks by the skipped count.

    The dataset records each skipped sample (``RetrievalDataset.bad_samples``), so the count is
    reported there rather than in the batch: the data preprocessor accepts exactly ``inputs`` and
    ``data_samples``.

    Returns:
        ``{'inputs': [...], 'data_samples': [...]}``; both lists are empty when every sample was bad.
    """
    kept = [item for item in data_batch if item is not None]
    if not kept:
        return {'inputs': [], 'data_samples': []}
    return pseudo_collate(kept)
