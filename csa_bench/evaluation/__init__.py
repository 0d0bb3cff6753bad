"""Retrieval evaluation: pure metric functions, protocols, the chunked ranking engine and the
mmengine adapters (``RetrievalMetric``, ``PairwiseScorerHook``)."""

from . import functional, positives, ranking
from .evaluate import RetrievalInputs, evaluate
from .hooks import PairwiseScorerHook
from .metric import MISSING_QUERIES_KEY, RetrievalMetric
from .protocols import Protocol, get_protocol
from .rerank import RerankConfig

__all__ = [
    'MISSING_QUERIES_KEY',
    'PairwiseScorerHook',
    'Protocol',
    'RerankConfig',
    'RetrievalInputs',
    'RetrievalMetric',
    'evaluate',
    'functional',
    'positives',
    'get_protocol',
    'ranking',
]
