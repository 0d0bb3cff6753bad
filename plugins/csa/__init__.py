"""RICE (CSA, ICCV 2023): ICL, PMD and PFR losses, the pairwise decoder and the retriever."""
from .icl import ICLLoss
from .pfr import PFRLoss
from .pmd import PMDLoss
from .retriever import RICERetriever

__all__ = ['ICLLoss', 'PFRLoss', 'PMDLoss', 'RICERetriever']
