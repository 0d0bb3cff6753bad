"""The synthetic livestream generator: the embedded default benchmark, in the real formats."""
from .common import SIZES
from .lpr4m import write_lpr4m
from .movingfashion import write_movingfashion

__all__ = ['SIZES', 'write_lpr4m', 'write_movingfashion']
