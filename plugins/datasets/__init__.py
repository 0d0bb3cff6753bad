"""Dataset plugins: LPR4M / LPR750K, MovingFashion, the synthetic generator and the format tools."""
from . import lpr4m, lpr4m_format, movingfashion, synthetic, tools  # noqa: F401
from .lpr4m import LPR4MDataset
from .movingfashion import MovingFashionDataset

__all__ = ['LPR4MDataset', 'MovingFashionDataset']
