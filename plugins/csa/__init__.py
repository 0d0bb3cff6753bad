"""RICE (CSA, ICCV 2023): ICL, PMD and PFR losses, the pairwise decoder, the retriever and the importers
of the authors' checkpoints (MMF-era ``rice_final.pth``, CLIP4Clip-era ``pytorch_model.bin.0``).

Also the V1 (CLIP4Clip-era) pieces: the BertAdam optimiser and the V1 test gallery (docs/method_v1.md).
"""
from .bertadam import BertAdam
from .icl import ICLLoss
from .official_clip4clip import RiceClip4ClipConverter
from .official_mmf import RiceMMFConverter
from .pfr import PFRLoss
from .pmd import PMDLoss
from .retriever import RICERetriever
from .v1_data import LPR4MV1Dataset

__all__ = ['BertAdam', 'ICLLoss', 'LPR4MV1Dataset', 'PFRLoss', 'PMDLoss', 'RICERetriever', 'RiceClip4ClipConverter',
           'RiceMMFConverter']
