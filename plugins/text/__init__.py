"""Text encoders: strings -> ``(N, D)`` vectors for the multi-modal baselines (SGMN's title / ASR)."""
from .clip_text import CLIPTextEncoder
from .hashed_bow import HashedBagOfWordsTextEncoder

__all__ = ['CLIPTextEncoder', 'HashedBagOfWordsTextEncoder']
