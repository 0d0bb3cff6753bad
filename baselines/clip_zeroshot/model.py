"""The zero-shot retriever: an untrained embedding model that refuses to be trained."""
from __future__ import annotations

import torch
from torch import nn

from csa_bench.models.retriever import VideoShopRetriever
from csa_bench.registry import MODELS


@MODELS.register_module()
class ZeroShotRetriever(VideoShopRetriever):
    """``VideoShopRetriever`` without losses, for evaluation with the encoder's initial weights.

    Defaults to CLIP4Clip meanP pooling (normalise each frame, then average). ``loss`` mode raises:
    a zero-shot row is evaluated with ``csa-bench test CONFIG`` and no checkpoint (its config sets
    ``zero_shot = True``), never trained.

    Args:
        encoder: Frame / shop-image encoder config (``CLIPViTEncoder`` with local weights or random).
        pooling: Temporal pooling; default ``MeanPooling(norm_first=True)``.
        data_preprocessor: Defaults to ``RetrievalDataPreprocessor`` (CLIP mean/std).
        init_cfg: mmengine init config.
    """

    def __init__(self, encoder: dict | nn.Module, pooling: dict | nn.Module | None = None,
                 data_preprocessor: dict | None = None, init_cfg: dict | None = None) -> None:
        if pooling is None:
            pooling = dict(type='MeanPooling', norm_first=True)
        super().__init__(encoder=encoder, pooling=pooling, losses=None, data_preprocessor=data_preprocessor,
                         init_cfg=init_cfg)

    def loss(self, inputs: dict, data_samples: list[dict]) -> dict[str, torch.Tensor]:
        raise RuntimeError('ZeroShotRetriever has nothing to train: evaluate it with '
                           '`csa-bench test CONFIG` (no checkpoint); its config sets zero_shot = True')
