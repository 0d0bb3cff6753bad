"""Core model contracts: the data preprocessor and the composable retriever."""
from .data_preprocessor import RetrievalDataPreprocessor
from .retriever import VideoShopRetriever

__all__ = ['RetrievalDataPreprocessor', 'VideoShopRetriever']
