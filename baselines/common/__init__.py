"""Pieces shared by several baselines: metric-learning losses, a CNN embedding neck, a clip-level
retriever, and the contract checks of their tests (``baselines.common.testing``, not imported here)."""
from .clip_retriever import ClipLevelRetriever
from .losses import BatchHardTripletLoss, CategoryCELoss
from .neck import GAPNeckEncoder

__all__ = ['BatchHardTripletLoss', 'CategoryCELoss', 'ClipLevelRetriever', 'GAPNeckEncoder']
