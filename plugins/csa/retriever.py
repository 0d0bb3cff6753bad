"""The RICE retriever: the shared encoder + pooling + ICL [+ PMD [+ PFR]] (method.md §2–§7)."""
from __future__ import annotations

from torch import nn

from csa_bench.models.retriever import VideoShopRetriever
from csa_bench.registry import MODELS


@MODELS.register_module()
class RICERetriever(VideoShopRetriever):
    """``VideoShopRetriever`` whose losses may hold a pairwise decoder tied to the encoder.

    After the base class builds ``encoder``, ``pooling`` and ``losses``, every loss exposing
    ``bind_encoder(encoder)`` gets the encoder once (the PMD loss copies CLIP's last two blocks into
    its decoder and checks the token width). The ablation rows are loss lists: ``[ICL]``,
    ``[ICL, PMD]``, ``[ICL, PMD, PFR]``; PFR must come after PMD (it reads the PMD's positive-pair
    attention maps from the batch dict) and the constructor refuses any other order.

    Inference is embedding-only (method.md §9); ``pairwise_scorer`` is the PMD loss when one is
    configured, for the optional, off-by-default re-ranking added by csa_bench.

    Args:
        **kwargs: ``VideoShopRetriever`` arguments (``encoder``, ``pooling``, ``losses``, ...).
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        if self.image_encoder is not None:
            raise ValueError('RICE shares one encoder between shop images and frames (method.md §2); '
                             'image_encoder must be None')
        seen: list[str] = []
        for index, loss in enumerate(self.losses):
            for needed in getattr(loss, 'requires_losses', ()):
                if needed not in seen:
                    raise ValueError(f'losses[{index}] ({type(loss).__name__}) needs a {needed} earlier in '
                                     f'the loss list; got {[type(m).__name__ for m in self.losses]}')
            seen.append(type(loss).__name__)
            if hasattr(loss, 'bind_encoder'):
                loss.bind_encoder(self.encoder)

    @property
    def pairwise_scorer(self) -> nn.Module | None:
        """The first loss with ``score_pairs`` (the PMD decoder), else None."""
        for loss in self.losses:
            if hasattr(loss, 'score_pairs'):
                return loss
        return None
