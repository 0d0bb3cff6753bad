"""Reusable components registered into the csa_bench core: datasets, encoders, pooling, CSA.

Loaded by configs through ``custom_imports=dict(imports=['plugins', 'baselines'])``.
"""
from . import csa, datasets, encoders, pooling, text  # noqa: F401
