"""Score precision and the order of tied scores: the two ranking details a protocol may fix.

Most official scripts sort with Python's stable sort on the score, descending, so equal scores
keep gallery order (``tie_order='index'``, our default). SEAM's evaluation instead computes its
match probabilities in float16 and ranks with numpy's ``argsort(scores)[::-1]``: float16 makes
ties common, and reversing an ascending argsort puts tied entries in the reverse of numpy's
order (for short rows numpy sorts stably, so the *later* gallery entry comes first; longer rows use
numpy's introsort, whose tie order has no simple rule). ``tie_order='numpy-argsort-reversed'``
calls that very numpy function on the row, in the protocol's score dtype, so the order is the
official one wherever scores are equal (docs/protocols.md, "Ties and score precision").
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

#: ``'index'``: equal scores keep gallery order. ``'numpy-argsort-reversed'``: SEAM's order.
TIE_ORDERS = ('index', 'numpy-argsort-reversed')
#: Precision the scores are rounded to before ranking.
SCORE_DTYPES = {'float32': (torch.float32, np.float32), 'float16': (torch.float16, np.float16)}


def check(tie_order: str, score_dtype: str) -> None:
    """Raise ``ValueError`` for an unknown tie order or score dtype."""
    if tie_order not in TIE_ORDERS:
        raise ValueError(f'tie_order must be one of {TIE_ORDERS}, got {tie_order!r}')
    if score_dtype not in SCORE_DTYPES:
        raise ValueError(f'score_dtype must be one of {sorted(SCORE_DTYPES)}, got {score_dtype!r}')


def round_scores(scores: Tensor, score_dtype: str) -> Tensor:
    """``scores`` rounded to ``score_dtype`` (round to nearest even, as numpy's ``astype``), kept float32.

    Every float16 value is exact in float32, so comparisons on the result are comparisons of the
    rounded scores; ``-inf`` padding stays ``-inf``.
    """
    torch_dtype = SCORE_DTYPES[score_dtype][0]
    if torch_dtype == torch.float32:
        return scores.float()
    return scores.to(torch_dtype).float()


def numpy_descending(row: Tensor, score_dtype: str) -> Tensor:
    """Positions of ``row (m,)`` in SEAM's order: ``np.argsort(row.astype(dtype))[::-1]`` (long, CPU)."""
    values = row.detach().cpu().numpy().astype(SCORE_DTYPES[score_dtype][1])
    return torch.from_numpy(np.ascontiguousarray(np.argsort(values)[::-1]))


def numpy_rank(row: Tensor, position: int, score_dtype: str) -> int:
    """0-based rank of entry ``position`` of ``row (m,)`` in SEAM's order."""
    return int((numpy_descending(row, score_dtype) == position).nonzero()[0, 0])


def numpy_head(scores: Tensor, k: int, row_size: Tensor, score_dtype: str) -> Tensor:
    """``(n, k)`` long CPU: the first ``k`` positions of each row of ``scores (n, m)`` in SEAM's order.

    Only the first ``row_size[i]`` columns of row ``i`` are real (the rest is ``-inf`` padding);
    a row shorter than ``k`` is completed with its padding columns, in order.
    """
    index = torch.empty(scores.shape[0], k, dtype=torch.long)
    for row in range(scores.shape[0]):
        size = int(row_size[row])
        head = numpy_descending(scores[row, :size], score_dtype)[:k]
        index[row] = torch.cat([head, torch.arange(size, size + k - head.numel())])
    return index
