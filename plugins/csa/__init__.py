"""RICE (CSA, ICCV 2023): ICL, PMD and PFR losses, the pairwise decoder, the retriever and the converter
of the authors' MMF-era checkpoints."""
from .icl import ICLLoss
from .official_mmf import RiceMMFConverter
from .pfr import PFRLoss
from .pmd import PMDLoss
from .retriever import RICERetriever

__all__ = ['ICLLoss', 'PFRLoss', 'PMDLoss', 'RICERetriever', 'RiceMMFConverter']
